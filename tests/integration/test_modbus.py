#!/usr/bin/python3
"""verge's Modbus TCP and RTU adapters through the real binary, with pymodbus 3.0 playing the
devices (pymodbus_server.py): every data type and byte order, batching (request counts seen by
the device), writes read back, exception answers, a device that disappears and returns, a slow
device beside a fast one, and RTU over a socat pty pair with two units on one line."""
import json
import os
import queue
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

from harness import Client, Verge, check, check_eq, main, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "pymodbus_server.py")


# ---- the pymodbus device --------------------------------------------------------------------

class PyModbus:
    """One pymodbus server process; `with PyModbus(...) as dev:` stops it at the end."""

    def __init__(self, workdir, name, tcp=0, serial=None, units="1", size=100, init=None,
                 delay_ms=0):
        self.stats_path = os.path.join(workdir, name + "-stats.json")
        self.tcp, self.serial, self.units, self.size = tcp, serial, units, size
        self.init, self.delay_ms = init or {}, delay_ms
        self.proc = None
        self.port = None
        self.output = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    def start(self):
        args = ["/usr/bin/python3", SERVER, "--stats", self.stats_path, "--units", self.units,
                "--size", str(self.size), "--init", json.dumps(self.init),
                "--delay-ms", str(self.delay_ms)]
        args += ["--serial", self.serial] if self.serial else ["--tcp", str(self.port or self.tcp)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        lines = queue.Queue()

        def read(proc):
            for line in proc.stdout:
                self.output.append(line)
                lines.put(line)
            lines.put(None)
        threading.Thread(target=read, args=(self.proc,), daemon=True).start()
        deadline = time.monotonic() + 15
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if line is None or time.monotonic() > deadline:
                raise AssertionError("pymodbus did not start:\n" + "".join(self.output))
            if line.startswith("PORT "):
                self.port = int(line.split()[1])
                return
            if line.startswith("READY"):
                return

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stats(self):
        with open(self.stats_path) as f:
            return json.load(f)

    def count(self, function, unit=1):
        return self.stats()["counts"].get(str(unit), {}).get(str(function), 0)

    def holding(self, address, unit=1):
        return self.stats()["units"][str(unit)]["holding"][address]

    def coil(self, address, unit=1):
        return self.stats()["units"][str(unit)]["coils"][address]


def words(fmt, value, order):
    """The registers of `value` packed big-endian as `fmt`, laid out in Modbus word `order`."""
    raw = struct.pack(">" + fmt, value)
    ws = [raw[i:i + 2] for i in range(0, len(raw), 2)]
    if order in ("BADC", "DCBA", "BADCFEHG", "HGFEDCBA"):
        ws = [w[::-1] for w in ws]
    if order in ("CDAB", "DCBA", "GHEFCDAB", "HGFEDCBA"):
        ws = ws[::-1]
    return [int.from_bytes(w, "big") for w in ws]


# ---- verge ----------------------------------------------------------------------------------

def node(workdir, profiles):
    """A node config (JSON is YAML) with these profiles; returns its path. Devices are added
    over REST once the test listens (add_devices)."""
    path = os.path.join(workdir, "node.yaml")
    with open(path, "w") as f:
        json.dump({"profiles": profiles}, f)
    return path


def tcp_device(dev_id, profile, server, **extra):
    conn = {"host": "127.0.0.1", "port": server.port, "unit": 1, "timeout": "500ms"}
    conn.update(extra)
    return {"id": dev_id, "profile": profile, "connection": conn}


class Samples:
    """verge/devices/+/data and /status messages as parsed JSON. next() returns the first
    message of a device and kind after the one it returned last time that matches."""

    def __init__(self, v):
        self.q = queue.Queue()
        self.history = []  # (topic, doc)
        self.cursor = {}   # topic -> index in history after the last returned message
        self.c = Client(v.mqtt)
        self.c.c.on_message = lambda c, u, m: self.q.put((m.topic, json.loads(m.payload)))
        self.c.subscribe("verge/devices/+/data")
        self.c.subscribe("verge/devices/+/status")

    def _drain(self, timeout):
        try:
            self.history.append(self.q.get(timeout=timeout))
        except queue.Empty:
            pass
        while not self.q.empty():
            self.history.append(self.q.get())

    def next(self, dev_id, kind="data", pred=lambda doc: True, timeout=10.0):
        topic = f"verge/devices/{dev_id}/{kind}"
        deadline = time.monotonic() + timeout
        while True:
            for i in range(self.cursor.get(topic, 0), len(self.history)):
                t, doc = self.history[i]
                if t == topic and pred(doc):
                    self.cursor[topic] = i + 1
                    return doc
            left = deadline - time.monotonic()
            check(left > 0, f"no {kind} message of {dev_id} matching the condition")
            self._drain(left)

    def count(self, seconds):
        """Data messages per device over the next `seconds`."""
        start = len(self.history)
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._drain(left)
        counts = {}
        for topic, _ in self.history[start:]:
            parts = topic.split("/")
            if parts[3] == "data":
                counts[parts[2]] = counts.get(parts[2], 0) + 1
        return counts


def add_devices(v, devices):
    """Adds devices over REST (after the test subscribed, so no message is missed)."""
    for d in devices:
        status, body = v.call("POST", "/api/v1/devices", d)
        check_eq(status, 201, f"POST /api/v1/devices {d['id']}: {body}")


def point(name, address, type_, **kw):
    p = {"name": name, "address": address, "type": type_, "report": "always"}
    p.update(kw)
    return p


# ---- tests ----------------------------------------------------------------------------------

TYPES = [  # name, address, type, order, struct format, value
    ("i16", 0, "int16", "ABCD", "h", -2),
    ("u16", 1, "uint16", "ABCD", "H", 65000),
    ("i32", 2, "int32", "ABCD", "i", -100000),
    ("i32_cdab", 4, "int32", "CDAB", "i", -100000),
    ("u32_dcba", 6, "uint32", "DCBA", "I", 3000000000),
    ("i64", 8, "int64", "ABCDEFGH", "q", -5000000000),
    ("i64_hgfe", 12, "int64", "HGFEDCBA", "q", 1234567890123),
    ("f32", 16, "float32", "ABCD", "f", 21.5),
    ("f32_cdab", 18, "float32", "CDAB", "f", 21.5),
    ("f32_badc", 20, "float32", "BADC", "f", -3.25),
    ("f32_dcba", 22, "float32", "DCBA", "f", 1e6),
    ("f64", 24, "double", "ABCDEFGH", "d", -1234.5),
    ("f64_ghef", 28, "double", "GHEFCDAB", "d", 3.0e10),
    ("f64_badc", 32, "double", "BADCFEHG", "d", 0.125),
]


def test_every_type_and_byte_order():
    with tempfile.TemporaryDirectory(prefix="verge-mb-") as tmp:
        holding = {}
        points = []
        for name, addr, type_, order, fmt, value in TYPES:
            for i, w in enumerate(words(fmt, value, order)):
                holding[str(addr + i)] = w
            type_name = "float64" if type_ == "double" else type_
            points.append(point(name, f"holding:{addr}", type_name, order=order))
        for i, w in enumerate(words("6s", b"verge!", "ABCD")):
            holding[str(36 + i)] = w
        points.append(point("text", "holding:36", "string", length=6))
        holding["40"] = 0x0008
        points.append(point("bit3", "holding:40.3", "bool"))
        holding["42"] = 777
        points.append(point("classic", "40043", "uint16"))
        points += [point("inp", "input:5", "uint16"), point("coil", "coil:7", "bool"),
                   point("di", "discrete:9", "bool"),
                   point("scaled", "input:6", "int16", scale=0.1, offset=-1.5)]
        init = {"holding": holding, "input": {"5": 1234, "6": 215}, "coils": {"7": 1},
                "discrete": {"9": 1}}
        with PyModbus(tmp, "types", init=init) as dev:
            profile = {"name": "all", "protocol": "modbus-tcp", "poll": "1h", "points": points}
            cfg = node(tmp, [profile])
            with Verge("--config", cfg, "--threads", "1") as v:
                s = Samples(v)
                add_devices(v, [tcp_device("types-1", "all", dev, max_gap=2)])
                doc = s.next("types-1", pred=lambda d: len(d.get("values", {})) == len(points))
                vals = doc["values"]
                for name, _, _, _, _, value in TYPES:
                    check_eq(vals[name], value, name)
                check_eq(vals["text"], "verge!", "string")
                check_eq(vals["bit3"], True, "bit of a holding register")
                check_eq(vals["classic"], 777, "40043 (1-based holding address)")
                check_eq(vals["inp"], 1234, "input register")
                check_eq(vals["coil"], True, "coil")
                check_eq(vals["di"], True, "discrete input")
                check(abs(vals["scaled"] - 20.0) < 1e-9, f"scale and offset: {vals['scaled']}")
                check("quality" not in doc or not doc["quality"], f"all good: {doc}")
                # One cycle (poll 1h); holding 0..42 with gaps of one register (max_gap 2): one
                # request per table.
                check_eq(dev.stats()["counts"]["1"], {"1": 1, "2": 1, "3": 1, "4": 1},
                         "requests by function")


def test_batching_request_counts():
    with tempfile.TemporaryDirectory(prefix="verge-mb-") as tmp:
        with PyModbus(tmp, "batch", size=400, units="1,2") as dev:
            points = [point(f"h{i}", f"holding:{i}", "uint16") for i in range(300)]
            points += [point(f"i{i}", f"input:{i}", "uint16") for i in range(10)]
            points += [point(f"c{i}", f"coil:{i}", "bool") for i in range(20)]
            wide = [point(f"w{i}", f"holding:{i}", "uint16") for i in range(100)]
            profiles = [
                {"name": "big", "protocol": "modbus-tcp", "poll": "1h", "points": points},
                {"name": "wide", "protocol": "modbus-tcp", "poll": "1h", "points": wide},
            ]
            devices = [tcp_device("big-1", "big", dev),
                       tcp_device("wide-1", "wide", dev, unit=2, max_registers=40)]
            cfg = node(tmp, profiles)
            with Verge("--config", cfg, "--threads", "1") as v:
                s = Samples(v)
                add_devices(v, devices)
                first = s.next("big-1")
                check_eq(len(first["values"]), 330, "every point in one message")
                s.next("wide-1")
                # One cycle (poll 1h): 300 holding registers in 3 requests of at most 125, ten
                # input registers in 1, twenty coils in 1.
                check_eq(dev.count(3, unit=1), 3, "holding read requests")
                check_eq(dev.count(4, unit=1), 1, "input read requests")
                check_eq(dev.count(1, unit=1), 1, "coil read requests")
                check_eq(dev.count(3, unit=2), 3, "100 registers with max_registers 40")


def test_writes_are_read_back():
    with tempfile.TemporaryDirectory(prefix="verge-mb-") as tmp:
        with PyModbus(tmp, "writes") as dev:
            points = [point("sp", "holding:10", "int16", access="rw"),
                      point("big", "holding:20", "float32", access="rw"),
                      point("on", "coil:3", "bool", access="rw")]
            profile = {"name": "w", "protocol": "modbus-tcp", "poll": "200ms", "points": points}
            cfg = node(tmp, [profile])
            with Verge("--config", cfg, "--threads", "1") as v:
                s = Samples(v)
                add_devices(v, [tcp_device("w-1", "w", dev)])
                s.next("w-1")
                status, body = v.call("PUT", "/api/v1/devices/w-1/desired",
                                    {"values": {"sp": -55, "big": 2.5, "on": True}, "wait": "5s"})
                check_eq(status, 200, f"desired: {body}")
                check(all(r["status"] == "applied" for r in body["results"]), f"applied: {body}")
                check_eq(dev.holding(10), 0x10000 - 55, "int16 written")
                check_eq(dev.holding(20), 0x4020, "float32 high word written")
                check_eq(dev.coil(3), 1, "coil written")
                doc = s.next("w-1", pred=lambda d: d["values"].get("sp") == -55)
                check_eq(doc["values"]["big"], 2.5, "float32 read back")
                check_eq(doc["values"]["on"], True, "coil read back")
                check(dev.count(6) == 1 and dev.count(16) == 1 and dev.count(5) == 1,
                      f"fc 6, 16 and 5 once each: {dev.stats()['counts']}")
                # The MQTT way in.
                s.c.publish("verge/devices/w-1/desired/set", json.dumps({"sp": 66}))
                wait_until(lambda: dev.holding(10) == 66, what="MQTT desired value written")
                s.next("w-1", pred=lambda d: d["values"].get("sp") == 66)


def test_exception_answer_marks_point_bad():
    with tempfile.TemporaryDirectory(prefix="verge-mb-") as tmp:
        with PyModbus(tmp, "exc", init={"holding": {"1": 42}}) as dev:
            points = [point("ok", "holding:1", "uint16"), point("gone", "holding:150", "uint16")]
            profile = {"name": "e", "protocol": "modbus-tcp", "poll": "200ms", "points": points}
            cfg = node(tmp, [profile])
            with Verge("--config", cfg, "--threads", "1") as v:
                s = Samples(v)
                add_devices(v, [tcp_device("e-1", "e", dev)])
                status = s.next("e-1", kind="status")
                check_eq(status["online"], True, "an exception is an answer: online")
                doc = s.next("e-1", pred=lambda d: "gone" in d.get("quality", {}))
                check_eq(doc["values"].get("ok"), 42, "the good point still reads")
                check_eq(doc["quality"]["gone"]["quality"], "bad", "quality of the missing point")
                check_eq(doc["quality"]["gone"]["reason"], "exception 2: illegal data address",
                         "reason")


def test_device_disappears_and_returns():
    with tempfile.TemporaryDirectory(prefix="verge-mb-") as tmp:
        with PyModbus(tmp, "flaky", init={"holding": {"0": 5}}) as dev:
            profile = {"name": "f", "protocol": "modbus-tcp", "poll": "200ms",
                       "points": [point("x", "holding:0", "uint16")]}
            cfg = node(tmp, [profile])
            with Verge("--config", cfg, "--threads", "1") as v:
                s = Samples(v)
                add_devices(v, [tcp_device("f-1", "f", dev, backoff_max="1s")])
                s.next("f-1", kind="status", pred=lambda d: d["online"])
                s.next("f-1")
                dev.kill()
                down = s.next("f-1", kind="status", pred=lambda d: not d["online"])
                check(down["reason"] != "", f"offline with a reason: {down}")
                dev.init = {"holding": {"0": 6}}
                dev.start()  # the same port
                s.next("f-1", kind="status", pred=lambda d: d["online"], timeout=15)
                s.next("f-1", pred=lambda d: d["values"].get("x") == 6)


def test_slow_device_does_not_delay_a_fast_one():
    with tempfile.TemporaryDirectory(prefix="verge-mb-") as tmp:
        with PyModbus(tmp, "slow", delay_ms=300) as slow, PyModbus(tmp, "fast") as fast:
            profile = {"name": "s", "protocol": "modbus-tcp", "poll": "200ms",
                       "points": [point("x", "holding:0", "uint16")]}
            devices = [tcp_device("slow-1", "s", slow, timeout="2s"),
                       tcp_device("fast-1", "s", fast)]
            cfg = node(tmp, [profile])
            # One loop thread: both devices share it, so nothing blocks it.
            with Verge("--config", cfg, "--threads", "1") as v:
                s = Samples(v)
                add_devices(v, devices)
                s.next("slow-1")
                s.next("fast-1")
                counts = s.count(3.0)
                # 200 ms polls: 15 cycles in 3 s; the slow one manages at most one per 300 ms.
                check(counts.get("fast-1", 0) >= 11, f"fast device kept its rate: {counts}")
                check(counts.get("slow-1", 0) <= 11, f"slow device is slower: {counts}")
                check(counts.get("fast-1", 0) > counts.get("slow-1", 0), f"counts: {counts}")


def test_rtu_two_units_on_one_line():
    socat = shutil.which("socat")
    check(socat is not None, "socat is installed")
    with tempfile.TemporaryDirectory(prefix="verge-rtu-") as tmp:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        pty = subprocess.Popen([socat, "-d", "-d", f"pty,raw,echo=0,link={a}",
                                f"pty,raw,echo=0,link={b}"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: os.path.exists(a) and os.path.exists(b), what="socat's ptys")
            init = {"input": {"3": 321}, "units": {"1": {"holding": {"0": 101}},
                                                   "2": {"holding": {"0": 202}}}}
            with PyModbus(tmp, "rtu", serial=a, units="1,2", init=init) as dev:
                points = [point("x", "holding:0", "uint16"), point("y", "input:3", "uint16"),
                          point("sp", "holding:10", "uint16", access="rw")]
                profile = {"name": "r", "protocol": "modbus-rtu", "poll": "200ms",
                           "points": points}
                devices = [{"id": f"rtu-{u}", "profile": "r",
                            "connection": {"port": b, "baud": 19200, "unit": u,
                                           "timeout": "500ms"}} for u in (1, 2)]
                cfg = node(tmp, [profile])
                with Verge("--config", cfg, "--threads", "2") as v:
                    s = Samples(v)
                    add_devices(v, devices)
                    one = s.next("rtu-1", pred=lambda d: "x" in d["values"])
                    two = s.next("rtu-2", pred=lambda d: "x" in d["values"])
                    check_eq((one["values"]["x"], one["values"]["y"]), (101, 321), "unit 1")
                    check_eq((two["values"]["x"], two["values"]["y"]), (202, 321), "unit 2")
                    status, body = v.call("PUT", "/api/v1/devices/rtu-2/desired",
                                        {"values": {"sp": 77}, "wait": "5s"})
                    check_eq(status, 200, f"desired: {body}")
                    check_eq(body["results"][0]["status"], "applied", f"write: {body}")
                    check_eq(dev.holding(10, unit=2), 77, "unit 2 written")
                    check_eq(dev.holding(10, unit=1), 0, "unit 1 untouched")
                    s.next("rtu-2", pred=lambda d: d["values"].get("sp") == 77)
                    # Both keep polling over the shared line.
                    counts = s.count(2.0)
                    check(counts.get("rtu-1", 0) >= 4 and counts.get("rtu-2", 0) >= 4,
                          f"both units polled: {counts}")
        finally:
            pty.terminate()
            pty.wait(timeout=10)


if __name__ == "__main__":
    main([test_every_type_and_byte_order, test_batching_request_counts,
          test_writes_are_read_back, test_exception_answer_marks_point_bad,
          test_device_disappears_and_returns, test_slow_device_does_not_delay_a_fast_one,
          test_rtu_two_units_on_one_line])
