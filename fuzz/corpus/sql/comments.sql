/* rule */ SELECT a -- first
, `select`, `hello world` FROM `from` -- done