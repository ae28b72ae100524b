# verge_ingest_bench: the hub's embedded ingest store: records/s for 2,000-record batches from
# 1,000 (node, stream) pairs, and the reopen (index rebuild scan) time per GiB.
add_executable(verge_ingest_bench ${CMAKE_CURRENT_LIST_DIR}/ingest_bench.cc)
target_link_libraries(verge_ingest_bench PRIVATE verge_sync)
verge_warnings(verge_ingest_bench)
