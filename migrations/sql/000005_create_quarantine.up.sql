-- Submissions that can never be stored in users, kept with the reason so
-- that nothing accepted is lost. body is the raw message body as bytes
-- (it may not be valid UTF-8, so it is a BLOB and not text); reason is a
-- machine-readable code such as invalid_json or email_invalid; detail is
-- human-readable and may quote the input, hence utf8mb4.
CREATE TABLE quarantine (
    id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    submission_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    body MEDIUMBLOB NOT NULL,
    reason VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    detail VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    submitted_at DATETIME(3) NULL,
    quarantined_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    UNIQUE KEY quarantine_submission_id (submission_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
