CREATE STREAM demo (
  deviceId STRING, temperature FLOAT, humidity BIGINT, ok BOOLEAN, ts DATETIME,
  tags ARRAY(STRING), loc STRUCT(lat FLOAT, lon FLOAT),
) WITH (DATASOURCE="sensors/+/data", FORMAT="JSON", TIMESTAMP="ts", TIMESTAMP_FORMAT="yyyy-MM-dd HH:mm:ss")