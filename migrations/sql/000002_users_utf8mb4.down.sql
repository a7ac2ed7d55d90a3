-- Back to the database default, which is what the table had before
-- migration 2. Characters the default cannot hold are lost if it is not
-- utf8mb4 (RDS MySQL 8 defaults to utf8mb4, so nothing is lost there).
ALTER TABLE users CONVERT TO CHARACTER SET DEFAULT;
