#!/usr/bin/python3
"""A Modbus device played by pymodbus 3.0 (Debian's python3-pymodbus), for the integration
tests of verge's Modbus adapters (test_modbus.py).

    pymodbus_server.py --tcp PORT | --serial PATH [--baud 9600] [--units 1,2]
                       [--size 100] [--init JSON] [--delay-ms 0] --stats FILE

Each table (coils, discrete inputs, input and holding registers) has --size entries from
address 0; a request past them gets exception 2. --init sets values of every unit:
{"holding": {"0": 1234}, "input": {...}, "coils": {"3": 1}, "discrete": {...}}, and of one unit
under "units": {"units": {"2": {"holding": {"0": 2}}}}.
Every request is counted by unit and function code, and the counts plus the first 64 holding
registers and coils of each unit are written to the --stats file (atomically) after each request,
so a test can assert how many requests verge sent and what it wrote.
With --tcp 0 the port is chosen by the system; the script prints "PORT <n>" once it listens
("READY" for a serial line).
"""
import argparse
import asyncio
import json
import os
import sys
import threading
import time

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.server.async_io import ModbusSerialServer, ModbusTcpServer
from pymodbus.transaction import ModbusRtuFramer, ModbusSocketFramer

TABLES = {"coils": "co", "discrete": "di", "input": "ir", "holding": "hr"}


class Stats:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.counts = {}  # unit -> function code -> requests
        self.contexts = {}

    def count(self, unit, fc):
        with self.lock:
            per = self.counts.setdefault(str(unit), {})
            per[str(fc)] = per.get(str(fc), 0) + 1
        self.write()

    def write(self):
        with self.lock:
            doc = {"counts": self.counts, "units": {}}
            for unit, ctx in self.contexts.items():
                doc["units"][str(unit)] = {
                    "holding": ctx.store["h"].getValues(0, 64),
                    "coils": [int(b) for b in ctx.store["c"].getValues(0, 64)],
                }
            tmp = self.path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(doc, f)
            os.replace(tmp, self.path)


class CountingContext(ModbusSlaveContext):
    """Counts each request once (validate runs once per request) and answers late on demand."""

    def __init__(self, unit, stats, delay_s, **kw):
        super().__init__(zero_mode=True, **kw)
        self.unit = unit
        self.stats = stats
        self.delay_s = delay_s

    def validate(self, fc_as_hex, address, count=1):
        self.stats.count(self.unit, fc_as_hex)
        if self.delay_s > 0:
            time.sleep(self.delay_s)  # one device, one request at a time: blocking is the point
        return super().validate(fc_as_hex, address, count)

    def setValues(self, fc_as_hex, address, values):  # noqa: N802 (pymodbus' name)
        super().setValues(fc_as_hex, address, values)
        self.stats.write()


def build_context(args, stats):
    init = json.loads(args.init) if args.init else {}
    slaves = {}
    for unit in [int(u) for u in args.units.split(",")]:
        blocks = {}
        own = init.get("units", {}).get(str(unit), {})
        for table, key in TABLES.items():
            values = [0] * args.size
            for addr, v in list(init.get(table, {}).items()) + list(own.get(table, {}).items()):
                values[int(addr)] = int(v)
            blocks[key] = ModbusSequentialDataBlock(0, values)
        ctx = CountingContext(unit, stats, args.delay_ms / 1000.0, **blocks)
        slaves[unit] = ctx
        stats.contexts[unit] = ctx
    return ModbusServerContext(slaves=slaves, single=False)


async def run(args):
    stats = Stats(args.stats)
    context = build_context(args, stats)
    stats.write()
    if args.serial:
        server = ModbusSerialServer(context, framer=ModbusRtuFramer, port=args.serial,
                                    baudrate=args.baud, bytesize=8, parity="N", stopbits=1,
                                    timeout=0.01)
        await server.start()
        print("READY", flush=True)
        await asyncio.Event().wait()
        return
    server = ModbusTcpServer(context, framer=ModbusSocketFramer,
                             address=("127.0.0.1", args.tcp), allow_reuse_address=True)
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    port = server.server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    await task


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tcp", type=int)
    p.add_argument("--serial")
    p.add_argument("--baud", type=int, default=9600)
    p.add_argument("--units", default="1")
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--init")
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--stats", required=True)
    args = p.parse_args()
    if (args.tcp is None) == (args.serial is None):
        p.error("exactly one of --tcp and --serial")
    try:
        asyncio.run(run(args))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
