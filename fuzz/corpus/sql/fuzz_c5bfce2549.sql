/* rule */ SELECT a -- first
, `s#elect`, `hrld` FROM `` -- done