# verge_store_bench: segment log throughput, latency, write amplification and recovery time,
# with SQLite as a reference peer (docs/benchmarks.md, "Storage: segment log").
add_executable(verge_store_bench ${CMAKE_CURRENT_LIST_DIR}/store_bench.cc)
target_link_libraries(verge_store_bench PRIVATE verge_store PkgConfig::SQLITE)
verge_warnings(verge_store_bench)
