DROP FUNCTION directory_probe(xid8, boolean);
