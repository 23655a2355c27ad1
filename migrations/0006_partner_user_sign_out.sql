-- How many times each partner user has signed out. A sign-in remembers the count it
-- began with; a request of that sign-in still under way after a sign-out (the count has
-- grown) may hand in a submission after the sign-out removed the user's tokens, and such
-- a submission keeps no tokens either: it waits as 'needs_sign_in'.
ALTER TABLE partner_users ADD COLUMN sign_outs BIGINT NOT NULL DEFAULT 0;
