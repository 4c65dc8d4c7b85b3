-- pgbench baseline table: what a plain event table would be, with no
-- stream row, version check or secondary indexes.
DROP TABLE IF EXISTS bench_raw_insert;
CREATE TABLE bench_raw_insert (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  data jsonb NOT NULL
);
