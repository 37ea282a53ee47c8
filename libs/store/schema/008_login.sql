-- Log on with DingTalk.

-- Per-tenant settings. enterprise_id is the "enterprise authentication identifier" an employee
-- types into the SASE client (lower case, unique across tenants; NULL: no logon discovery).
CREATE TABLE tenant_settings (
  tenant_id     text PRIMARY KEY,
  enterprise_id text UNIQUE,
  version       bigint NOT NULL DEFAULT 1,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The client redirects a logon may end on (exact match; https, loopback http, or a private-use
-- scheme). Empty: the source cannot be used for logon.
ALTER TABLE identity_sources ADD COLUMN login_redirect_uris text[] NOT NULL DEFAULT '{}';

-- Nonces of logon states already used, kept until the state would have expired anyway: a state is
-- single-use across every ingress and sync_worker replica.
CREATE TABLE login_nonces (
  nonce      text PRIMARY KEY,
  idp_id     uuid NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX login_nonces_expiry ON login_nonces (expires_at);

-- Public keys that signed logon assertions, published in the JWKS until every assertion they
-- signed has expired (last_used_at + the longest assertion lifetime), whichever replica signed.
CREATE TABLE login_signing_keys (
  kid          text PRIMARY KEY,
  public_jwk   jsonb NOT NULL,
  first_used_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now()
);
