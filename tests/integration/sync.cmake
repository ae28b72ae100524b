# The hub and cloud-edge sync through the real binaries (issue 6): tests/integration/test_sync.py
# (enrolment, refusals, roles, desired state, offline restart) and test_sync_faults.py (link
# cuts, kill -9 of the edge during a drain and of the hub during ingest, through a TCP proxy).
add_test(NAME integration_sync
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_sync.py $<TARGET_FILE:verge>
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(integration_sync PROPERTIES TIMEOUT 300 LABELS integration
  ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
add_test(NAME integration_sync_faults
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_sync_faults.py $<TARGET_FILE:verge>
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(integration_sync_faults PROPERTIES TIMEOUT 400 LABELS integration
  ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)

# The same suites with the hub's storage in PostgreSQL (a throwaway server per run; each hub gets
# a database of its own).
foreach(suite sync sync_faults)
  add_test(NAME integration_${suite}_postgres
    COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/pg/with_postgres.py
            /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_${suite}.py $<TARGET_FILE:verge>
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  set_tests_properties(integration_${suite}_postgres PROPERTIES TIMEOUT 400
    LABELS "integration;postgres" ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
endforeach()
