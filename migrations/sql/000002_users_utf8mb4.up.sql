-- utf8mb4 stores every Unicode code point in its own bytes, so Japanese names
-- (and 4-byte characters such as emoji or rare kanji) round-trip exactly.
-- utf8mb4_bin because it exists on both MySQL 8 and MariaDB 10.11 (which has
-- no utf8mb4_0900_*), and because the accent- and case-insensitive
-- collations treat distinct Japanese strings as equal (は = ば = ぱ under
-- utf8mb4_0900_ai_ci; every 4-byte character compares equal under
-- utf8mb4_general_ci), which would surprise any later unique key or lookup.
-- CONVERT rewrites the table (ALGORITHM=COPY): writes wait while it runs.
ALTER TABLE users CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
