-- Full sync (sync_worker): departures held by the deletion guard until ApproveDeletions, and the
-- number of times a run was (re)started after its lease expired.
ALTER TABLE sync_runs ADD COLUMN held_userids text[] NOT NULL DEFAULT '{}';
ALTER TABLE sync_runs ADD COLUMN held_dept_ids bigint[] NOT NULL DEFAULT '{}';
ALTER TABLE sync_runs ADD COLUMN attempts integer NOT NULL DEFAULT 0;
-- Runs whose lease expired (takeover) and scheduler claims.
CREATE INDEX sync_runs_unfinished ON sync_runs (lease_expires_at) WHERE state IN (1, 2, 3);
CREATE INDEX identity_sources_due ON identity_sources (next_sync_at) WHERE auto_sync;
