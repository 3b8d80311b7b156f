DROP TRIGGER credit_totals_add ON credit_journal;
DROP FUNCTION credit_totals_add();
DROP TABLE credit_totals;
