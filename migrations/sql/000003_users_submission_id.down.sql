ALTER TABLE users DROP INDEX users_submission_id, DROP COLUMN submission_id;
