DROP TABLE jobs;
DROP TABLE api_keys;
DROP TABLE service_runs;
DROP TABLE credit_drains;
DROP TABLE credit_journal;
DROP TABLE credit_lots;
DROP TABLE credit_accounts;
