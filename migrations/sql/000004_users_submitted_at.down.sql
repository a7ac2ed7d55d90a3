ALTER TABLE users DROP COLUMN submitted_at;
