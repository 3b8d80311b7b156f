DROP TABLE stripe_events;
DROP TABLE purchases;
DROP TABLE stripe_customers;
DROP TABLE credit_packages;
