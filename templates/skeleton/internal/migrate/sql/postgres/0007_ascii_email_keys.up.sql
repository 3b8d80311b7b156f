-- The uniqueness key of an account (accounts.NormalizeEmail) is now the
-- address with only A to Z lower-cased. The old key was Unicode
-- lower-casing, which gave look-alikes such as lİsa@ (a dotted capital I)
-- and the Kelvin sign the keys of ASCII addresses, so whoever signed up
-- first as the look-alike held the real address. Every key is rebuilt
-- from its address; an account whose address is not ASCII (new ones are
-- refused) is kept, and its key keeps the other characters, where no ASCII
-- address can equal it: its owner still signs in with it and can change
-- it, and the owner of the ASCII address can sign up.
--
-- translate, not lower(), which follows the database's locale and would
-- fold the other scripts again. No key collides, not even for a moment
-- (PostgreSQL checks the unique index row by row): two new keys equal, or
-- a new key equal to an old one, would mean two old keys equal, which the
-- unique index forbade.
UPDATE users
SET email_normalized = translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
WHERE email_normalized <> translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
