-- Nothing to undo: the ASCII keys stay. The Unicode lower-casing they
-- replaced is what let a look-alike hold another address, and an older
-- build finds every ASCII address by them just the same.
SELECT 1;
