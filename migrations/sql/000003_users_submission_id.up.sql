-- The SQS message id of the submission that produced the row. The unique key
-- is what makes a redelivered message a no-op instead of a duplicate row.
-- ascii_bin: message ids are ASCII and compared exactly; 1 byte per
-- character keeps the index small. NULL for rows written before Sluice
-- (a unique key allows any number of NULLs).
ALTER TABLE users ADD COLUMN submission_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL, ADD UNIQUE KEY users_submission_id (submission_id);
