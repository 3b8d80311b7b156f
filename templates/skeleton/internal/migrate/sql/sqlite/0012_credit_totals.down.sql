DROP TRIGGER credit_totals_add;
DROP TABLE credit_totals;
