#!/usr/bin/python3
"""The device layer through the real binary: REST CRUD of profiles and devices (field errors,
409 on YAML items, persistence), a bad YAML item stops start-up naming it, the twin's reported
and desired values against `verge sim modbus`, the offline command queue across a restart,
MQTT desired/set, and a rule's device action writing a point."""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request

import yaml

import harness
from harness import Client, Verge, check, check_eq, main, wait_until

WAIT = 30.0  # a Modbus device may take a reconnect back-off to come online


def call(v, method, path, body=None):
    """Returns (status, parsed JSON body or None, headers)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{v.ports['http']}{path}", data=data,
                                 method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            raw = r.read().decode()
            return r.status, (json.loads(raw) if raw.strip() else None), r.headers
    except urllib.error.HTTPError as e:
        raw = e.read().decode()
        try:
            return e.code, json.loads(raw), e.headers
        except ValueError:
            return e.code, raw, e.headers


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Sim:
    """`verge sim modbus` with one device; ready once its ports file exists."""

    def __init__(self, port=0, points=12):
        self.port, self.points = port, points

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="verge-devsim-")
        ports_file = os.path.join(self.tmp.name, "ports.json")
        config_file = os.path.join(self.tmp.name, "node.yaml")
        self.out = open(os.path.join(self.tmp.name, "out.log"), "w+")
        self.proc = subprocess.Popen(
            [harness.VERGE, "sim", "modbus", "--port", str(self.port), "--devices", "1",
             "--points", str(self.points), "--ports-file", ports_file, "--config-out",
             config_file], stdout=self.out, stderr=subprocess.STDOUT)
        wait_until(lambda: os.path.exists(ports_file) or self.proc.poll() is not None,
                   what="the simulator's ports file")
        check(self.proc.poll() is None, "simulator exited")
        with open(ports_file) as f:
            self.port = json.load(f)["ports"][0]
        with open(config_file) as f:
            self.profile = yaml.safe_load(f)["profiles"][0]
        return self

    def __exit__(self, et, ev, tb):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=harness.TIMEOUT)
        self.out.close()
        self.tmp.cleanup()


# The simulator's register map (docs/devices/modbus-sim.md): c0005 is a writable int16
# setpoint (scale 0.1) at holding:2, s0004 a writable coil.
def sim_profile(name="plant"):
    return {"name": name, "protocol": "modbus-tcp", "poll": "200ms", "points": [
        {"name": "t0001", "address": "holding:0", "type": "float32", "unit": "degC"},
        {"name": "s0004", "address": "coil:0", "type": "bool", "access": "rw"},
        {"name": "c0005", "address": "holding:2", "type": "int16", "scale": 0.1,
         "access": "rw", "unit": "degC"}]}


def sim_device(port, dev_id="plant-1", profile="plant"):
    return {"id": dev_id, "profile": profile,
            "connection": {"host": "127.0.0.1", "port": port, "unit": 1, "timeout": "500ms"}}


CONFIG = """
profiles:
  - name: meter
    protocol: http
    points:
      - {name: kw, type: float32, unit: kW}
devices:
  - id: meter-1
    profile: meter
"""


def write_config(directory, text):
    path = os.path.join(directory, "node.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_rest_crud_validation_and_persistence():
    with tempfile.TemporaryDirectory(prefix="verge-dev-") as d:
        config = write_config(d, CONFIG)
        v = Verge("--config", config, workdir=d)
        with v:
            status, body, _ = call(v, "GET", "/api/v1/profiles")
            check_eq(status, 200, "list profiles")
            check_eq([(p["name"], p["from_config"]) for p in body["profiles"]],
                     [("meter", True)], "the YAML profile")
            bad = {"name": "p1", "protocol": "http", "points": [{"name": "a", "type": "flaot32"}]}
            status, body, _ = call(v, "POST", "/api/v1/profiles", bad)
            check_eq(status, 400, "bad profile")
            check(body["error"].startswith("points[0].type: unknown type 'flaot32' (bool,"),
                  f"the error names the field: {body}")
            status, body, _ = call(v, "POST", "/api/v1/profiles",
                                   {"name": "p1", "protocol": "modbus-tpc", "points": [{}]})
            check_eq(status, 400, "unknown protocol")
            check("modbus-tcp" in body["error"] and body["error"].startswith("protocol:"),
                  f"the known protocols are listed: {body}")
            good = {"name": "p1", "protocol": "http", "points": [{"name": "a", "type": "int16"}]}
            status, body, headers = call(v, "POST", "/api/v1/profiles", good)
            check_eq(status, 201, f"create profile: {body}")
            check_eq(headers["Location"], "/api/v1/profiles/p1", "Location")
            check_eq(call(v, "POST", "/api/v1/profiles", good)[0], 409, "create twice")
            good["points"].append({"name": "b", "type": "bool"})
            status, body, _ = call(v, "PUT", "/api/v1/profiles/p1", good)
            check_eq((status, len(body["points"])), (200, 2), "replace the profile")
            # Devices.
            status, body, _ = call(v, "POST", "/api/v1/devices", {"id": "d1", "profile": "p9"})
            check_eq((status, body["error"]), (400, "profile: unknown profile 'p9'"), "bad device")
            status, body, _ = call(v, "POST", "/api/v1/profiles", sim_profile())
            check_eq(status, 201, f"a modbus profile: {body}")
            status, body, _ = call(v, "POST", "/api/v1/devices", sim_device(70000))
            check_eq(status, 400, f"bad port: {body}")
            check(body["error"].startswith("connection.") and "port" in body["error"],
                  f"the error names the connection field: {body}")
            status, body, _ = call(v, "POST", "/api/v1/devices",
                                   {"id": "d1", "profile": "p1", "labels": {"room": "7"}})
            check_eq(status, 201, f"create device: {body}")
            check_eq((body["protocol"], body["from_config"]), ("http", False), "device document")
            check_eq(call(v, "GET", "/api/v1/devices/d1/twin")[1]["reported"], {}, "empty twin")
            # Read-only YAML items, conflicts, unknown paths and methods.
            check_eq(call(v, "DELETE", "/api/v1/profiles/meter")[0], 409, "delete a YAML profile")
            check_eq(call(v, "DELETE", "/api/v1/devices/meter-1")[0], 409, "delete a YAML device")
            check_eq(call(v, "PUT", "/api/v1/devices/meter-1", {"profile": "meter"})[0], 409,
                     "replace a YAML device")
            status, body, _ = call(v, "DELETE", "/api/v1/profiles/p1")
            check_eq(status, 409, "delete a profile in use")
            check("d1" in body["error"], f"names the device: {body}")
            check_eq(call(v, "GET", "/api/v1/devices/nope")[0], 404, "unknown device")
            check_eq(call(v, "GET", "/api/v1/devices/nope/twin")[0], 404, "unknown twin")
            status, _, headers = call(v, "PATCH", "/api/v1/devices", {})
            check_eq((status, headers["Allow"]), (405, "GET, POST"), "405 with Allow")
            status, _, headers = call(v, "POST", "/api/v1/devices/d1/twin", {})
            check_eq((status, headers["Allow"]), (405, "GET"), "405 on the twin")
        # REST items come back after a restart.
        v.start()
        try:
            status, body, _ = call(v, "GET", "/api/v1/devices/d1")
            check_eq((status, body["labels"]), (200, {"room": "7"}), "device after a restart")
            check_eq(len(call(v, "GET", "/api/v1/profiles/p1")[1]["points"]), 2, "profile too")
            check_eq(call(v, "DELETE", "/api/v1/devices/d1")[0], 204, "delete the device")
            check_eq(call(v, "DELETE", "/api/v1/profiles/p1")[0], 204, "then its profile")
            check_eq(call(v, "GET", "/api/v1/profiles/p1")[0], 404, "gone")
        finally:
            v.stop()


def test_bad_yaml_device_stops_startup():
    with tempfile.TemporaryDirectory(prefix="verge-dev-") as d:
        config = write_config(d, CONFIG + """
  - id: bad-1
    profile: meter
    poll: 1s
""")
        p = subprocess.run([harness.VERGE, "edge", "--config", config, "--data-dir",
                            os.path.join(d, "data"), "--mqtt-listen", "127.0.0.1:0",
                            "--http-listen", "127.0.0.1:0"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=30)
        check_eq(p.returncode, 1, "exit status")
        check("devices[1] (bad-1): poll: protocol 'http' does not poll" in p.stdout,
              f"the error names the item:\n{p.stdout}")


def expect_topic(sub, topic, pred=lambda payload: True):
    """The next message on `topic` whose JSON payload satisfies `pred`, skipping the others."""
    while True:
        m = sub.expect(timeout=WAIT)
        if m.topic == topic and pred(json.loads(m.payload)):
            return m


def desired(v, dev_id, body):
    status, reply, _ = call(v, "PUT", f"/api/v1/devices/{dev_id}/desired", body)
    check(isinstance(reply, dict), f"desired reply: {status} {reply}")
    return status, reply


def twin(v, dev_id):
    return call(v, "GET", f"/api/v1/devices/{dev_id}/twin")[1]


def reported(v, dev_id, point):
    return twin(v, dev_id)["reported"].get(point, {}).get("value")


def test_twin_round_trip_with_the_simulator():
    with Sim() as sim, Verge() as v:
        sub = Client(v.mqtt)
        sub.connect()
        sub.subscribe("verge/devices/plant-1/#", qos=0)
        check_eq(call(v, "POST", "/api/v1/profiles", sim_profile())[0], 201, "profile")
        check_eq(call(v, "POST", "/api/v1/devices", sim_device(sim.port))[0], 201, "device")
        wait_until(lambda: twin(v, "plant-1")["online"], timeout=WAIT, what="device online")
        raw = expect_topic(sub, "verge/devices/plant-1/data").payload
        sample = json.loads(raw)
        check_eq(sample["device"], "plant-1", "data message")
        check("t0001" in sample["values"], f"values: {sample}")
        # A float32 value is written as the float's shortest text (at most 9 digits).
        text = re.search(r'"t0001":([-+0-9.eE]+)', raw.decode() if isinstance(raw, bytes) else raw)
        digits = re.sub(r"[^0-9]", "", re.split(r"[eE]", text.group(1))[0]) if text else ""
        check(text is not None and len(digits.lstrip("0")) <= 9, f"float32 as shown: {raw}")
        status, reply = desired(v, "plant-1", {"values": {"c0005": 22.5}, "wait": "10s"})
        check_eq(status, 200, f"applied: {reply}")
        check_eq([(r["point"], r["status"]) for r in reply["results"]], [("c0005", "applied")],
                 "results")
        d = twin(v, "plant-1")["desired"]["c0005"]
        check_eq((d["value"], d["status"]), (22.5, "applied"), "the twin's desired section")
        wait_until(lambda: reported(v, "plant-1", "c0005") == 22.5, timeout=WAIT,
                   what="the written value read back")
        # Validation errors come back at once, naming the point.
        status, reply = desired(v, "plant-1", {"t0001": 3})
        check_eq((status, reply["error"]), (400, "point 't0001': read-only (access r)"),
                 "read-only")
        status, reply = desired(v, "plant-1", {"c0005": 5000})
        check_eq(status, 400, f"out of range: {reply}")
        check("expected int16" in reply["error"], f"range error: {reply}")
        # MQTT clients set desired values too; results come on .../commands.
        pub = Client(v.mqtt)
        pub.connect()
        pub.publish("verge/devices/plant-1/desired/set", json.dumps({"s0004": True}), qos=1)
        result = json.loads(expect_topic(sub, "verge/devices/plant-1/commands",
                                         lambda p: p.get("point") == "s0004").payload)
        check_eq((result["point"], result["status"], result["source"]),
                 ("s0004", "applied", "mqtt"), "MQTT desired/set")
        wait_until(lambda: reported(v, "plant-1", "s0004") is True, timeout=WAIT,
                   what="the coil read back")
        status, body, _ = call(v, "GET", "/api/v1/devices/plant-1/commands")
        check_eq(status, 200, "commands")
        check_eq([c["status"] for c in body["recent"]], ["applied", "applied"], "recent")
        check(v.metric("verge_device_writes_total", result="applied") >= 2, "writes counted")
        check(v.metric("verge_devices_online") == 1, "online gauge")
        pub.disconnect()
        sub.disconnect()


def test_offline_queue_survives_a_restart():
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="verge-dev-") as d:
        v = Verge(workdir=d)
        with v:
            check_eq(call(v, "POST", "/api/v1/profiles", sim_profile())[0], 201, "profile")
            check_eq(call(v, "POST", "/api/v1/devices", sim_device(port))[0], 201, "device")
            status, reply = desired(v, "plant-1", {"values": {"c0005": 12.5}, "wait": "300ms",
                                                   "ttl": "5m"})
            check_eq(status, 202, f"queued while offline: {reply}")
            check_eq(reply["results"][0]["status"], "queued", "status")
            check_eq(twin(v, "plant-1")["desired"]["c0005"]["status"], "queued", "twin")
        v.start()
        try:
            body = call(v, "GET", "/api/v1/devices/plant-1/commands")[1]
            check_eq([(c["point"], c["status"]) for c in body["pending"]],
                     [("c0005", "queued")], "the queue after a restart")
            with Sim(port=port):
                wait_until(lambda: twin(v, "plant-1")["desired"]["c0005"]["status"] == "applied",
                           timeout=WAIT, what="the queued command applied")
                wait_until(lambda: reported(v, "plant-1", "c0005") == 12.5, timeout=WAIT,
                           what="the value read back")
        finally:
            v.stop()


def test_rule_device_action_writes_a_point():
    with Sim() as sim, Verge() as v:
        check_eq(call(v, "POST", "/api/v1/profiles", sim_profile())[0], 201, "profile")
        check_eq(call(v, "POST", "/api/v1/devices", sim_device(sim.port))[0], 201, "device")
        check_eq(call(v, "POST", "/api/v1/streams", {
            "sql": 'CREATE STREAM setpoints () WITH (DATASOURCE="plant/setpoint", '
                   'FORMAT="json")'})[0], 201, "stream")
        status, body, _ = call(v, "POST", "/api/v1/rules", {
            "id": "set", "sql": "SELECT target FROM setpoints",
            "actions": [{"device": {"device": "plant-1", "point": "c0005",
                                    "column": "target"}}]})
        check_eq(status, 201, f"rule: {body}")
        wait_until(lambda: twin(v, "plant-1")["online"], timeout=WAIT, what="device online")
        pub = Client(v.mqtt)
        pub.connect()
        pub.publish("plant/setpoint", json.dumps({"target": 31.5}), qos=1)
        wait_until(lambda: reported(v, "plant-1", "c0005") == 31.5, timeout=WAIT,
                   what="the rule's write read back")
        d = twin(v, "plant-1")["desired"]["c0005"]
        check_eq((d["value"], d["status"]), (31.5, "applied"), "desired by the rule")
        pub.disconnect()


if __name__ == "__main__":
    main([test_rest_crud_validation_and_persistence, test_bad_yaml_device_stops_startup,
          test_twin_round_trip_with_the_simulator, test_offline_queue_survives_a_restart,
          test_rule_device_action_writes_a_point])
