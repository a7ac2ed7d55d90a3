-- The seed's table, byte for byte the statement the seed runs, so a database
-- that was seeded before Sluice existed is adopted as version 1 unchanged.
-- No character set is named here on purpose: like the seed, the table takes
-- the database default; migration 2 makes it utf8mb4.
CREATE TABLE IF NOT EXISTS users (id SERIAL PRIMARY KEY, name VARCHAR(255), email VARCHAR(255), created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
