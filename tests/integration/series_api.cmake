# The time-series HTTP API of the real binary (tests/integration/test_series_api.py).
add_test(NAME integration_series_api
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_series_api.py $<TARGET_FILE:verge>
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(integration_series_api PROPERTIES TIMEOUT 60 LABELS integration
  ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
