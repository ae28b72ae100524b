CREATE STREAM demo (
  deviceId STRING, temperature FLOAT,deviceId BKGINT, oOAT, humiditOT NOT N