-- Full sync retries: a run that failed on a transient reason is started again at sync_retry_at
-- (capped exponential back-off over sync_failures, the failures in a row), whether or not the
-- source syncs automatically. A run that succeeds clears both.
ALTER TABLE identity_sources ADD COLUMN sync_retry_at timestamptz;
ALTER TABLE identity_sources ADD COLUMN sync_failures integer NOT NULL DEFAULT 0;
CREATE INDEX identity_sources_retry ON identity_sources (sync_retry_at) WHERE sync_retry_at IS NOT NULL;
