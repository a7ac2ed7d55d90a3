-- When the client's submission reached SQS (the SentTimestamp attribute, in
-- UTC, millisecond precision), so that a redelivery stores the same time.
-- created_at stays the time the row was written.
ALTER TABLE users ADD COLUMN submitted_at DATETIME(3) NULL;
