#!/usr/bin/python3
"""`verge sim modbus` against a real Modbus client (pymodbus 3.0): the generated config and the
ports file describe what the devices serve, values decode per the config into plausible ranges,
counters grow, writes are read back, errors are the specified exceptions, --latency-ms delays
replies, and SIGTERM ends the process with status 0."""
import json
import os
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import yaml
from pymodbus.client import ModbusTcpClient

import harness
from harness import check, check_eq, main, wait_until

SPAN = {"bool": 1, "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2,
        "int64": 4, "float64": 4}
FORMAT = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f",
          "int64": ">q", "float64": ">d"}
# Plausible engineering values per unit (the simulator's waves stay well inside these).
RANGE = {"degC": (10, 35), "bar": (1, 3), "%RH": (20, 70), "V": (220, 240), "W": (-1000, 4000),
         "l": (0, 2**32), "kWh": (0, 1e9)}


class Sim:
    """The simulator as a subprocess in a temp dir; ready once the ports file exists."""

    def __init__(self, *args, devices=3, points=50):
        self.args = ["--devices", str(devices), "--points", str(points), *args]

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="verge-sim-")
        self.ports_file = os.path.join(self.tmp.name, "ports.json")
        self.config_file = os.path.join(self.tmp.name, "node.yaml")
        self.out = open(os.path.join(self.tmp.name, "out.log"), "w+")
        self.proc = subprocess.Popen(
            [harness.VERGE, "sim", "modbus", "--port", "0", "--ports-file", self.ports_file,
             "--config-out", self.config_file, *self.args],
            stdout=self.out, stderr=subprocess.STDOUT)
        wait_until(lambda: os.path.exists(self.ports_file) or self.proc.poll() is not None,
                   what="the ports file")
        check(self.proc.poll() is None, f"simulator exited: {self.output()}")
        with open(self.ports_file) as f:
            self.ports = json.load(f)["ports"]
        with open(self.config_file) as f:
            self.config = yaml.safe_load(f)
        return self

    def output(self):
        self.out.flush()
        self.out.seek(0)
        return self.out.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=harness.TIMEOUT)

    def __exit__(self, et, ev, tb):
        rc = self.stop()
        self.out.close()
        self.tmp.cleanup()
        if et is None:
            check_eq(rc, 0, "exit status after SIGTERM")

    def client(self, device=0):
        c = ModbusTcpClient("127.0.0.1", port=self.ports[device], timeout=5)
        check(c.connect(), f"connect to device {device}")
        return c

    def point(self, name):
        return next(p for p in self.config["profiles"][0]["points"] if p["name"] == name)


def split(address):
    table, number = address.split(":")
    return table, int(number)


def read_point(client, p):
    """The point's engineering value, decoded as the config says."""
    table, offset = split(p["address"])
    if table == "coil":
        r = client.read_coils(offset, 1, slave=1)
        check(not r.isError(), f"read {p['name']}: {r}")
        return r.bits[0]
    n = SPAN[p["type"]]
    reader = client.read_holding_registers if table == "holding" else client.read_input_registers
    r = reader(offset, n, slave=1)
    check(not r.isError(), f"read {p['name']}: {r}")
    raw = struct.unpack(FORMAT[p["type"]], struct.pack(f">{n}H", *r.registers))[0]
    return raw * p.get("scale", 1)


def raw_exchange(port, frames):
    """Sends MBAP frames in one write and returns the replies as (transaction, unit, pdu)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"".join(frames))
        out, buf = [], b""
        while len(out) < len(frames):
            while len(buf) < 6 or len(buf) < 6 + struct.unpack(">H", buf[4:6])[0]:
                chunk = s.recv(4096)
                check(chunk, "connection closed before every reply")
                buf += chunk
            length = struct.unpack(">H", buf[4:6])[0]
            tid, proto = struct.unpack(">HH", buf[:4])
            check_eq(proto, 0, "protocol id")
            out.append((tid, buf[6], buf[7:6 + length]))
            buf = buf[6 + length:]
        return out


def mbap(tid, unit, pdu):
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def test_config_and_ports_describe_the_devices():
    with Sim(devices=3, points=50) as sim:
        check_eq(len(sim.ports), 3, "ports")
        check_eq(len(set(sim.ports)), 3, "distinct ports")
        profiles, devices = sim.config["profiles"], sim.config["devices"]
        check_eq([p["name"] for p in profiles], ["sim-50"], "one profile")
        check_eq(profiles[0]["protocol"], "modbus-tcp", "protocol")
        points = profiles[0]["points"]
        check_eq(len(points), 50, "points in the profile")
        check_eq(len({p["name"] for p in points}), 50, "unique point names")
        check_eq([d["id"] for d in devices], ["sim-0", "sim-1", "sim-2"], "device ids")
        check_eq([d["connection"]["port"] for d in devices], sim.ports, "device ports")
        check(all(d["connection"]["host"] == "127.0.0.1" and d["connection"]["unit"] == 1 and
                  d["profile"] == "sim-50" and d["poll"] == "1s" for d in devices), str(devices))
        types = {p["type"] for p in points}
        check(types >= {"float32", "float64", "int16", "uint16", "int32", "uint32", "bool"},
              f"types mixed: {types}")
        tables = {split(p["address"])[0] for p in points}
        check_eq(tables, {"holding", "input", "coil"}, "tables")
        rw = [p for p in points if p.get("access") == "rw"]
        check(rw and all(split(p["address"])[0] in ("holding", "coil") for p in rw), str(rw))
        check("serving 3 devices x 50 points on 127.0.0.1:" in sim.output(), sim.output())


def test_values_decode_per_the_config():
    with Sim(devices=3, points=50) as sim:
        points = sim.config["profiles"][0]["points"]
        first_temps = []
        for d in range(3):
            c = sim.client(d)
            for p in points:
                v = read_point(c, p)
                if p["type"] == "bool":
                    check(isinstance(v, bool), f"{p['name']} = {v!r}")
                    continue
                lo, hi = RANGE[p["unit"]]
                check(lo <= v <= hi, f"device {d} {p['name']} = {v} {p['unit']} in {lo}..{hi}")
            first_temps.append(read_point(c, sim.point("t0001")))
            c.close()
        check(len(set(first_temps)) > 1, f"devices differ: {first_temps}")
        # A flow counter only grows (at least 0.5 l/s).
        c = sim.client(1)
        flow = sim.point("f0003")
        start = read_point(c, flow)
        wait_until(lambda: read_point(c, flow) > start, what="the flow counter to grow")
        # The input table has no holes: all of it reads in one request, one more register not.
        size = max(split(p["address"])[1] + SPAN[p["type"]] for p in points
                   if p["address"].startswith("input:"))
        r = c.read_input_registers(0, size, slave=1)
        check(not r.isError() and len(r.registers) == size, f"{size} input registers: {r}")
        r = c.read_input_registers(0, size + 1, slave=1)
        check(r.isError() and r.exception_code == 2, f"{size + 1} input registers: {r}")
        c.close()


def test_writes_are_read_back():
    with Sim(devices=2, points=50) as sim:
        c0, c1 = sim.client(0), sim.client(1)
        sp = sim.point("c0005")
        _, offset = split(sp["address"])
        before = c1.read_holding_registers(offset, 1, slave=1).registers[0]
        r = c0.write_register(offset, 555, slave=1)
        check(not r.isError(), f"write single register: {r}")
        check_eq(c0.read_holding_registers(offset, 1, slave=1).registers, [555], "read back")
        check_eq(abs(read_point(c0, sp) - 55.5) < 1e-9, True, "engineering value 55.5")
        r = c0.write_registers(offset, [0xFFF6], slave=1)  # -1.0 degC via function 16
        check(not r.isError(), f"write multiple registers: {r}")
        check_eq(abs(read_point(c0, sp) + 1.0) < 1e-9, True, "negative setpoint")
        check_eq(c1.read_holding_registers(offset, 1, slave=1).registers, [before],
                 "the other device is unchanged")
        coil = sim.point("s0004")
        _, coff = split(coil["address"])
        for value in (True, False, True):
            r = c0.write_coil(coff, value, slave=1)
            check(not r.isError(), f"write coil: {r}")
            check_eq(c0.read_coils(coff, 1, slave=1).bits[0], value, "coil read back")
        r = c0.write_coils(0, [False] * 5, slave=1)
        check(not r.isError(), f"write multiple coils: {r}")
        check_eq(c0.read_coils(0, 5, slave=1).bits[:5], [False] * 5, "coils read back")
        # A measurement is read-only: exception 2, and it keeps its value.
        _, toff = split(sim.point("t0001")["address"])
        r = c0.write_register(toff, 1, slave=1)
        check(r.isError() and r.exception_code == 2, f"read-only register: {r}")
        c0.close()
        c1.close()


def test_errors_are_modbus_exceptions():
    with Sim(devices=1, points=50) as sim:
        c = sim.client(0)
        r = c.read_holding_registers(1000, 2, slave=1)
        check(r.isError() and r.exception_code == 2, f"beyond the registers: {r}")
        r = c.read_discrete_inputs(0, 1, slave=1)
        check(r.isError() and r.exception_code == 2, f"no discrete inputs: {r}")
        c.close()
        replies = raw_exchange(sim.ports[0], [
            mbap(1, 1, bytes.fromhex("2B0E0100")),      # read device id: not supported
            mbap(2, 1, bytes.fromhex("0300000000")),    # quantity 0
            mbap(3, 1, bytes.fromhex("030000007E")),    # 126 registers
            mbap(4, 7, bytes.fromhex("0300000001")),    # any unit id is answered
            mbap(5, 1, bytes.fromhex("0500001234")),    # coil value neither FF00 nor 0000
        ])
        check_eq([t for t, _, _ in replies], [1, 2, 3, 4, 5], "replies in order")
        check_eq(replies[0][2], bytes.fromhex("AB01"), "exception 1")
        check_eq(replies[1][2], bytes.fromhex("8303"), "exception 3 for quantity 0")
        check_eq(replies[2][2], bytes.fromhex("8303"), "exception 3 for 126 registers")
        check_eq(replies[3][1], 7, "unit echoed")
        check_eq(replies[3][2][:2], bytes.fromhex("0302"), "read answered for unit 7")
        check_eq(replies[4][2], bytes.fromhex("8503"), "exception 3 for a bad coil value")
        # Bytes that are not Modbus close the connection.
        with socket.create_connection(("127.0.0.1", sim.ports[0]), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\n\r\n")
            check_eq(s.recv(100), b"", "connection closed")


def test_latency_delays_replies_in_order():
    with Sim("--latency-ms", "300", devices=1, points=20) as sim:
        start = time.monotonic()
        replies = raw_exchange(sim.ports[0], [mbap(t, 1, bytes.fromhex("0300000001"))
                                              for t in (10, 11, 12)])
        elapsed = time.monotonic() - start
        check(elapsed >= 0.3, f"replies after {elapsed:.3f}s, expected >= 0.3s")
        check_eq([t for t, _, _ in replies], [10, 11, 12], "in order")


def test_unread_pipeline_is_answered_in_full():
    """A client that sends far more than the simulator will queue (it holds its input past
    1 MiB of replies) still gets every reply once it reads."""
    with Sim(devices=1, points=300) as sim:  # 180 holding registers
        n = 50000
        req = mbap(9, 1, bytes.fromhex("030000007D"))  # 125 registers: 259-byte replies
        with socket.create_connection(("127.0.0.1", sim.ports[0]), timeout=10) as s:
            sender = threading.Thread(target=lambda: s.sendall(req * n))
            sender.start()
            want, got = n * 259, 0
            while got < want:
                chunk = s.recv(1 << 20)
                check(chunk, f"closed after {got} of {want} bytes")
                got += len(chunk)
            sender.join()
            check_eq(got, want, "reply bytes")


def test_bad_options_and_busy_port():
    r = subprocess.run([harness.VERGE, "sim", "modbus", "--devices", "0"], capture_output=True,
                       text=True, timeout=10)
    check_eq(r.returncode, 2, "exit status for --devices 0")
    check("--devices" in r.stderr, r.stderr)
    r = subprocess.run([harness.VERGE, "sim", "modbus", "--poll", "soon"], capture_output=True,
                       text=True, timeout=10)
    check_eq(r.returncode, 2, "exit status for a bad --poll")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([harness.VERGE, "sim", "modbus", "--port", str(port)],
                           capture_output=True, text=True, timeout=10)
        check_eq(r.returncode, 1, "exit status for a busy port")
        check(str(port) in r.stderr, r.stderr)


if __name__ == "__main__":
    main([test_config_and_ports_describe_the_devices, test_values_decode_per_the_config,
          test_writes_are_read_back, test_errors_are_modbus_exceptions,
          test_latency_delays_replies_in_order, test_unread_pipeline_is_answered_in_full,
          test_bad_options_and_busy_port])
