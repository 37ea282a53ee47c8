-- Directory read paths not covered by 001: LookupUser by DingTalk userid across the tenant's
-- sources (the unique key leads with idp_id), and subtree listings of departments.
CREATE INDEX users_dingtalk_userid ON users (tenant_id, dingtalk_userid);
CREATE INDEX departments_ancestors ON departments USING gin (ancestor_ids);
