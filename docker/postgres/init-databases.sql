-- Runs once, on an empty volume: the service's own role and its two databases next to Temporal's.
CREATE ROLE runbook LOGIN PASSWORD 'runbook';
CREATE DATABASE ops OWNER runbook;
CREATE DATABASE app OWNER runbook;
