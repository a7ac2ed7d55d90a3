DROP TABLE quarantine;
