#!/usr/bin/python3
"""Push devices through the real binary: HTTP ingest (JSON samples and line protocol, refusals),
CoAP ingest with libcoap's coap-client, and MQTT devices mapped from their own topics (a
mosquitto_pub message becomes the device's data message; a desired value is published on the
command topic)."""
import json
import os
import queue
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from harness import Client, Verge, check, check_eq, main, wait_until

TS = 1732190000123


def node(workdir, profiles, devices):
    """A node config (JSON is YAML) with these profiles and devices; returns its path."""
    path = os.path.join(workdir, "node.yaml")
    with open(path, "w") as f:
        json.dump({"profiles": profiles, "devices": devices}, f)
    return path


def point(name, type_, **kw):
    p = {"name": name, "type": type_, "report": "always"}
    p.update(kw)
    return p


def post(v, path, body, content_type=None, method="POST"):
    """(status, headers, body text) of one request to verge's HTTP listener."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(f"http://127.0.0.1:{v.ports['http']}{path}", data=data,
                                 method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def twin(v, dev_id):
    status, text = v.http_get(f"/api/v1/devices/{dev_id}/twin")
    check_eq(status, 200, "twin status")
    return json.loads(text)


def reported(v, dev_id, name):
    return twin(v, dev_id)["reported"].get(name)


class Samples:
    """verge/devices/+/data messages, as (device, parsed JSON)."""

    def __init__(self, v):
        self.q = queue.Queue()
        self.c = Client(v.mqtt)
        self.c.c.on_message = lambda c, u, m: self.q.put((m.topic, json.loads(m.payload)))
        self.c.subscribe("verge/devices/+/data")

    def next(self, dev_id, pred=lambda doc: True, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            check(left > 0, f"no data message of {dev_id} matching the condition")
            try:
                topic, doc = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if topic == f"verge/devices/{dev_id}/data" and pred(doc):
                return doc


HTTP_PROFILE = {"name": "env-http", "protocol": "http",
                "points": [point("temp", "float32"), point("on", "bool"),
                           point("mode", "string", length=16)]}


def test_http_json_and_line_protocol():
    with tempfile.TemporaryDirectory(prefix="verge-ingest-") as tmp:
        cfg = node(tmp, [HTTP_PROFILE], [{"id": "h-1", "profile": "env-http"}])
        with Verge("--config", cfg, "--threads", "1") as v:
            s = Samples(v)
            status, _, body = post(v, "/api/v1/ingest",
                                   json.dumps({"device": "h-1", "ts": TS,
                                               "values": {"temp": 21.5, "on": True,
                                                          "mode": "eco"}}),
                                   "application/json")
            check_eq(status, 204, f"JSON ingest status ({body})")
            doc = s.next("h-1", lambda d: d["values"].get("temp") == 21.5)
            check_eq(doc["ts"], TS, "sample ts")
            check_eq(doc["values"].get("on"), True, "on")
            check_eq(doc["values"].get("mode"), "eco", "mode")
            check_eq(reported(v, "h-1", "temp")["value"], 21.5, "twin temp")

            # Line protocol: the device tag names the device, the timestamp is in ms here.
            status, _, body = post(v, "/api/v1/ingest?precision=ms",
                                   f"env,device=h-1 temp=22.5,on=f {TS + 1000}\n", "text/plain")
            check_eq(status, 204, f"line protocol status ({body})")
            doc = s.next("h-1", lambda d: d["values"].get("temp") == 22.5)
            check_eq(doc["values"].get("on"), False, "on from line protocol")
            check_eq(doc["ts"], TS + 1000, "line protocol ts")
            t = reported(v, "h-1", "temp")
            check_eq((t["value"], t["ts"]), (22.5, TS + 1000), "twin after line protocol")

            # The point form with a quality; the measurement is the device without a tag.
            status, _, body = post(v, "/api/v1/ingest", json.dumps(
                [{"device": "h-1", "point": "temp", "value": 23.0, "quality": "uncertain",
                  "reason": "calibrating"}]), "application/json")
            check_eq(status, 204, f"point form status ({body})")
            wait_until(lambda: reported(v, "h-1", "temp")["quality"] == "uncertain",
                       what="uncertain quality in the twin")
            status, _, _ = post(v, "/api/v1/ingest", "h-1 temp=24.5")
            check_eq(status, 204, "line protocol without Content-Type")
            wait_until(lambda: reported(v, "h-1", "temp")["value"] == 24.5, what="twin 24.5")


def test_http_refusals():
    with tempfile.TemporaryDirectory(prefix="verge-ingest-") as tmp:
        cfg = node(tmp, [HTTP_PROFILE], [{"id": "h-1", "profile": "env-http"}])
        with Verge("--config", cfg, "--threads", "1") as v:
            # Some good, some bad: 400 with the errors, and the good reading is kept.
            status, _, body = post(v, "/api/v1/ingest",
                                   "h-1 temp=30.5\nh-1 temp=1.2.3\nnobody temp=1\nh-1 nope=1\n",
                                   "text/plain")
            check_eq(status, 400, "partly bad status")
            doc = json.loads(body)
            check_eq((doc["accepted"], doc["rejected"]), (1, 3), f"counts in {doc}")
            check_eq(doc["errors"][0], "line 2: field 'temp': bad float '1.2.3'", "line error")
            check("unknown device" in doc["errors"][1], f"unknown device error in {doc}")
            check("unknown point" in doc["errors"][2], f"unknown point error in {doc}")
            wait_until(lambda: (reported(v, "h-1", "temp") or {}).get("value") == 30.5,
                       what="the good reading of a partly bad body")

            status, _, body = post(v, "/api/v1/ingest",
                                   '[{"device":"h-1","values":{"temp":[1]}}]', "application/json")
            check_eq(status, 400, "bad JSON item")
            check_eq(json.loads(body)["errors"],
                     ["[0].values.temp: expected a number, bool or string"], "item error")
            # Microseconds sent as ms: refused with a hint, not stored as the year 56,000.
            status, _, body = post(v, "/api/v1/ingest",
                                   json.dumps([{"device": "h-1", "ts": TS * 1000,
                                                "values": {"temp": 99.0}}]), "application/json")
            check_eq(status, 400, "ts in microseconds")
            check_eq(json.loads(body)["errors"],
                     [f"[0].ts: ts {TS * 1000} is more than 1 day in the future; is it in ms?"],
                     "ts error")
            # An uncertain reading without a value is refused; a bad one reports the failure.
            status, _, body = post(v, "/api/v1/ingest",
                                   '{"device":"h-1","values":{},"quality":{"temp":"uncertain"}}',
                                   "application/json")
            check_eq(status, 400, "uncertain without a value")
            check_eq(json.loads(body)["errors"],
                     ["quality.temp: an uncertain reading needs a value"], "uncertain error")
            status, _, body = post(v, "/api/v1/ingest", "{oops", "application/json")
            check_eq(status, 400, "bad JSON")
            check(json.loads(body)["error"].startswith("bad JSON at offset 1"), body)
            status, _, body = post(v, "/api/v1/ingest", "<x/>", "application/xml")
            check_eq(status, 415, "unsupported media type")
            status, headers, _ = post(v, "/api/v1/ingest", None, method="GET")
            check_eq(status, 405, "GET")
            check_eq(headers.get("Allow"), "POST", "Allow header")
            # The twin still holds the one good reading.
            check_eq(reported(v, "h-1", "temp")["value"], 30.5, "twin after refusals")
            # 3 lines + 3 JSON items refused; bad JSON and the 415 refused whole.
            check_eq(v.metric("verge_ingest_rejected_total", transport="http"), 6.0, "rejected")
            check_eq(v.metric("verge_ingest_refused_total", transport="http"), 2.0, "refused")
            check_eq(v.metric("verge_ingest_readings_total", transport="http"), 1.0, "accepted")


def coap_client(port, path, payload, method="post", extra=()):
    r = subprocess.run(["coap-client-notls", "-m", method, "-t", "json", "-B", "5", *extra,
                        "-e", payload, f"coap://127.0.0.1:{port}/{path}"],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def test_coap_ingest():
    with tempfile.TemporaryDirectory(prefix="verge-ingest-") as tmp:
        profile = {"name": "ear-tag", "protocol": "coap",
                   "points": [point("temp", "float32"), point("steps", "int32")]}
        cfg = node(tmp, [profile], [{"id": "tag-1", "profile": "ear-tag"}])
        with Verge("--config", cfg, "--threads", "1", "--coap-listen", "127.0.0.1:0") as v:
            port = v.ports["coap"]
            s = Samples(v)
            rc, out = coap_client(port, "ingest/tag-1",
                                  json.dumps({"ts": TS, "values": {"temp": 38.5, "steps": 120}}))
            check_eq(rc, 0, f"coap-client exit ({out})")
            check("4." not in out and "5." not in out, f"no error code in {out!r}")
            doc = s.next("tag-1", lambda d: d["values"].get("temp") == 38.5)
            check_eq(doc["values"].get("steps"), 120, "steps")
            check_eq(doc["ts"], TS, "ts")
            check_eq(reported(v, "tag-1", "steps")["value"], 120, "twin steps")

            rc, out = coap_client(port, "ingest/tag-1", '{"values":{"temp":"hot"}}')
            check("4.00" in out, f"4.00 for a bad value: {out!r}")
            rc, out = coap_client(port, "ingest/nobody", '{"values":{"temp":1}}')
            check("4.04" in out, f"4.04 for an unknown device: {out!r}")
            rc, out = coap_client(port, "ingest/tag-1", "{oops")
            check("4.00" in out, f"4.00 for bad JSON: {out!r}")
            # Block-wise: reassembled by the server; over 64 KiB refused before the end.
            padded = json.dumps({"values": {"steps": 121}, "ts": TS}) + " " * 200
            rc, out = coap_client(port, "ingest/tag-1", padded, extra=("-b", "16"))
            check_eq(rc, 0, f"block-wise coap-client exit ({out})")
            check("4." not in out and "5." not in out, f"no error code in {out!r}")
            wait_until(lambda: reported(v, "tag-1", "steps")["value"] == 121,
                       what="block-wise upload in the twin")
            rc, out = coap_client(port, "ingest/tag-1", " " * 70_000, extra=("-b", "1024"))
            check("4.13" in out, f"4.13 for a 70 KB upload: {out!r}")
            check_eq(reported(v, "tag-1", "temp")["value"], 38.5, "twin unchanged by refusals")
            check_eq(v.metric("verge_ingest_readings_total", transport="coap"), 3.0, "coap readings")
            check_eq(v.metric("verge_ingest_refused_total", transport="coap"), 2.0,
                     "coap bad JSON and too large")


def test_mqtt_device_mapping_and_writes():
    with tempfile.TemporaryDirectory(prefix="verge-ingest-") as tmp:
        profile = {"name": "env-mqtt", "protocol": "mqtt", "points": [
            point("temp", "float32", address="sensors/{device}/state#main.temp"),
            point("hum", "int16", address="sensors/{device}/state#readings[0].value"),
            point("level", "float64", address="sensors/{device}/level"),
            point("setpoint", "int16", address="sensors/{device}/state#setpoint", access="rw"),
        ]}
        device = {"id": "env-1", "profile": "env-mqtt",
                  "connection": {"ts_path": "ts", "command_topic": "sensors/{device}/set/{point}"}}
        quiet = {"id": "env-2", "profile": "env-mqtt", "connection": {"offline_after": "300ms"}}
        mute = {"id": "env-3", "profile": "env-mqtt"}
        cfg = node(tmp, [profile], [device, quiet, mute])
        with Verge("--config", cfg, "--threads", "1") as v:
            s = Samples(v)
            # The adapter subscribes once its loop runs; publish until the mapping shows up.
            payload = json.dumps({"main": {"temp": 21.5}, "readings": [{"value": 40}], "ts": TS})

            def published_and_seen():
                subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(v.mqtt), "-t",
                                "sensors/env-1/state", "-m", payload], check=True, timeout=10)
                try:
                    return s.next("env-1", lambda d: d["values"].get("temp") == 21.5,
                                  timeout=0.5)
                except AssertionError:
                    return None

            doc = wait_until(published_and_seen, what="env-1's data message")
            check_eq(doc["values"].get("hum"), 40, "hum from readings[0].value")
            check_eq(doc["ts"], TS, "ts from ts_path")
            check("level" not in doc["values"], "a point of another topic is not reported")
            check_eq(reported(v, "env-1", "temp")["value"], 21.5, "twin temp")

            # A plain-text payload on a whole-payload point; a value that does not fit is bad.
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(v.mqtt), "-t",
                            "sensors/env-1/level", "-m", "3.25"], check=True, timeout=10)
            s.next("env-1", lambda d: d["values"].get("level") == 3.25)
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(v.mqtt), "-t",
                            "sensors/env-1/state", "-m", '{"readings":[{"value":7.5}]}'],
                           check=True, timeout=10)
            doc = s.next("env-1", lambda d: "hum" in d.get("quality", {}))
            check_eq(doc["quality"]["hum"]["quality"], "bad", "hum quality")

            # A device clock in microseconds: receipt time, uncertain, counted.
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(v.mqtt), "-t",
                            "sensors/env-1/state", "-m",
                            json.dumps({"main": {"temp": 26.5}, "ts": TS * 1000})],
                           check=True, timeout=10)
            doc = s.next("env-1", lambda d: d["values"].get("temp") == 26.5)
            check_eq(doc["quality"]["temp"]["quality"], "uncertain", "temp quality")
            check_eq(doc["quality"]["temp"].get("reason"), "device timestamp out of range",
                     "temp reason")
            check(abs(doc["ts"] - time.time() * 1000) < 60_000, f"receipt time in {doc}")
            check_eq(v.metric("verge_mqtt_device_bad_timestamps_total"), 1.0, "bad ts metric")
            check_eq(v.metric("verge_mqtt_device_bad_values_total"), 1.0, "bad values metric")
            check_eq(v.metric("verge_mqtt_device_dropped_total"), 0.0, "dropped metric")

            # A desired value goes out on the command topic.
            cmds = queue.Queue()
            sub = Client(v.mqtt)
            sub.c.on_message = lambda c, u, m: cmds.put((m.topic, m.payload.decode()))
            sub.subscribe("sensors/env-1/set/#", qos=1)
            status, _, body = post(v, "/api/v1/devices/env-1/desired",
                                   json.dumps({"values": {"setpoint": 55}, "wait": "5s"}),
                                   "application/json", method="PUT")
            check_eq(status, 200, f"desired status ({body})")
            topic, msg = cmds.get(timeout=10)
            check_eq(topic, "sensors/env-1/set/setpoint", "command topic")
            check_eq(json.loads(msg), {"setpoint": 55}, "command payload")
            results = json.loads(body)
            check("applied" in json.dumps(results), f"applied in {results}")

            # Without a command topic a write to an online device fails and says why.
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(v.mqtt), "-t",
                            "sensors/env-3/level", "-m", "2"], check=True, timeout=10)
            wait_until(lambda: twin(v, "env-3")["online"], what="env-3 online")
            status, _, body = post(v, "/api/v1/devices/env-3/desired",
                                   json.dumps({"values": {"setpoint": 1}, "wait": "5s"}),
                                   "application/json", method="PUT")
            check("no command_topic configured" in body, f"write error in {status} {body}")

            # offline_after: online with a message, offline after 300 ms of silence.
            statuses = queue.Queue()
            st = Client(v.mqtt)
            st.c.on_message = lambda c, u, m: statuses.put(json.loads(m.payload))
            st.subscribe("verge/devices/env-2/status")
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(v.mqtt), "-t",
                            "sensors/env-2/level", "-m", "1"], check=True, timeout=10)
            seen = []

            def went_offline():
                try:
                    seen.append(statuses.get(timeout=0.5))
                except queue.Empty:
                    pass
                online = [i for i, d in enumerate(seen) if d.get("online")]
                return online and any(not d["online"] and d.get("reason") ==
                                      "no message for 300ms" for d in seen[online[0]:])

            wait_until(went_offline, what=f"env-2 online then offline (seen {seen})")
            check_eq(twin(v, "env-2")["online"], False, "env-2 twin offline")


if __name__ == "__main__":
    main([test_http_json_and_line_protocol, test_http_refusals, test_coap_ingest,
          test_mqtt_device_mapping_and_writes])
