#!/usr/bin/python3
"""Delivery guarantees seen on the wire with raw clients: the client's Receive Maximum,
redelivery with DUP after a reconnect, QoS 2 exchange resumption, topic aliases out of range
the per-client publish rate limit and the bounded outbound queue of a slow subscriber."""
import struct
import time

from harness import (MQTTv5, MQTTv311, Client, Verge, check, check_eq, ack_packet, main,
                     parse_publish, publish_packet, raw_connected, subscribe_packet)


def read_publish(r, version):
    p = r.read_packet()
    check(p is not None and p[0] >> 4 == 3, f"expected PUBLISH, got {p}")
    return parse_publish(p[0], p[1], version)


def test_receive_maximum():
    with Verge() as v:
        props = bytes([0x21]) + struct.pack("!H", 2)  # Receive Maximum 2
        r, _ = raw_connected(v.mqtt, "slow", 5, props=props)
        r.send(subscribe_packet(1, "rm/#", options=1, version=5))
        check_eq(r.read_packet()[0], 0x90, "SUBACK")
        pub = Client(v.mqtt, "pub", MQTTv5)
        for i in range(5):
            pub.publish(f"rm/{i}", str(i).encode(), qos=1)
        pub.publish("rm/marker", b"m", qos=0)  # QoS 0 is outside the receive window
        got = [read_publish(r, 5) for _ in range(3)]
        check_eq([(g["topic"], g["qos"]) for g in got],
                 [("rm/0", 1), ("rm/1", 1), ("rm/marker", 0)],
                 "only 2 unacknowledged QoS 1 messages before the QoS 0 marker")
        r.send(ack_packet(0x40, got[0]["packet_id"]))
        nxt = read_publish(r, 5)
        check_eq(nxt["topic"], "rm/2", "one more after one PUBACK")
        r.send(ack_packet(0x40, got[1]["packet_id"]) + ack_packet(0x40, nxt["packet_id"]))
        rest = [read_publish(r, 5)["topic"] for _ in range(2)]
        check_eq(rest, ["rm/3", "rm/4"], "the rest after more PUBACKs")
        r.close()
        pub.disconnect()


def redelivery(version):
    with Verge() as v:
        extra = bytes([0x11]) + struct.pack("!I", 300) if version == 5 else b""
        r, _ = raw_connected(v.mqtt, "flaky", version, props=extra, clean=False)
        r.send(subscribe_packet(1, "rd/#", options=2, version=version))
        check_eq(r.read_packet()[0], 0x90, "SUBACK")
        pub = Client(v.mqtt, "pub", MQTTv311)
        pub.publish("rd/q1", b"one", qos=1)
        pub.publish("rd/q2", b"two", qos=2)
        pub.publish("rd/q2b", b"three", qos=2)
        first = [read_publish(r, version) for _ in range(3)]
        check_eq([(f["topic"], f["dup"]) for f in first],
                 [("rd/q1", False), ("rd/q2", False), ("rd/q2b", False)], "first delivery")
        # Acknowledge only the PUBREC of rd/q2, then drop the connection.
        r.send(ack_packet(0x50, first[1]["packet_id"]))
        rel = r.read_packet()
        check(rel is not None and rel[0] == 0x62, f"PUBREL for rd/q2, got {rel}")
        check_eq(rel[1][:2], struct.pack("!H", first[1]["packet_id"]), "PUBREL packet id")
        r.close()

        r, ack = raw_connected(v.mqtt, "flaky", version, props=extra, clean=False)
        check_eq(ack[1][0] & 1, 1, "session present")
        # Spec 4.4: resend unacknowledged PUBLISH (DUP=1, same id) and PUBREL, in order.
        again = []
        for _ in range(3):
            p = r.read_packet()
            check(p is not None, "redelivery after reconnect")
            again.append(p)
        pub1 = parse_publish(again[0][0], again[0][1], version)
        check_eq((pub1["topic"], pub1["dup"], pub1["packet_id"]),
                 ("rd/q1", True, first[0]["packet_id"]), "QoS 1 redelivered with DUP")
        check_eq(again[1][0], 0x62, "PUBREL resent for the PUBREC'd message")
        pub3 = parse_publish(again[2][0], again[2][1], version)
        check_eq((pub3["topic"], pub3["dup"], pub3["packet_id"]),
                 ("rd/q2b", True, first[2]["packet_id"]), "QoS 2 redelivered with DUP")
        r.send(ack_packet(0x40, pub1["packet_id"]))
        r.send(ack_packet(0x70, first[1]["packet_id"]))
        r.send(ack_packet(0x50, pub3["packet_id"]))
        check_eq(r.read_packet()[0], 0x62, "PUBREL for rd/q2b")
        r.send(ack_packet(0x70, pub3["packet_id"]))
        # Nothing is left in flight: a new message comes next, not a repeat.
        pub.publish("rd/after", b"x", qos=1)
        check_eq(read_publish(r, version)["topic"], "rd/after", "nothing resent again")
        r.close()
        pub.disconnect()


def test_redelivery_v311():
    redelivery(4)


def test_redelivery_v5():
    redelivery(5)


def test_topic_alias_out_of_range():
    with Verge("--max-topic-alias", 4) as v:
        r, ack = raw_connected(v.mqtt, "alias", 5)
        check(bytes([0x22, 0, 4]) in ack[1], "CONNACK announces Topic Alias Maximum 4")
        r.send(publish_packet("", b"x", qos=0, version=5, props=bytes([0x23, 0, 1])))
        got = r.wait_closed()
        check_eq([(p[0], p[1][:1]) for p in got], [(0xE0, b"\x82")],
                 "unknown alias: DISCONNECT protocol error (0x82)")
        r, _ = raw_connected(v.mqtt, "alias2", 5)
        r.send(publish_packet("a/b", b"x", qos=0, version=5, props=bytes([0x23, 0, 5])))
        got = r.wait_closed()
        check_eq([(p[0], p[1][:1]) for p in got], [(0xE0, b"\x94")],
                 "alias above the maximum: DISCONNECT topic alias invalid (0x94)")


def test_publish_rate_limit():
    with Verge("--max-publish-rate", 20) as v:
        sub = Client(v.mqtt, "sub", MQTTv311)
        sub.subscribe("rate/#", 1)
        pub = Client(v.mqtt, "pub", MQTTv311)
        n = 60
        t0 = time.monotonic()
        for i in range(n):
            pub.publish(f"rate/{i}", b"x", qos=1)
        elapsed = time.monotonic() - t0
        got = sorted(int(sub.expect().topic.split("/")[1]) for _ in range(n))
        check_eq(got, list(range(n)), "rate limiting delays, never drops")
        check(elapsed >= 1.5, f"60 publishes at 20/s took only {elapsed:.2f}s")
        check(v.metric("verge_mqtt_denied_total", reason="publish_rate") >= 1,
              "publish_rate counter")
        sub.disconnect()
        pub.disconnect()


def test_client_maximum_packet_size():
    with Verge() as v:
        props = bytes([0x27]) + struct.pack("!I", 100)  # Maximum Packet Size 100
        r, _ = raw_connected(v.mqtt, "small", 5, props=props)
        r.send(subscribe_packet(1, "mps/#", options=1, version=5))
        check_eq(r.read_packet()[0], 0x90, "SUBACK")
        pub = Client(v.mqtt, "pub", MQTTv5)
        pub.publish("mps/big", b"b" * 200, qos=1)
        pub.publish("mps/small", b"s", qos=1)
        p = read_publish(r, 5)
        check_eq((p["topic"], p["payload"]), ("mps/small", b"s"),
                 "a packet above the client's maximum is not sent")
        check_eq(v.metric("verge_mqtt_dropped_messages_total", reason="too_large"), 1.0,
                 "too_large counter")
        r.close()
        pub.disconnect()


def test_slow_subscriber_is_bounded():
    """A subscriber that stops reading costs at most max-outbound-bytes (plus kernel buffers):
    further QoS 0 messages to it are dropped and counted, and a subscriber that reads still gets
    every message."""
    with Verge("--max-outbound-bytes", 65536, "--max-queued-messages", 10000) as v:
        slow, _ = raw_connected(v.mqtt, "slow", 4)
        slow.send(subscribe_packet(1, "bulk/#", options=0, version=4))
        check_eq(slow.read_packet()[0], 0x90, "SUBACK")  # and then it never reads again
        fast = Client(v.mqtt, "fast", MQTTv311)
        fast.subscribe("bulk/#", 1)  # QoS 1: queued for it, never dropped (the control)
        pub = Client(v.mqtt, "pub", MQTTv311)
        n, size = 4000, 4096  # 16 MB, far more than the socket buffers and the 64 KiB queue
        for i in range(n):  # QoS 1 in, downgraded to QoS 0 for the stalled subscriber
            pub.publish(f"bulk/{i}", b"x" * size, qos=1, wait=False)
        got = 0
        for _ in range(n):
            fast.expect(timeout=30)
            got += 1
        check_eq(got, n, "the reading subscriber gets every message")
        dropped = v.metric("verge_mqtt_dropped_messages_total", reason="outbound_full")
        # Without the bound nothing would be dropped: the broker would keep all 16 MB for it.
        check(dropped > n / 2, f"most messages to the stalled subscriber are dropped: {dropped}")
        slow.close()
        fast.disconnect()
        pub.disconnect()


if __name__ == "__main__":
    main([test_receive_maximum, test_redelivery_v311, test_redelivery_v5,
          test_topic_alias_out_of_range, test_publish_rate_limit,
          test_client_maximum_packet_size, test_slow_subscriber_is_bounded])
