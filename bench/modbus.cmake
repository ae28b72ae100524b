# verge_modbus_ref: libmodbus polling the simulator, the same-run yardstick of bench/run-devices
# (docs/benchmarks.md, "Device acquisition").
pkg_check_modules(MODBUS REQUIRED IMPORTED_TARGET libmodbus)
add_executable(verge_modbus_ref ${CMAKE_CURRENT_LIST_DIR}/modbus_ref.cc)
target_link_libraries(verge_modbus_ref PRIVATE PkgConfig::MODBUS Threads::Threads)
verge_warnings(verge_modbus_ref)
