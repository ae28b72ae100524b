#!/usr/bin/python3
"""Broker persistence under crashes: `verge edge` is killed with SIGKILL at random moments while a
publisher sends QoS 1 to persistent subscriptions; every message the broker acknowledged must
reach every persistent subscriber afterwards. Also retained messages across kill -9 and queued
messages across a clean restart.

The random kill moments come from random.Random(seed); the seed is printed and can be set with
VERGE_CRASH_SEED=<n> to replay a run. VERGE_CRASH_KILLS sets the number of kills (default 20).
"""
import os
import random
import threading
import time

from harness import MQTTv311, MQTTv5, TIMEOUT, Client, Verge, check, check_eq, main

# The queue limit drops the oldest messages of a session by design; the test is about crashes,
# so it must never be reached.
BROKER_ARGS = ["--max-queued-messages", "10000000"]
WINDOW = 100  # publishes the publisher may have outstanding (sent, not PUBACKed)


class Subscriber:
    """A persistent subscriber that records every message number it receives and on which of its
    connections. Its session is created (and subscribed) once; later connections must find it
    present."""

    def __init__(self, name, protocol):
        self.name, self.protocol = name, protocol
        self.extra = {"session_expiry": 3600} if protocol == MQTTv5 else {}
        self.deliveries = {}  # message number -> [connection number of each delivery]
        self.dup_flagged = 0  # deliveries with the DUP flag set (redeliveries)
        self.foreign = []  # payloads that are no message number of ours
        self.lock = threading.Condition()
        self.client = None
        self.connections = 0

    def _on_message(self, c, u, m):
        # paho sends the PUBACK after this callback returns, so whatever the broker sees as
        # delivered is recorded here first.
        with self.lock:
            try:
                n = int(m.payload)
            except ValueError:
                self.foreign.append(m.payload)
                return
            self.deliveries.setdefault(n, []).append(self.connections)
            self.dup_flagged += 1 if m.dup else 0
            self.lock.notify_all()

    def connect(self, port):
        first = self.connections == 0
        # v3.1.1: clean session 0 from the start; v5: clean start once, then resume.
        clean = first if self.protocol == MQTTv5 else False
        c = Client(port, self.name, self.protocol, clean=clean, connect=False, **self.extra)
        c.c.on_message = self._on_message
        with self.lock:
            self.connections += 1
        c.connect()
        self.client = c
        if first:
            c.subscribe("crash/#", 1)
        else:
            check(c.session_present, f"{self.name}: session present after restart "
                                     f"(connection {self.connections})")

    def disconnect(self):
        """A clean DISCONNECT; the session stays and queues."""
        if self.client is not None:
            self.client.disconnect()
            self.client = None

    def dropped(self):
        """The broker is gone: stop the client's network thread."""
        if self.client is not None:
            self.client.c.loop_stop()
            self.client = None


class Publisher:
    """Publishes numbered QoS 1 messages from a thread; records which numbers were PUBACKed.
    After a broker crash the numbers sent but not acknowledged are published again first, as a
    client that resends does, so they may arrive twice."""

    def __init__(self):
        self.next = 0
        self.acked = set()
        self.sends = {}  # number -> times published
        self.resend = []  # numbers to publish again before new ones
        self.pending = {}  # mid -> number, on the current connection
        self.early = set()  # mids PUBACKed before publish() returned
        self.lock = threading.Condition()
        self.client = None
        self.thread = None
        self.conn_lost = False

    def start(self, port, new_numbers=True):
        """Connects and publishes: resends first, then new numbers until crashed(), or only the
        resends when new_numbers is False."""
        c = Client(port, "crash-pub", MQTTv311, connect=False)
        c.c.on_publish = self._on_publish
        c.c.on_disconnect = self._on_disconnect
        with self.lock:
            self.pending = {}
            self.early = set()
            self.conn_lost = False
        c.connect()
        self.client = c
        self.thread = threading.Thread(target=self._run, args=(new_numbers,), daemon=True)
        self.thread.start()

    def _on_publish(self, c, u, mid):
        with self.lock:
            n = self.pending.pop(mid, None)
            if n is not None:
                self.acked.add(n)
            else:
                self.early.add(mid)
            self.lock.notify_all()

    def _on_disconnect(self, c, u, rc, props=None):
        c.disconnect()  # no automatic reconnect by paho's loop
        with self.lock:
            self.conn_lost = True
            self.lock.notify_all()

    def _run(self, new_numbers):
        while True:
            with self.lock:
                self.lock.wait_for(lambda: self.conn_lost or len(self.pending) < WINDOW)
                if self.conn_lost or not (self.resend or new_numbers):
                    return
                if self.resend:
                    n = self.resend.pop(0)
                else:
                    n = self.next
                    self.next += 1
                self.sends[n] = self.sends.get(n, 0) + 1
            # Not under our lock: paho calls on_publish holding its own lock, which publish()
            # takes too. A publish on a connection that just died stays pending and is resent
            # next time.
            info = self.client.c.publish(f"crash/p{n % 4}", str(n).encode(), qos=1)
            with self.lock:
                if info.mid in self.early:
                    self.early.discard(info.mid)
                    self.acked.add(n)
                else:
                    self.pending[info.mid] = n

    def crashed(self):
        """The broker was killed: stop, and keep what was not acknowledged for resending."""
        with self.lock:
            self.conn_lost = True
            self.lock.notify_all()
        self.thread.join(timeout=TIMEOUT)
        check(not self.thread.is_alive(), "publisher thread did not stop")
        self.client.c.loop_stop()
        with self.lock:
            self.resend = sorted(set(self.pending.values()) | set(self.resend))
            self.pending = {}
        self.client = None

    def finish(self):
        """After start(new_numbers=False): waits until every resend is acknowledged."""
        self.thread.join(timeout=TIMEOUT)
        with self.lock:
            ok = self.lock.wait_for(lambda: not self.pending or self.conn_lost, timeout=TIMEOUT)
            left = len(self.pending)
        check(ok and not left, f"{left} publishes not acknowledged after the last restart")
        self.client.disconnect()
        self.client = None


def test_kill9_loop():
    seed = int(os.environ.get("VERGE_CRASH_SEED", random.SystemRandom().randrange(1 << 32)))
    kills_wanted = int(os.environ.get("VERGE_CRASH_KILLS", "20"))
    print(f"crash test seed {seed} (replay with VERGE_CRASH_SEED={seed})", flush=True)
    rng = random.Random(seed)
    start = time.monotonic()
    subs = [Subscriber("crash-sub-v311", MQTTv311), Subscriber("crash-sub-v5", MQTTv5)]
    pub = Publisher()
    kills = online_at_kill = offline_at_kill = 0
    with Verge(*BROKER_ARGS) as v:
        for s in subs:
            s.connect(v.mqtt)
        while kills < kills_wanted:
            # Each subscriber, independently: online through the kill, offline the whole time,
            # or online first and gone (clean DISCONNECT) before the kill.
            modes = {s.name: rng.choice(["online", "offline", "leaves"]) for s in subs}
            for s in subs:
                if modes[s.name] != "offline" and s.client is None:
                    s.connect(v.mqtt)
                elif modes[s.name] == "offline" and s.client is not None:
                    s.disconnect()
            pub.start(v.mqtt)
            # The random kill moment is the point of the test; everything else waits on events.
            delay = rng.uniform(0.05, 0.6)
            leave_at = rng.uniform(0, delay)
            threading.Event().wait(leave_at)
            for s in subs:
                if modes[s.name] == "leaves":
                    s.disconnect()
            threading.Event().wait(delay - leave_at)
            v.kill9()
            kills += 1
            for s in subs:
                online_at_kill += s.client is not None
                offline_at_kill += s.client is None
                s.dropped()
            pub.crashed()
            v.start()

        # Drain: the publisher resends what the last crash left unacknowledged; then everything
        # ever published is acknowledged and must reach both subscribers.
        pub.start(v.mqtt, new_numbers=False)
        pub.finish()
        check_eq(pub.acked, set(range(pub.next)), "acknowledged numbers after the drain")
        for s in subs:
            if s.client is None:
                s.connect(v.mqtt)
        for s in subs:
            with s.lock:
                ok = s.lock.wait_for(lambda: pub.acked <= set(s.deliveries), timeout=30)
                missing = sorted(pub.acked - set(s.deliveries))
            check(ok, f"{s.name}: {len(missing)} acknowledged messages never delivered, "
                      f"e.g. {missing[:20]} (seed {seed})")
        for s in subs:
            s.disconnect()

    elapsed = time.monotonic() - start
    published = sum(pub.sends.values())
    print(f"kills {kills} (subscribers online at the kill {online_at_kill}, offline "
          f"{offline_at_kill}); published {published} ({pub.next} distinct, "
          f"{published - pub.next} resent after a crash); acked {len(pub.acked)}; "
          f"elapsed {elapsed:.1f}s", flush=True)
    for s in subs:
        received = sum(len(d) for d in s.deliveries.values())
        print(f"  {s.name}: received {received} ({len(s.deliveries)} distinct), duplicates "
              f"{received - len(s.deliveries)} (DUP flag on {s.dup_flagged}), connections "
              f"{s.connections}", flush=True)
        check(not s.foreign, f"{s.name}: payloads that were never published: {s.foreign[:5]}")
        unknown = set(s.deliveries) - set(pub.sends)
        check(not unknown, f"{s.name}: numbers never published: {sorted(unknown)[:10]}")
        # QoS 1 is at least once, and a second copy needs a reason: the publisher sent it again,
        # or the subscriber's connection (or the broker) went away before the PUBACK was
        # stored, so it came again on a later connection. Twice on one connection of a message
        # published once is a bug.
        for n, conns in s.deliveries.items():
            if pub.sends[n] == 1:
                check(len(conns) == len(set(conns)),
                      f"{s.name}: message {n}, published once, delivered twice on one "
                      f"connection: connections {conns} (seed {seed})")


def test_retained_survives_kill9():
    with Verge(*BROKER_ARGS) as v:
        p = Client(v.mqtt, "ret-pub")
        p.publish("crash/retained/kept", b"kept-1", qos=1, retain=True)
        p.publish("crash/retained/kept", b"kept-2", qos=1, retain=True)  # replaces kept-1
        p.publish("crash/retained/gone", b"x", qos=1, retain=True)
        p.publish("crash/retained/gone", b"", qos=1, retain=True)  # deletes it
        v.kill9()
        p.c.loop_stop()
        v.start()
        s = Client(v.mqtt, "ret-sub")
        s.subscribe("crash/retained/#", 1)
        m = s.expect("crash/retained/kept")
        check_eq((m.payload, m.retain), (b"kept-2", True), "retained message after kill -9")
        s.subscribe("marker", 1)
        marker = Client(v.mqtt, "ret-marker")
        s.expect_none(marker, "marker")  # the deleted topic stays deleted
        s.disconnect()
        marker.disconnect()


def test_clean_restart_delivers_queued():
    with Verge(*BROKER_ARGS) as v:
        sub = Client(v.mqtt, "queued-sub", MQTTv311, clean=False)
        sub.subscribe("crash/q/#", 1)
        sub.disconnect()
        pub = Client(v.mqtt, "queued-pub")
        for i in range(50):
            pub.publish("crash/q/x", str(i).encode(), qos=1)
        pub.disconnect()
        v.stop()
        v.start()
        sub = Client(v.mqtt, "queued-sub", MQTTv311, clean=False)
        check(sub.session_present, "session present after a clean restart")
        got = [int(sub.expect("crash/q/x").payload) for _ in range(50)]
        check_eq(got, list(range(50)), "queued messages after a clean restart, in order")
        sub.disconnect()


if __name__ == "__main__":
    main([test_retained_survives_kill9, test_clean_restart_delivers_queued, test_kill9_loop])
