-- Whose delegated tokens a queued submission keeps, and until when it may keep them: the
-- absolute end of that person's session. Signing out, or that end passing, removes them;
-- a submission that still needs a delegated token then waits in the state
-- 'needs_sign_in' until an Admin or Sales agent of the partner sends it with their own.
-- Rows from before this migration have no end recorded: their tokens go at the next sweep.
ALTER TABLE submissions ADD COLUMN tokens_user_oid TEXT;
ALTER TABLE submissions ADD COLUMN tokens_user_name TEXT;
ALTER TABLE submissions ADD COLUMN tokens_kept_until TEXT;
UPDATE submissions SET tokens_user_oid = created_by_oid, tokens_user_name = created_by_name WHERE access_token IS NOT NULL;
CREATE INDEX submissions_by_token_holder ON submissions (tenant_id, tokens_user_oid);
