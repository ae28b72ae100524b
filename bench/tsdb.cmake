# verge_tsdb_bench: time-series store ingest, bytes per point and query latency, with SQLite as a
# reference measured in the same run (docs/benchmarks.md, "Storage: time series").
add_executable(verge_tsdb_bench ${CMAKE_CURRENT_LIST_DIR}/tsdb_bench.cc)
target_link_libraries(verge_tsdb_bench PRIVATE verge_store PkgConfig::SQLITE)
verge_warnings(verge_tsdb_bench)
