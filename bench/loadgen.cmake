# verge_loadgen: the MQTT load generator behind `make bench` (bench/run). Uses our codec.
file(GLOB verge_loadgen_srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/loadgen/*.cc)
add_executable(verge_loadgen ${verge_loadgen_srcs})
target_link_libraries(verge_loadgen PRIVATE verge_mqtt)
verge_warnings(verge_loadgen)
