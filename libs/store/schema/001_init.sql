-- Directory schema v1. Every row carries tenant_id; every query filters on it.

CREATE TABLE identity_sources (
  idp_id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id               text NOT NULL,
  name                    text NOT NULL,
  description             text NOT NULL DEFAULT '',
  status                  smallint NOT NULL,              -- sase.dingtalk.v1.IdentitySourceStatus
  corp_id                 text NOT NULL DEFAULT '',
  app_key                 text NOT NULL DEFAULT '',
  -- AES-256-GCM envelopes (store/secret_box.h); NULL when unset.
  app_secret_enc          bytea,
  aes_key_enc             bytea,
  token_enc               bytea,
  dingtalk_type           smallint NOT NULL,              -- sase.dingtalk.v1.DingTalkType
  accept_corp_id_receiver boolean NOT NULL DEFAULT false,
  auto_sync               boolean NOT NULL DEFAULT false,
  sync_user_info          boolean NOT NULL DEFAULT true,
  sync_cycle_hours        integer NOT NULL CHECK (sync_cycle_hours BETWEEN 1 AND 24),
  scope_root_dept_ids     bigint[] NOT NULL DEFAULT '{}',
  field_mappings          jsonb NOT NULL DEFAULT '[]',    -- [{"source_field":..,"target_field":..}]
  deletion_max_departures integer NOT NULL DEFAULT 0,     -- 0: default (500)
  deletion_max_percent    double precision NOT NULL DEFAULT 0,  -- 0: default (10)
  version                 bigint NOT NULL DEFAULT 1,
  next_sync_at            timestamptz,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name)
);
CREATE INDEX identity_sources_tenant ON identity_sources (tenant_id, idp_id);

CREATE TABLE extended_fields (
  tenant_id    text NOT NULL,
  name         text NOT NULL,
  display_name text NOT NULL,
  type         smallint NOT NULL,                         -- sase.dingtalk.v1.FieldType
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE departments (
  idp_id       uuid NOT NULL REFERENCES identity_sources (idp_id) ON DELETE CASCADE,
  dept_id      bigint NOT NULL,
  tenant_id    text NOT NULL,
  name         text NOT NULL,
  parent_id    bigint NOT NULL DEFAULT 0,                 -- 0 for the root
  ancestor_ids bigint[] NOT NULL DEFAULT '{}',            -- root .. parent
  sort_order   bigint NOT NULL DEFAULT 0,
  attrs        jsonb NOT NULL DEFAULT '{}',
  version      bigint NOT NULL DEFAULT 0,                 -- change_log seq of the last change
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (idp_id, dept_id)
);
CREATE INDEX departments_parent ON departments (idp_id, parent_id, dept_id);
CREATE INDEX departments_tenant ON departments (tenant_id, idp_id);

CREATE TABLE users (
  user_id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  idp_id          uuid NOT NULL REFERENCES identity_sources (idp_id) ON DELETE CASCADE,
  tenant_id       text NOT NULL,
  dingtalk_userid text NOT NULL,
  unionid         text NOT NULL DEFAULT '',
  name            text NOT NULL DEFAULT '',
  email           text NOT NULL DEFAULT '',
  org_email       text NOT NULL DEFAULT '',
  mobile          text NOT NULL DEFAULT '',
  job_number      text NOT NULL DEFAULT '',
  title           text NOT NULL DEFAULT '',
  avatar          text NOT NULL DEFAULT '',
  manager_userid  text NOT NULL DEFAULT '',
  active          boolean NOT NULL DEFAULT true,
  status          smallint NOT NULL DEFAULT 1,            -- sase.dingtalk.v1.UserStatus
  dept_ids        bigint[] NOT NULL DEFAULT '{}',         -- direct departments
  leader_dept_ids bigint[] NOT NULL DEFAULT '{}',
  dept_closure    bigint[] NOT NULL DEFAULT '{}',         -- direct departments and all their ancestors
  attributes      jsonb NOT NULL DEFAULT '{}',            -- mapped and extended fields
  hired_at        timestamptz,
  content_hash    bytea,                                  -- of the synced content: unchanged re-syncs write nothing
  version         bigint NOT NULL DEFAULT 0,              -- change_log seq of the last change
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (idp_id, dingtalk_userid)
);
CREATE INDEX users_tenant ON users (tenant_id, user_id);
CREATE INDEX users_unionid ON users (tenant_id, unionid) WHERE unionid <> '';
CREATE INDEX users_email ON users (tenant_id, lower(email)) WHERE email <> '';
CREATE INDEX users_mobile ON users (tenant_id, mobile) WHERE mobile <> '';
CREATE INDEX users_job_number ON users (tenant_id, job_number) WHERE job_number <> '';
CREATE INDEX users_name_prefix ON users (tenant_id, lower(name) text_pattern_ops, user_id);
CREATE INDEX users_email_prefix ON users (tenant_id, lower(email) text_pattern_ops, user_id) WHERE email <> '';
CREATE INDEX users_idp ON users (idp_id, user_id);

-- Membership closure: one row per (department, user) for each direct department and each ancestor of one.
-- Keyset-paginated subtree listings read it in index order.
CREATE TABLE user_dept_closure (
  idp_id    uuid NOT NULL REFERENCES identity_sources (idp_id) ON DELETE CASCADE,
  dept_id   bigint NOT NULL,
  user_id   uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  tenant_id text NOT NULL,
  direct    boolean NOT NULL,
  PRIMARY KEY (idp_id, dept_id, user_id)
);
CREATE INDEX user_dept_closure_user ON user_dept_closure (user_id);

-- Verified, decrypted DingTalk events, deduplicated; processed asynchronously.
CREATE TABLE event_inbox (
  id              bigserial PRIMARY KEY,
  idp_id          uuid NOT NULL REFERENCES identity_sources (idp_id) ON DELETE CASCADE,
  tenant_id       text NOT NULL,
  dedupe_key      text NOT NULL,
  event_type      text NOT NULL,
  event_time_ms   bigint NOT NULL DEFAULT 0,
  user_ids        text[] NOT NULL DEFAULT '{}',
  dept_ids        bigint[] NOT NULL DEFAULT '{}',
  payload         text NOT NULL DEFAULT '',
  state           smallint NOT NULL DEFAULT 0,            -- 0 pending, 1 done, 2 failed (gave up)
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text NOT NULL DEFAULT '',
  received_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (idp_id, dedupe_key)
);
CREATE INDEX event_inbox_pending ON event_inbox (next_attempt_at) WHERE state = 0;

CREATE TABLE sync_runs (
  run_id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  idp_id           uuid NOT NULL REFERENCES identity_sources (idp_id) ON DELETE CASCADE,
  tenant_id        text NOT NULL,
  trigger          smallint NOT NULL,                     -- sase.dingtalk.v1.SyncTrigger
  state            smallint NOT NULL,                     -- sase.dingtalk.v1.SyncRunState
  departments_only boolean NOT NULL DEFAULT false,
  progress         jsonb NOT NULL DEFAULT '{}',
  counts           jsonb NOT NULL DEFAULT '{}',
  checkpoint       jsonb NOT NULL DEFAULT '{}',
  failure_reason   text NOT NULL DEFAULT '',
  failure_detail   text NOT NULL DEFAULT '',
  lease_owner      text NOT NULL DEFAULT '',
  lease_expires_at timestamptz,
  started_at       timestamptz NOT NULL DEFAULT now(),
  ended_at         timestamptz
);
CREATE INDEX sync_runs_tenant ON sync_runs (tenant_id, started_at DESC, run_id);
CREATE INDEX sync_runs_idp ON sync_runs (idp_id, started_at DESC, run_id);
-- At most one unfinished run per identity source (PENDING, FETCHING, APPLYING).
CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (idp_id) WHERE state IN (1, 2, 3);

-- Every directory change, in commit order: the WatchChanges cursor and the audit trail.
-- Writers take the change-log lock (store/change_log.h) before inserting so seq order equals commit order.
CREATE TABLE change_log (
  seq         bigserial PRIMARY KEY,
  tenant_id   text NOT NULL,
  idp_id      uuid NOT NULL,                              -- no FK: survives deletion of the source
  kind        smallint NOT NULL,                          -- sase.dingtalk.v1.ChangeKind
  object_id   text NOT NULL,
  origin      text NOT NULL,
  payload     bytea NOT NULL,                             -- serialized User or Department after the change
  committed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX change_log_tenant ON change_log (tenant_id, seq);
