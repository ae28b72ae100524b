#!/usr/bin/python3
"""Wills, persistent sessions and session takeover, with paho over MQTT 3.1.1 and 5."""
from paho.mqtt.packettypes import PacketTypes

from harness import (MQTTv311, MQTTv5, Client, Verge, check, check_eq, main, v5props,
                     wait_until)


def wills(protocol):
    with Verge() as v:
        watcher = Client(v.mqtt, "watcher", protocol)
        watcher.subscribe("will/#", 1)
        watcher.subscribe("marker", 1)
        marker = Client(v.mqtt, "marker", protocol)

        # Abnormal close (socket dropped without DISCONNECT): the will is published.
        dying = Client(v.mqtt, "dying", protocol,
                       will=dict(topic="will/dying", payload=b"gone", qos=1, retain=False))
        dying.kill_socket()
        m = watcher.expect("will/dying")
        check_eq((m.payload, m.qos), (b"gone", 1), "will message")

        # Normal DISCONNECT: no will.
        polite = Client(v.mqtt, "polite", protocol,
                        will=dict(topic="will/polite", payload=b"x", qos=1, retain=False))
        polite.disconnect()
        check_eq(polite.wait_disconnect()[0], 0, "disconnect code")
        watcher.expect_none(marker, "marker")
        check_eq(v.metric("verge_mqtt_wills_published_total"), 1.0, "wills published")
        watcher.disconnect()
        marker.disconnect()


def test_wills_v311():
    wills(MQTTv311)


def test_wills_v5():
    wills(MQTTv5)


def test_v5_will_delay_cancelled_by_reconnect():
    with Verge() as v:
        watcher = Client(v.mqtt, "watcher", MQTTv5)
        watcher.subscribe("will/#", 1)
        watcher.subscribe("marker", 1)
        marker = Client(v.mqtt, "marker", MQTTv5)

        def delayed(cid, delay):
            wp = v5props(PacketTypes.WILLMESSAGE, WillDelayInterval=delay)
            return Client(v.mqtt, cid, MQTTv5, clean=True, session_expiry=60,
                          will=dict(topic=f"will/{cid}", payload=cid.encode(), qos=1,
                                    properties=wp))

        # "quick" has a 1 s will delay and comes back at once: its will is cancelled.
        quick = delayed("quick", 1)
        quick.kill_socket()
        again = Client(v.mqtt, "quick", MQTTv5, clean=False, session_expiry=60)
        check(again.session_present, "reconnect within the will delay: session present")
        # "slow" (3 s delay) is killed after quick and never returns; when its will arrives,
        # quick's (due at least 2 s earlier) would have been delivered first had it not been
        # cancelled.
        slow = delayed("slow", 3)
        slow.kill_socket()
        m = watcher.expect(timeout=15)
        check_eq((m.topic, m.payload), ("will/slow", b"slow"), "first will after the delays")
        watcher.expect_none(marker, "marker")
        check_eq(v.metric("verge_mqtt_wills_published_total"), 1.0, "wills published")
        again.disconnect()
        watcher.disconnect()
        marker.disconnect()


def persistent(protocol):
    with Verge() as v:
        extra = {"session_expiry": 300} if protocol == MQTTv5 else {}
        sub = Client(v.mqtt, "persist", protocol, clean=False, **extra)
        check(not sub.session_present, "first connect: no session present")
        sub.subscribe("p/#", 2)
        sub.disconnect()

        pub = Client(v.mqtt, "pub", protocol)
        pub.publish("p/q0", b"dropped", qos=0)  # QoS 0 is not queued for offline sessions
        sent = [(f"p/{i}", f"m{i}".encode(), 1 + i % 2) for i in range(6)]
        for topic, payload, qos in sent:
            pub.publish(topic, payload, qos=qos)

        back = Client(v.mqtt, "persist", protocol, clean=False, **extra)
        check(back.session_present, "reconnect: session present")
        got = [(m.topic, m.payload, m.qos) for m in (back.expect() for _ in sent)]
        # paho hands QoS 2 messages over only at PUBREL, so compare the order per QoS level.
        for qos in (1, 2):
            check_eq([g for g in got if g[2] == qos], [s for s in sent if s[2] == qos],
                     f"QoS {qos} messages queued while offline, in order")
        back.subscribe("marker", 1)
        back.expect_none(pub, "marker")
        back.disconnect()

        # A clean session discards what was stored.
        fresh = Client(v.mqtt, "persist", protocol, clean=True)
        check(not fresh.session_present, "clean connect: no session present")
        fresh.disconnect()
        pub.disconnect()


def test_persistent_session_v311():
    persistent(MQTTv311)


def test_persistent_session_v5():
    persistent(MQTTv5)


def takeover(protocol):
    with Verge() as v:
        first = Client(v.mqtt, "same-id", protocol)
        first.subscribe("t/first", 1)
        second = Client(v.mqtt, "same-id", protocol)
        rc, _ = first.wait_disconnect()
        if protocol == MQTTv5:
            check_eq(rc, 0x8E, "v5 DISCONNECT reason for the taken-over client")
        else:
            check(rc != 0, "v3.1.1 taken-over client saw an unexpected close")
        # The new connection works.
        second.subscribe("t/second", 1)
        second.publish("t/second", b"hi", qos=1)
        check_eq(second.expect("t/second").payload, b"hi", "message on the new connection")
        check_eq(v.metric("verge_mqtt_server_closes_total", reason="session_taken_over"), 1.0,
                 "takeover counter")
        second.disconnect()


def test_takeover_v311():
    takeover(MQTTv311)


def test_takeover_v5():
    takeover(MQTTv5)


def test_v5_session_expiry():
    with Verge() as v:
        c = Client(v.mqtt, "short", MQTTv5, session_expiry=1)
        c.subscribe("se/#", 1)
        c.disconnect()
        # Wait on the broker's own account of the expiry (a metric), not a fixed sleep.
        wait_until(lambda: v.metric("verge_mqtt_sessions_expired_total") >= 1, timeout=10,
                   what="the 1 s session to expire")
        back = Client(v.mqtt, "short", MQTTv5, clean=False, session_expiry=60)
        check(not back.session_present, "expired session is not present")
        pub = Client(v.mqtt, "pub", MQTTv5)
        back.subscribe("marker", 1)
        pub.publish("se/x", b"x", qos=1)  # the old subscription is gone with the session
        back.expect_none(pub, "marker")
        back.disconnect()
        pub.disconnect()


def test_offline_queue_limit():
    with Verge("--max-queued-messages", 3) as v:
        c = Client(v.mqtt, "queued", MQTTv311, clean=False)
        c.subscribe("ql/#", 1)
        c.disconnect()
        pub = Client(v.mqtt, "pub", MQTTv311)
        for i in range(5):
            pub.publish(f"ql/{i}", str(i).encode(), qos=1)
        back = Client(v.mqtt, "queued", MQTTv311, clean=False)
        got = [back.expect().topic for _ in range(3)]
        check_eq(got, ["ql/2", "ql/3", "ql/4"], "the oldest messages were dropped")
        back.subscribe("marker", 1)
        back.expect_none(pub, "marker")
        check_eq(v.metric("verge_mqtt_dropped_messages_total", reason="queue_full"), 2.0,
                 "queue_full counter")
        back.disconnect()
        pub.disconnect()


if __name__ == "__main__":
    main([test_wills_v311, test_wills_v5, test_v5_will_delay_cancelled_by_reconnect,
          test_persistent_session_v311, test_persistent_session_v5, test_takeover_v311,
          test_takeover_v5, test_v5_session_expiry, test_offline_queue_limit])
