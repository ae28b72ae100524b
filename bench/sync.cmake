# verge_sync_bench: uplink batch encode + decode speed and compression ratio (docs/formats/
# uplink-batch.md, "Performance").
add_executable(verge_sync_bench ${CMAKE_CURRENT_LIST_DIR}/sync_bench.cc)
target_link_libraries(verge_sync_bench PRIVATE verge_sync)
verge_warnings(verge_sync_bench)
