-- Every link and session records the state of its account when it was
-- issued (accounts.User.State: a hash of the password hash and the
-- address) and is refused once the account's state differs, so a password
-- change or reset, or an address change, ends the credentials issued
-- before it, whatever code made the change. Rows from before this
-- migration hold no state and match none: the links mailed and the
-- sessions signed in before the upgrade end with it.
ALTER TABLE email_tokens ADD COLUMN user_state TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_state TEXT NOT NULL DEFAULT '';
