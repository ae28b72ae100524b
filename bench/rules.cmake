# verge_rules_bench: the rule engine in-process: program throughput per scenario, per-event
# latency, the manager's throughput and event-to-action latency, memory per loaded rule
# (docs/benchmarks.md, "Rule engine").
add_executable(verge_rules_bench ${CMAKE_CURRENT_LIST_DIR}/rules_bench.cc)
target_link_libraries(verge_rules_bench PRIVATE verge_rules)
verge_warnings(verge_rules_bench)
