#!/usr/bin/python3
"""Interoperability with the Eclipse Mosquitto command line clients (mosquitto_pub,
mosquitto_sub) over MQTT 3.1.1 and 5, including a password login."""
import os
import queue
import subprocess
import tempfile
import threading

from harness import (MQTTv311, MQTTv5, Client, TestFailure, Verge, check, check_eq, main,
                     verge_passwd)

VERSIONS = (("mqttv311", MQTTv311), ("mqttv5", MQTTv5))


def mosquitto_pub(port, version, *args):
    cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-V", version, *map(str, args)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


class MosquittoSub:
    """mosquitto_sub -d, whose output lines feed a queue; waits for its SUBACK before use."""

    def __init__(self, port, version, *args, expect_suback=True):
        # stdbuf: mosquitto_sub block-buffers its stdout into a pipe.
        cmd = ["stdbuf", "-oL", "mosquitto_sub", "-d", "-h", "127.0.0.1", "-p", str(port),
               "-V", version, "-W", "30", *map(str, args)]
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        if expect_suback:
            self.until(lambda l: "received SUBACK" in l, "SUBACK")

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, pred, what, timeout=10):
        seen = []
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise TestFailure(f"mosquitto_sub: no {what}; output so far: {seen}")
            if line is None:
                raise TestFailure(f"mosquitto_sub exited before {what}; output: {seen}")
            seen.append(line)
            if pred(line):
                return line

    def finish(self):
        try:
            rc = self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise TestFailure("mosquitto_sub did not exit after its message count")
        rest = []
        while True:
            line = self.lines.get(timeout=5)
            if line is None:
                break
            rest.append(line)
        return rc, rest


def test_mosquitto_pub_sub():
    with Verge() as v:
        for version, proto in VERSIONS:
            # mosquitto_sub receives from paho and from mosquitto_pub.
            sub = MosquittoSub(v.mqtt, version, "-t", f"mq/{version}/#", "-q", "2", "-C", "3",
                               "-F", "PAYLOAD %t %q %p")
            paho_pub = Client(v.mqtt, f"paho-{version}", proto)
            paho_pub.publish(f"mq/{version}/paho", b"from-paho", qos=2)
            line = sub.until(lambda l: l.startswith("PAYLOAD"), "message from paho")
            check_eq(line, f"PAYLOAD mq/{version}/paho 2 from-paho", "mosquitto_sub output")
            for qos in (1, 2):
                rc, out = mosquitto_pub(v.mqtt, version, "-t", f"mq/{version}/cli", "-q", qos,
                                        "-m", f"cli-q{qos}")
                check_eq(rc, 0, f"mosquitto_pub exit code ({out})")
                line = sub.until(lambda l: l.startswith("PAYLOAD"), "message from mosquitto_pub")
                check_eq(line, f"PAYLOAD mq/{version}/cli {qos} cli-q{qos}",
                         "mosquitto_sub output")
            rc, _ = sub.finish()
            check_eq(rc, 0, "mosquitto_sub exit code after -C 3")

            # paho receives from mosquitto_pub; retained message for a later mosquitto_sub.
            paho_sub = Client(v.mqtt, f"paho-sub-{version}", proto)
            paho_sub.subscribe(f"mq2/{version}", 1)
            rc, out = mosquitto_pub(v.mqtt, version, "-t", f"mq2/{version}", "-q", "1", "-r",
                                    "-m", "kept")
            check_eq(rc, 0, f"mosquitto_pub exit code ({out})")
            check_eq(paho_sub.expect(f"mq2/{version}").payload, b"kept", "paho got mosquitto_pub")
            r = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(v.mqtt), "-V",
                                version, "-t", f"mq2/{version}", "-C", "1", "-W", "10",
                                "-F", "%r %p"], capture_output=True, text=True, timeout=30)
            check_eq((r.returncode, r.stdout.strip()), (0, "1 kept"),
                     "retained message to mosquitto_sub")
            paho_pub.disconnect()
            paho_sub.disconnect()


def test_mosquitto_v5_properties():
    with Verge() as v:
        sub = MosquittoSub(v.mqtt, "mqttv5", "-t", "props", "-C", "1", "-F", "PAYLOAD %p %P")
        rc, out = mosquitto_pub(v.mqtt, "mqttv5", "-t", "props", "-q", "1", "-m", "hello",
                                "-D", "publish", "user-property", "site", "north")
        check_eq(rc, 0, f"mosquitto_pub exit code ({out})")
        line = sub.until(lambda l: l.startswith("PAYLOAD"), "message with user property")
        check_eq(line, "PAYLOAD hello site:north", "user property via mosquitto clients")
        check_eq(sub.finish()[0], 0, "mosquitto_sub exit code")


def test_mosquitto_password_login():
    with tempfile.TemporaryDirectory() as d:
        pw = os.path.join(d, "pw.txt")
        verge_passwd(pw, "cli", "cli-pass", create=True)
        with Verge("--password-file", pw, "--allow-anonymous", "false") as v:
            for version, _ in VERSIONS:
                rc, out = mosquitto_pub(v.mqtt, version, "-u", "cli", "-P", "cli-pass",
                                        "-t", "auth", "-m", "x", "-q", "1")
                check_eq(rc, 0, f"{version} good password ({out})")
                rc, out = mosquitto_pub(v.mqtt, version, "-u", "cli", "-P", "wrong",
                                        "-t", "auth", "-m", "x", "-q", "1")
                check(rc != 0, f"{version} wrong password accepted ({out})")
                check("not authori" in out.lower() or "bad user name or password" in out.lower(),
                      f"{version} wrong-password error text: {out!r}")
                rc, out = mosquitto_pub(v.mqtt, version, "-t", "auth", "-m", "x", "-q", "1")
                check(rc != 0, f"{version} anonymous accepted ({out})")


if __name__ == "__main__":
    main([test_mosquitto_pub_sub, test_mosquitto_v5_properties, test_mosquitto_password_login])
