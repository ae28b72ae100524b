# `verge sim modbus` against pymodbus (tests/integration/test_sim_modbus.py).
add_test(NAME integration_sim_modbus
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_sim_modbus.py $<TARGET_FILE:verge>
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(integration_sim_modbus PROPERTIES TIMEOUT 120 LABELS integration
  ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
