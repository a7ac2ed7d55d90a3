-- Irreversible for the data: dropping version 1 drops every stored user.
DROP TABLE users;
