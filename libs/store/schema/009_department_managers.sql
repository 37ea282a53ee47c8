-- DingTalk's department managers (department/get `dept_manager_userid_list`, in DingTalk's order).
-- Only department/get carries them (and `order`): department events store them, and a full sync,
-- which lists departments with department/listsub, keeps what is stored.
ALTER TABLE departments ADD COLUMN manager_userids text[] NOT NULL DEFAULT '{}';
