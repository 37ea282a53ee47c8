-- Event inbox ingest at high push rates.
--
-- 1. No per-row foreign-key check on insert: sync_worker's inbox checks ownership of the source
--    once per batch (SELECT ... FROM identity_sources ... FOR SHARE, which also makes a concurrent
--    delete of the source wait for the batch). Deleting a source still deletes its events, now by
--    trigger (same effect as the former ON DELETE CASCADE, for every delete path).
ALTER TABLE event_inbox DROP CONSTRAINT IF EXISTS event_inbox_idp_id_fkey;
DELETE FROM event_inbox e WHERE NOT EXISTS (SELECT 1 FROM identity_sources s WHERE s.idp_id = e.idp_id);
CREATE FUNCTION event_inbox_delete_for_source() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM event_inbox WHERE idp_id = OLD.idp_id;
  RETURN OLD;
END
$$;
CREATE TRIGGER identity_sources_delete_events AFTER DELETE ON identity_sources
  FOR EACH ROW EXECUTE FUNCTION event_inbox_delete_for_source();
-- 2. Pending rows by source: the event processor claims per source and skips the sources whose
--    DingTalk is unreachable (circuit breaker) without scanning their rows.
DROP INDEX IF EXISTS event_inbox_pending;
CREATE INDEX event_inbox_pending ON event_inbox (idp_id, next_attempt_at) WHERE state = 0;
