-- Directory read paths not covered by 001: LookupUser by DingTalk userid across the tenant's
-- sources (the unique key leads with idp_id), and subtree listings of departments.
CREATE INDEX users_dingtalk_userid ON users (tenant_id, dingtalk_userid);
CREATE INDEX departments_ancestors ON departments USING gin (ancestor_ids);

-- user_dept_closure holds ~12 rows per user (100k users: 1.2M+ rows) and is rewritten in bulk by
-- DirectoryWriter, the only writer. Its two foreign keys cost a trigger and two index probes per
-- inserted row (80% of a bulk load). They are replaced by a statement-level trigger that removes
-- the rows of deleted users (deleting an identity source cascades to its users and so here too).
ALTER TABLE user_dept_closure DROP CONSTRAINT user_dept_closure_user_id_fkey;
ALTER TABLE user_dept_closure DROP CONSTRAINT user_dept_closure_idp_id_fkey;

CREATE FUNCTION user_dept_closure_drop_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM user_dept_closure c USING gone g WHERE c.user_id = g.user_id;
  RETURN NULL;
END $$;

CREATE TRIGGER users_drop_closure AFTER DELETE ON users
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION user_dept_closure_drop_deleted();
