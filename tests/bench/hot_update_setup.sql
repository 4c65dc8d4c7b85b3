-- pgbench baseline table for one hot product: the classic stock row that
-- every buyer decrements, with more stock than any run can sell.
DROP TABLE IF EXISTS bench_stock;
CREATE TABLE bench_stock (
  id integer PRIMARY KEY,
  stock bigint NOT NULL
);
INSERT INTO bench_stock VALUES (1, 1000000000000);
