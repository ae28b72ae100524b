#!/usr/bin/python3
"""MQTT 5 features through paho: no-local, subscription identifiers, shared subscriptions,
message expiry, request/response properties, assigned client identifiers; and $SYS."""
import queue
import time

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes

from harness import (MQTTv311, MQTTv5, Client, Raw, TestFailure, Verge, check, check_eq,
                     connect_packet, main, v5props)


def test_no_local():
    with Verge() as v:
        me = Client(v.mqtt, "me", MQTTv5)
        other = Client(v.mqtt, "other", MQTTv5)
        me.subscribe("nl/t", options=paho.SubscribeOptions(qos=1, noLocal=True))
        me.subscribe("marker", 1)
        other.subscribe("nl/t", 1)
        me.publish("nl/t", b"mine", qos=1)
        check_eq(other.expect("nl/t").payload, b"mine", "other subscriber gets the message")
        me.expect_none(other, "marker")  # not echoed to its publisher
        other.publish("nl/t", b"theirs", qos=1)
        check_eq(me.expect("nl/t").payload, b"theirs", "no-local still delivers others' messages")
        me.disconnect()
        other.disconnect()


def test_subscription_identifiers():
    with Verge() as v:
        c = Client(v.mqtt, "sid", MQTTv5)
        c.subscribe("sid/+", 1, props=v5props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=7))
        c.subscribe("sid/#", 1, props=v5props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=900))
        c.subscribe("other/#", 1)
        pub = Client(v.mqtt, "pub", MQTTv5)
        pub.publish("sid/a", b"1", qos=1)
        m = c.expect("sid/a")
        ids = getattr(m.properties, "SubscriptionIdentifier", [])
        check_eq(sorted(ids), [7, 900], "subscription identifiers of an overlapping match")
        pub.publish("sid/a/b", b"2", qos=1)
        m = c.expect("sid/a/b")
        check_eq(getattr(m.properties, "SubscriptionIdentifier", []), [900], "single identifier")
        pub.publish("other/x", b"3", qos=1)
        m = c.expect("other/x")
        check(not hasattr(m.properties, "SubscriptionIdentifier"),
              "no identifier for a subscription made without one")
        c.disconnect()
        pub.disconnect()


def test_shared_subscription():
    with Verge() as v:
        a = Client(v.mqtt, "shared-a", MQTTv5)
        b = Client(v.mqtt, "shared-b", MQTTv5)
        plain = Client(v.mqtt, "plain", MQTTv5)
        for c in (a, b):
            c.subscribe("$share/g/sh/#", 1)
        plain.subscribe("sh/#", 1)
        pub = Client(v.mqtt, "pub", MQTTv5)
        n = 40
        for i in range(n):
            pub.publish(f"sh/{i}", str(i).encode(), qos=1)
        got = {"a": [], "b": []}
        deadline = time.monotonic() + 10
        while len(got["a"]) + len(got["b"]) < n and time.monotonic() < deadline:
            for name, c in (("a", a), ("b", b)):
                try:
                    got[name].append(c.messages.get(timeout=0.05).payload)
                except queue.Empty:
                    pass
        total = sorted(int(p) for p in got["a"] + got["b"])
        check_eq(total, list(range(n)), "every message delivered once to the group")
        check(got["a"] and got["b"], f"both members got some: a={len(got['a'])} b={len(got['b'])}")
        # A non-shared subscriber still receives everything.
        check_eq(sorted(int(plain.expect().payload) for _ in range(n)), list(range(n)),
                 "plain subscriber gets all")
        for c in (a, b, plain, pub):
            c.disconnect()


def test_message_expiry():
    with Verge() as v:
        sub = Client(v.mqtt, "exp", MQTTv5, clean=True, session_expiry=300)
        sub.subscribe("exp/#", 1)
        sub.disconnect()
        pub = Client(v.mqtt, "pub", MQTTv5)
        pub.publish("exp/short", b"short", qos=1,
                    props=v5props(MessageExpiryInterval=1))
        pub.publish("exp/long", b"long", qos=1, props=v5props(MessageExpiryInterval=60))
        pub.publish("exp/none", b"none", qos=1)
        # The behaviour under test is the passing of time itself: let the 1 s expiry elapse.
        time.sleep(2.2)
        back = Client(v.mqtt, "exp", MQTTv5, clean=False, session_expiry=300)
        check(back.session_present, "session present")
        m = back.expect()
        check_eq(m.topic, "exp/long", "the expired message was not delivered")
        left = getattr(m.properties, "MessageExpiryInterval", None)
        check(left is not None and 55 <= left <= 59,
              f"forwarded expiry interval reduced by the waiting time, got {left}")
        m = back.expect("exp/none")
        check(not hasattr(m.properties, "MessageExpiryInterval"), "no expiry on exp/none")
        back.subscribe("marker", 1)
        back.expect_none(pub, "marker")
        check(v.metric("verge_mqtt_dropped_messages_total", reason="expired") >= 1,
              "expired counter")
        back.disconnect()
        pub.disconnect()


def test_request_response():
    with Verge() as v:
        responder = Client(v.mqtt, "responder", MQTTv5)
        requester = Client(v.mqtt, "requester", MQTTv5)
        responder.subscribe("svc/req", 1)
        requester.subscribe("svc/resp/requester", 1)
        props = v5props(ResponseTopic="svc/resp/requester", CorrelationData=b"\x00\x01corr",
                        ContentType="application/json", PayloadFormatIndicator=1)
        props.UserProperty = ("k1", "v1")
        props.UserProperty = ("k2", "v2")
        requester.publish("svc/req", b'{"op":1}', qos=1, props=props)
        req = responder.expect("svc/req")
        p = req.properties
        check_eq(p.ResponseTopic, "svc/resp/requester", "response topic")
        check_eq(p.CorrelationData, b"\x00\x01corr", "correlation data")
        check_eq(p.ContentType, "application/json", "content type")
        check_eq(p.PayloadFormatIndicator, 1, "payload format indicator")
        check_eq(list(p.UserProperty), [("k1", "v1"), ("k2", "v2")], "user properties in order")
        reply = v5props(CorrelationData=p.CorrelationData)
        responder.publish(p.ResponseTopic, b'{"ok":true}', qos=1, props=reply)
        r = requester.expect("svc/resp/requester")
        check_eq(r.properties.CorrelationData, b"\x00\x01corr", "correlation data of the reply")
        responder.disconnect()
        requester.disconnect()


def test_assigned_client_id():
    with Verge() as v:
        c = Client(v.mqtt, "", MQTTv5)
        assigned = getattr(c.connack[2], "AssignedClientIdentifier", None)
        check(assigned and len(assigned) >= 8, f"v5 assigned client id, got {assigned!r}")
        c.subscribe("aid", 1)
        c.publish("aid", b"x", qos=1)
        c.expect("aid")
        c.disconnect()
        # v3.1.1: an empty id with a clean session is accepted, without one it is refused (2).
        ok = Client(v.mqtt, "", MQTTv311, clean=True)
        ok.disconnect()
        raw = Raw(v.mqtt)
        raw.send(connect_packet("", version=4, clean=False))
        pkt = raw.read_packet()
        check(pkt is not None, "CONNACK for an empty id without clean session")
        check_eq((pkt[0], pkt[1]), (0x20, b"\x00\x02"), "v3.1.1 CONNACK identifier rejected")
        check_eq(raw.wait_closed(), [], "closed after the refusal")


def test_sys_topics():
    with Verge("--sys-interval", 1) as v:
        c = Client(v.mqtt, "sys", MQTTv311)
        c.subscribe("#", 0)  # must not match $SYS topics (spec 4.7.2)
        c.subscribe("$SYS/broker/#", 0)
        seen = {}
        # The retained values may predate this client; within a few intervals an update must
        # count it as connected.
        done = lambda: "$SYS/broker/version" in seen and int(
            seen.get("$SYS/broker/clients/connected", b"0")) >= 1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not done():
            try:
                m = c.messages.get(timeout=0.5)
            except queue.Empty:
                continue
            check(m.topic.startswith("$SYS/"), f"non-$SYS message {m.topic}")
            seen[m.topic] = m.payload
        check("$SYS/broker/version" in seen, f"$SYS version missing, got {sorted(seen)}")
        check(seen["$SYS/broker/version"].startswith(b"verge"), "version payload")
        check(done(), f"$SYS/broker/clients/connected never >= 1: {seen}")
        # Clients may not publish into $SYS.
        other = Client(v.mqtt, "other", MQTTv5)
        other.publish("$SYS/broker/version", b"fake", qos=1)
        m = wait_sys_version(c)
        check(m.payload != b"fake", "a client's $SYS publish was routed")
        other.disconnect()
        c.disconnect()


def wait_sys_version(c):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            m = c.messages.get(timeout=0.5)
        except queue.Empty:
            continue
        if m.topic == "$SYS/broker/version":
            return m
    raise TestFailure("no further $SYS/broker/version update")


if __name__ == "__main__":
    main([test_no_local, test_subscription_identifiers, test_shared_subscription,
          test_message_expiry, test_request_response, test_assigned_client_id, test_sys_topics])
