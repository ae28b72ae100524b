# Push devices through the real binary (tests/integration/test_ingest.py): HTTP ingest in JSON
# and line protocol, CoAP with coap-client-notls, MQTT devices with mosquitto_pub.
add_test(NAME integration_ingest
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_ingest.py $<TARGET_FILE:verge>
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(integration_ingest PROPERTIES TIMEOUT 180 LABELS integration
  ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
