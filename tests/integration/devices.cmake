# The device layer through the real binary (tests/integration/test_devices.py): REST CRUD,
# YAML items, twin and commands against `verge sim modbus`, the offline queue across a restart,
# MQTT desired/set and a rule's device action.
add_test(NAME integration_devices
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_devices.py $<TARGET_FILE:verge>
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(integration_devices PROPERTIES TIMEOUT 240 LABELS integration
  ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
