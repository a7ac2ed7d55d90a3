-- Drops only the column: rows stored under an idempotency key keep their
-- "key:..." submission_id, which the consumer of version 5 never produces and
-- treats like any other id. INPLACE with LOCK=NONE keeps writers running
-- while the table is rebuilt (MySQL 8.0 before 8.0.29 cannot drop a column
-- instantly); the server refuses rather than lock or copy.
ALTER TABLE users DROP COLUMN message_id, ALGORITHM=INPLACE, LOCK=NONE;
