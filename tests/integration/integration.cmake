# Black-box tests of `verge edge`: each script starts the real binary on port 0 in a temp dir
# and talks to it with third-party clients (paho-mqtt, mosquitto_pub/sub, MQTT.js).
# Debian's python3-paho-mqtt lives in /usr/bin/python3, hence the absolute interpreter.
set(VERGE_INTEGRATION_PY
  qos_retain
  sessions_wills
  v5_features
  protocol_errors
  flow_control
  auth_acl
  tls_ws
  mosquitto_clients
  crash_persistence
  restart_persistence
)
foreach(name ${VERGE_INTEGRATION_PY})
  add_test(NAME integration_${name}
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_${name}.py $<TARGET_FILE:verge>
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  set_tests_properties(integration_${name} PROPERTIES TIMEOUT 120 LABELS integration
    ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
endforeach()

# MQTT.js (tests/integration/js; scripts/bootstrap runs `npm ci` there).
add_test(NAME integration_mqttjs
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_mqttjs.py $<TARGET_FILE:verge>
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(integration_mqttjs PROPERTIES TIMEOUT 120 LABELS integration
  ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
