"""Shared helpers of the black-box integration tests of `verge edge`.

Run the tests with /usr/bin/python3 (Debian's python3-paho-mqtt 1.6 lives there). Each test
script calls `main(tests)` with its test functions; the verge binary is argv[1].

Nothing here sleeps to synchronise: every wait is on an event (a log line, a packet, a
callback, a metric value) with a timeout.
"""
import json
import os
import queue
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

import paho.mqtt.client as paho
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

MQTTv311 = paho.MQTTv311
MQTTv5 = paho.MQTTv5
TIMEOUT = 10.0

VERGE = None  # path of the binary, set by main()


class TestFailure(AssertionError):
    pass


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def check_eq(actual, expected, what):
    if actual != expected:
        raise TestFailure(f"{what}: expected {expected!r}, got {actual!r}")


def wait_until(pred, timeout=TIMEOUT, what="condition", interval=0.02):
    """Polls pred() until true (a bounded wait on observable state, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout}s waiting for {what}")
        threading.Event().wait(interval)


# ---- the broker process ---------------------------------------------------------------------

_LISTEN_RE = re.compile(r'msg="?listening"?.*?listener=(\w+) addr=(\S+)')
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ThreadSanitizer", "UndefinedBehaviorSanitizer")


class Verge:
    """Starts `verge edge` on port 0 in a fresh data dir; `with Verge(...) as v:` stops it with
    SIGTERM and fails unless it exits 0 without sanitizer reports.

    Restarts keep the data dir: `v.stop()` (clean) or `v.kill9()` (crash), then `v.start()`
    again; the listeners get new ports, read from the new process's log."""

    def __init__(self, *args, mqtt="127.0.0.1:0", http="127.0.0.1:0", workdir=None, role="edge"):
        self.tmp = tempfile.TemporaryDirectory(prefix="verge-it-") if workdir is None else None
        self.dir = workdir or self.tmp.name
        self.role = role  # edge or cloud
        self.args = [VERGE, role, "--mqtt-listen", mqtt, "--http-listen", http,
                     "--data-dir", os.path.join(self.dir, "data")] + [str(a) for a in args]
        self.ports = {}
        self.lines = []
        self.previous_logs = []  # the logs of earlier runs on this data dir
        self._cv = threading.Condition()
        self.proc = None
        self.killed = False

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if self.tmp is not None:
                self.tmp.cleanup()
            raise
        return self

    def __exit__(self, et, ev, tb):
        try:
            self.stop()
        finally:
            if self.tmp is not None:
                self.tmp.cleanup()
        return False

    last = None  # the most recently started broker, whose log main() prints on failure

    def start(self):
        Verge.last = self
        check(self.proc is None or self.proc.poll() is not None, "verge is already running")
        if self.proc is not None:
            self.previous_logs.append(self.log())
        # A fresh list per run, so the reader of the previous process cannot append to it.
        self.lines = []
        self.ports = {}
        self.killed = False
        env = dict(os.environ)
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env, text=True, errors="replace")
        threading.Thread(target=self._read, args=(self.proc, self.lines), daemon=True).start()
        try:
            self.wait_log(f"verge {self.role} started", timeout=TIMEOUT)
        except TestFailure:
            raise TestFailure("verge did not start:\n" + self.log())
        for line in self.lines:
            m = _LISTEN_RE.search(line or "")
            if m:
                self.ports[m.group(1)] = int(m.group(2).rsplit(":", 1)[1])
        missing = self.expected_listeners() - self.ports.keys()
        check(not missing, f"no 'listening' line for {sorted(missing)}:\n" + self.log())
        check(all(p > 0 for p in self.ports.values()), f"bad ports {self.ports}")

    def expected_listeners(self):
        kinds = set()
        for i, a in enumerate(self.args[:-1]):
            if a.endswith("-listen") and self.args[i + 1] != "off":
                kinds.add(a[2:-len("-listen")])
        return kinds

    def _read(self, proc, lines):
        for line in proc.stdout:
            with self._cv:
                lines.append(line.rstrip("\n"))
                self._cv.notify_all()
        with self._cv:
            lines.append(None)  # EOF marker
            self._cv.notify_all()

    def log(self):
        return "\n".join(l for l in list(self.lines) if l is not None)

    def wait_log(self, text, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                if any(l is not None and text in l for l in self.lines):
                    return
                if None in self.lines:
                    raise TestFailure(f"verge exited before logging {text!r}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure(f"timed out waiting for log {text!r}")
                self._cv.wait(left)

    def kill9(self):
        """Crashes verge with SIGKILL and waits until it is gone. No exit code or sanitizer
        checks: a killed process reports nothing. A later stop() (or the end of `with`) does
        nothing unless start() ran again."""
        # A process that died on its own before the kill crashed: that must not pass unseen.
        rc = self.proc.poll()
        check(rc is None, f"verge had already exited ({rc}) before kill -9:\n" + self.log()[-4000:])
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)
        with self._cv:
            self._cv.wait_for(lambda: None in self.lines, timeout=5)
        self.killed = True

    def stop(self):
        if self.proc is None or self.killed:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure("verge did not exit within 20 s of SIGTERM:\n" + self.log()[-4000:])
        with self._cv:
            self._cv.wait_for(lambda: None in self.lines, timeout=5)
        out = self.log()
        for marker in SANITIZER_MARKERS:
            check(marker not in out, f"sanitizer report in verge output:\n{out[-8000:]}")
        check(rc == 0, f"verge exited with {rc} after SIGTERM:\n{out[-4000:]}")

    @property
    def mqtt(self):
        return self.ports["mqtt"]

    def http_get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['http']}{path}", timeout=5) as r:
            return r.status, r.read().decode()

    def call(self, method, path, body=None, token=None, timeout=10):
        """A REST call: returns (status, parsed JSON body or None; the text if it is not JSON)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.ports['http']}{path}", data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, raw = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read().decode()
        try:
            return status, (json.loads(raw) if raw.strip() else None)
        except ValueError:
            return status, raw

    def metrics(self):
        _, text = self.http_get("/metrics")
        out = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
        return out

    def metric(self, name, **labels):
        lab = ",".join(f'{k}="{v}"' for k, v in labels.items())
        key = f"{name}{{{lab}}}" if labels else name
        return self.metrics().get(key, 0.0)


def verge_passwd(path, user, password, create=False):
    args = [VERGE, "passwd", "--password-stdin"] + (["-c"] if create else []) + [path, user]
    r = subprocess.run(args, input=password + "\n", text=True, capture_output=True, timeout=30)
    check(r.returncode == 0, f"verge passwd failed ({r.returncode}): {r.stderr}")


# ---- TLS material ---------------------------------------------------------------------------

def make_tls(directory):
    """CA, server cert (127.0.0.1/localhost SAN), client certs CN=device-1 and CN=device-2 (same
    CA) and a self-signed 'rogue' client cert. Returns a dict of file paths."""
    def ossl(*a):
        r = subprocess.run(["openssl", *a], cwd=directory, capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"openssl {' '.join(a)} failed: {r.stderr}")
    p = lambda n: os.path.join(directory, n)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
         "-days", "2", "-subj", "/CN=verge-test-ca")
    with open(p("server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    with open(p("client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    certs = [("server", "/CN=localhost", "server.ext"), ("device-1", "/CN=device-1", "client.ext"),
             ("device-2", "/CN=device-2", "client.ext")]
    for name, subj, ext in certs:
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", subj)
        ossl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", ext)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rogue.key", "-out",
         "rogue.crt", "-days", "2", "-subj", "/CN=device-1")
    return {n: p(n) for n in os.listdir(directory)}


# ---- paho client wrapper --------------------------------------------------------------------

class Client:
    """A paho client whose callbacks feed queues, so tests wait on events with timeouts."""

    def __init__(self, port, client_id="", protocol=MQTTv311, clean=True, transport="tcp",
                 host="127.0.0.1", username=None, password=None, tls=None, will=None,
                 keepalive=30, props=None, connect=True, expect_rc=0, session_expiry=None):
        self.protocol = protocol
        kw = {} if protocol == MQTTv5 else {"clean_session": clean}
        self.c = paho.Client(client_id=client_id, protocol=protocol, transport=transport, **kw)
        self.messages = queue.Queue()
        self.connacks = queue.Queue()
        self.disconnects = queue.Queue()
        self.subacks = queue.Queue()
        self.acked = set()
        self._lock = threading.Condition()
        if username is not None:
            self.c.username_pw_set(username, password)
        if tls is not None:
            self.c.tls_set(**tls)
        if will is not None:
            self.c.will_set(**will)
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = self._on_disconnect
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.on_subscribe = lambda c, u, mid, granted, *p: self.subacks.put((mid, granted))
        self.c.on_publish = self._on_publish
        self.host, self.port, self.keepalive = host, port, keepalive
        self.clean = clean
        if session_expiry is not None:
            props = props or Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = session_expiry
        self.props = props
        self.connack = None
        if connect:
            self.connect(expect_rc)

    def _on_connect(self, c, u, flags, rc, props=None):
        self.connacks.put((flags, rc, props))

    def _on_disconnect(self, c, u, rc, props=None):
        # No automatic reconnect (paho's loop_start would retry, which would e.g. take a session
        # back over): disconnect() here switches the loop into its exiting state.
        c.disconnect()
        self.disconnects.put((rc.value if hasattr(rc, "value") else rc, props))

    def _on_publish(self, c, u, mid):
        with self._lock:
            self.acked.add(mid)
            self._lock.notify_all()

    def connect(self, expect_rc=0):
        if self.protocol == MQTTv5:
            self.c.connect(self.host, self.port, self.keepalive, clean_start=self.clean,
                           properties=self.props)
        else:
            self.c.connect(self.host, self.port, self.keepalive)
        self.c.loop_start()
        try:
            flags, rc, props = self.connacks.get(timeout=TIMEOUT)
        except queue.Empty:
            raise TestFailure(f"no CONNACK on port {self.port}")
        self.connack = (flags, rc, props)
        code = rc.value if hasattr(rc, "value") else rc
        if expect_rc is not None:
            check_eq(code, expect_rc, f"CONNACK code of {self.c._client_id!r}")
        return flags, code, props

    @property
    def session_present(self):
        return bool(self.connack[0].get("session present"))

    def subscribe(self, topic, qos=0, options=None, props=None, expect=None):
        if self.protocol == MQTTv5:
            opts = options or paho.SubscribeOptions(qos=qos)
            rc, mid = self.c.subscribe(topic, options=opts, properties=props)
        else:
            rc, mid = self.c.subscribe(topic, qos)
        check_eq(rc, 0, "subscribe call")
        try:
            got_mid, granted = self.subacks.get(timeout=TIMEOUT)
        except queue.Empty:
            raise TestFailure(f"no SUBACK for {topic}")
        code = granted[0].value if hasattr(granted[0], "value") else granted[0]
        want = (options.QoS if options else qos) if expect is None else expect
        check_eq(code, want, f"SUBACK code for {topic!r}")
        return code

    def publish(self, topic, payload, qos=0, retain=False, props=None, wait=True):
        info = self.c.publish(topic, payload, qos=qos, retain=retain, properties=props)
        if wait and qos > 0:
            with self._lock:
                ok = self._lock.wait_for(lambda: info.mid in self.acked, timeout=TIMEOUT)
            check(ok, f"QoS {qos} publish to {topic} was not acknowledged")
        return info

    def expect(self, topic=None, timeout=TIMEOUT):
        try:
            m = self.messages.get(timeout=timeout)
        except queue.Empty:
            raise TestFailure(f"{self.c._client_id!r}: no message (wanted {topic})")
        if topic is not None:
            check_eq(m.topic, topic, "topic of received message")
        return m

    def expect_none(self, marker_client, marker_topic):
        """Proves no message is pending: the client also subscribes to `marker_topic`, and a marker
        published through the broker afterwards must be the next (only) message."""
        marker_client.publish(marker_topic, b"marker", qos=1)
        m = self.expect()
        check_eq(m.topic, marker_topic, "unexpected message before the marker")

    def disconnect(self):
        self.c.disconnect()
        self.c.loop_stop()

    def kill_socket(self):
        """Abnormal close: shut the TCP connection without DISCONNECT."""
        self.c.loop_stop()
        s = self.c.socket()
        if s is not None:
            s.shutdown(socket.SHUT_RDWR)
            s.close()

    def wait_disconnect(self, timeout=TIMEOUT):
        try:
            return self.disconnects.get(timeout=timeout)
        except queue.Empty:
            raise TestFailure(f"{self.c._client_id!r} was not disconnected")


def v5props(ptype=PacketTypes.PUBLISH, **kw):
    p = Properties(ptype)
    for k, v in kw.items():
        setattr(p, k, v)
    return p


# ---- raw MQTT over a socket -----------------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


def connect_packet(client_id, version=4, keepalive=60, clean=True, props=b"", username=None,
                   password=None):
    flags = (0x02 if clean else 0) | (0x80 if username is not None else 0) | (
        0x40 if password is not None else 0)
    body = mstr("MQTT") + bytes([version, flags]) + struct.pack("!H", keepalive)
    if version == 5:
        body += varint(len(props)) + props
    body += mstr(client_id)
    if username is not None:
        body += mstr(username)
    if password is not None:
        body += mstr(password)
    return packet(0x10, body)


def subscribe_packet(packet_id, topic_filter, options=1, version=4):
    body = struct.pack("!H", packet_id) + (varint(0) if version == 5 else b"")
    return packet(0x82, body + mstr(topic_filter) + bytes([options]))


def publish_packet(topic, payload, qos=0, packet_id=1, version=4, props=b"", retain=False,
                   dup=False):
    body = mstr(topic) + (struct.pack("!H", packet_id) if qos else b"")
    if version == 5:
        body += varint(len(props)) + props
    return packet(0x30 | (0x08 if dup else 0) | (qos << 1) | (1 if retain else 0), body + payload)


def ack_packet(kind, packet_id):
    """kind: 0x40 PUBACK, 0x50 PUBREC, 0x62 PUBREL, 0x70 PUBCOMP."""
    return packet(kind, struct.pack("!H", packet_id))


def parse_publish(first, body, version=4):
    """Returns dict(topic, qos, dup, retain, packet_id, props (raw bytes), payload)."""
    n = struct.unpack("!H", body[:2])[0]
    topic, pos = body[2:2 + n].decode(), 2 + n
    qos = (first >> 1) & 3
    pid = None
    if qos:
        pid = struct.unpack("!H", body[pos:pos + 2])[0]
        pos += 2
    props = b""
    if version == 5:
        plen, mult = 0, 1
        while True:
            b = body[pos]
            pos += 1
            plen += (b & 0x7F) * mult
            mult *= 128
            if not b & 0x80:
                break
        props, pos = body[pos:pos + plen], pos + plen
    return dict(topic=topic, qos=qos, dup=bool(first & 0x08), retain=bool(first & 1),
                packet_id=pid, props=props, payload=body[pos:])


class Raw:
    """A bare TCP MQTT connection for what paho cannot send or observe."""

    def __init__(self, port, host="127.0.0.1", tls_context=None):
        self.s = socket.create_connection((host, port), timeout=TIMEOUT)
        if tls_context is not None:
            self.s = tls_context.wrap_socket(self.s, server_hostname=host)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def read_packet(self, timeout=TIMEOUT):
        """Returns (first_byte, body), or None when the server closed the connection."""
        self.s.settimeout(timeout)
        while True:
            if len(self.buf) >= 2:
                n, mult, i = 0, 1, 1
                while i < len(self.buf):
                    b = self.buf[i]
                    n += (b & 0x7F) * mult
                    mult *= 128
                    i += 1
                    if not b & 0x80:
                        if len(self.buf) >= i + n:
                            pkt = (self.buf[0], self.buf[i:i + n])
                            self.buf = self.buf[i + n:]
                            return pkt
                        break
            try:
                data = self.s.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                return None  # a reset or a TLS alert (e.g. certificate required) ends it too
            except socket.timeout:
                raise TestFailure("timed out waiting for a packet from the broker")
            if not data:
                return None
            self.buf += data

    def wait_closed(self, timeout=TIMEOUT):
        """Reads until the server closes; returns the packets it sent before closing."""
        got = []
        while True:
            p = self.read_packet(timeout)
            if p is None:
                return got
            got.append(p)

    def close(self):
        self.s.close()


def raw_connected(port, cid, version=4, keepalive=60, props=b"", clean=True):
    """A Raw connection that has sent CONNECT and got a successful CONNACK: (raw, connack)."""
    r = Raw(port)
    r.send(connect_packet(cid, version=version, keepalive=keepalive, props=props, clean=clean))
    ack = r.read_packet()
    check(ack is not None and ack[0] == 0x20, f"CONNACK for {cid}, got {ack}")
    check_eq(ack[1][1], 0, f"CONNACK reason for {cid}")
    return r, ack


# ---- running ---------------------------------------------------------------------------------

def main(tests):
    global VERGE
    if len(sys.argv) < 2:
        print(f"usage: {sys.argv[0]} PATH-TO-verge [TEST-NAME...]", file=sys.stderr)
        sys.exit(2)
    VERGE = os.path.abspath(sys.argv[1])
    only = set(sys.argv[2:])
    failed = []
    for t in tests:
        if only and t.__name__ not in only:
            continue
        start = time.monotonic()
        Verge.last = None
        try:
            t()
            print(f"PASS {t.__name__} ({time.monotonic() - start:.1f}s)", flush=True)
        except Exception:
            failed.append(t.__name__)
            print(f"FAIL {t.__name__} ({time.monotonic() - start:.1f}s)", flush=True)
            traceback.print_exc()
            if Verge.last is not None:
                tail = Verge.last.log().splitlines()[-25:]
                print("---- last lines of the verge log ----\n" + "\n".join(tail))
            sys.stdout.flush()
    if failed:
        print(f"{len(failed)} failed: {', '.join(failed)}")
        sys.exit(1)
    print("all passed")
