#!/usr/bin/python3
"""QoS 0/1/2 in both directions and retained messages, with paho over MQTT 3.1.1 and 5."""
import paho.mqtt.client as paho

from harness import MQTTv311, MQTTv5, Client, Verge, check, check_eq, main


def qos_matrix(protocol):
    with Verge() as v:
        sub = Client(v.mqtt, f"sub-{protocol}", protocol)
        pub = Client(v.mqtt, f"pub-{protocol}", protocol)
        for sub_qos in (0, 1, 2):
            sub.subscribe(f"q/{sub_qos}/#", sub_qos)
        for sub_qos in (0, 1, 2):
            for pub_qos in (0, 1, 2):
                topic = f"q/{sub_qos}/from{pub_qos}"
                payload = f"s{sub_qos}p{pub_qos}".encode()
                pub.publish(topic, payload, qos=pub_qos)
                m = sub.expect(topic)
                check_eq(m.payload, payload, f"payload on {topic}")
                # Delivered QoS = min(publish QoS, subscription QoS).
                check_eq(m.qos, min(sub_qos, pub_qos), f"delivered QoS on {topic}")
                check_eq(m.retain, False, f"retain flag of a live message on {topic}")
        received = v.metric("verge_mqtt_messages_received_total")
        check(received >= 9, f"messages_received_total {received} < 9")
        sub.disconnect()
        pub.disconnect()


def test_qos_v311():
    qos_matrix(MQTTv311)


def test_qos_v5():
    qos_matrix(MQTTv5)


def retained(protocol):
    with Verge("--sys-interval", 0) as v:  # no $SYS retained messages in the gauge
        pub = Client(v.mqtt, "rpub", protocol)
        pub.publish("r/a", b"A", qos=1, retain=True)
        pub.publish("r/b", b"B", qos=2, retain=True)
        pub.publish("r/a", b"A2", qos=1, retain=True)  # replaces the first

        sub = Client(v.mqtt, "rsub", protocol)
        sub.subscribe("r/#", 1)
        got = {}
        for _ in range(2):
            m = sub.expect()
            check_eq(m.retain, True, f"retain flag of retained {m.topic}")
            got[m.topic] = m.payload
        check_eq(got, {"r/a": b"A2", "r/b": b"B"}, "retained messages on subscribe")

        # A live message to a subscriber is not flagged retained, though it is stored.
        pub.publish("r/c", b"C", qos=1, retain=True)
        m = sub.expect("r/c")
        check_eq(m.retain, False, "retain flag on a live delivery (no retain-as-published)")

        # Clear r/a with an empty retained payload.
        pub.publish("r/a", b"", qos=1, retain=True)
        check_eq(sub.expect("r/a").payload, b"", "clearing message forwarded")
        sub.disconnect()

        sub2 = Client(v.mqtt, "rsub2", protocol)
        sub2.subscribe("r/#", 1)
        got = {}
        for _ in range(2):
            m = sub2.expect()
            got[m.topic] = m.payload
        check_eq(got, {"r/b": b"B", "r/c": b"C"}, "retained after clearing r/a")
        sub2.subscribe("marker", 1)
        sub2.expect_none(pub, "marker")  # r/a must not arrive
        check_eq(v.metric("verge_mqtt_retained_messages"), 2.0, "retained gauge")
        sub2.disconnect()
        pub.disconnect()


def test_retained_v311():
    retained(MQTTv311)


def test_retained_v5():
    retained(MQTTv5)


def test_v5_retain_handling_and_rap():
    with Verge() as v:
        pub = Client(v.mqtt, "pub", MQTTv5)
        pub.publish("rh/x", b"kept", qos=1, retain=True)
        sub = Client(v.mqtt, "sub", MQTTv5)
        # Retain handling 2: no retained messages on subscribe.
        sub.subscribe("rh/#", options=paho.SubscribeOptions(qos=1, retainHandling=2))
        sub.subscribe("marker", 1)
        sub.expect_none(pub, "marker")
        # Retain handling 1: only for a new subscription. Re-subscribing rh/# is not new.
        sub.subscribe("rh/#", options=paho.SubscribeOptions(qos=1, retainHandling=1))
        sub.expect_none(pub, "marker")
        sub.subscribe("rh/+", options=paho.SubscribeOptions(qos=1, retainHandling=1))
        m = sub.expect("rh/x")
        check_eq((m.payload, m.retain), (b"kept", True), "retain handling 1 on a new subscription")
        sub.disconnect()

        # Retain as published: live retained messages keep RETAIN=1 only with RAP set.
        rap = Client(v.mqtt, "rap", MQTTv5)
        rap.subscribe("rap/yes", options=paho.SubscribeOptions(qos=1, retainAsPublished=True))
        rap.subscribe("rap/no", options=paho.SubscribeOptions(qos=1, retainAsPublished=False))
        pub.publish("rap/yes", b"1", qos=1, retain=True)
        check_eq(rap.expect("rap/yes").retain, True, "RETAIN with retain-as-published")
        pub.publish("rap/no", b"2", qos=1, retain=True)
        check_eq(rap.expect("rap/no").retain, False, "RETAIN without retain-as-published")
        rap.disconnect()
        pub.disconnect()


if __name__ == "__main__":
    main([test_qos_v311, test_qos_v5, test_retained_v311, test_retained_v5,
          test_v5_retain_handling_and_rap])
