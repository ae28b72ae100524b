# The rule engine through the real binary (tests/integration/test_rules.py): every action kind,
# REST lifecycle, YAML rules, dead letters, restarts, `verge rule test`.
add_test(NAME integration_rules
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_rules.py $<TARGET_FILE:verge>
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(integration_rules PROPERTIES TIMEOUT 180 LABELS integration
  ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
