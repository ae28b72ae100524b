# The Modbus TCP and RTU adapters through the real binary, with pymodbus as the devices
# (tests/integration/test_modbus.py, pymodbus_server.py; RTU over a socat pty pair).
add_test(NAME integration_modbus
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_modbus.py $<TARGET_FILE:verge>
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(integration_modbus PROPERTIES TIMEOUT 240 LABELS integration
  ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
