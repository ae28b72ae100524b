#!/usr/bin/python3
"""Sessions across restarts of `verge edge` on the same data dir: a v5 session with an expiry
keeps its subscriptions, outbound QoS 2 in flight resumes where it stopped, and sessions that
end with their connection (expiry 0, clean session) do not come back."""
import struct

from harness import (MQTTv311, MQTTv5, Client, TestFailure, Verge, ack_packet, check, check_eq,
                     main, parse_publish, raw_connected, subscribe_packet)

EXPIRY_300 = b"\x11" + struct.pack("!I", 300)  # CONNECT property: Session Expiry Interval


def restart(v, how):
    if how == "kill9":
        v.kill9()
    else:
        v.stop()
    v.start()


def session_keeps_subscriptions(how, connected):
    with Verge() as v:
        sub = Client(v.mqtt, "keeper", MQTTv5, clean=True, session_expiry=300)
        sub.subscribe("r/#", 1)  # granted QoS 1: a QoS 2 publish must arrive as QoS 1
        sub.subscribe("marker", 1)
        if connected:
            restart(v, how)
            sub.c.loop_stop()  # the connection died with the broker
        else:
            sub.disconnect()
            restart(v, how)
        sub = Client(v.mqtt, "keeper", MQTTv5, clean=False, session_expiry=300)
        check(sub.session_present, f"session present after {how}")
        pub = Client(v.mqtt, "pub", MQTTv5)
        pub.publish("r/1", b"after", qos=2)
        try:
            m = sub.expect("r/1")
        except TestFailure as e:
            raise TestFailure(f"the subscription (SUBACKed before the {how}) did not survive "
                              f"it although the session did: {e}")
        check_eq((m.payload, m.qos), (b"after", 1), "message through the restored subscription")
        sub.expect_none(pub, "marker")
        sub.disconnect()
        pub.disconnect()


def test_v5_session_subscriptions_survive_clean_restart():
    session_keeps_subscriptions("sigterm", connected=False)


def test_v5_session_subscriptions_survive_kill9():
    session_keeps_subscriptions("kill9", connected=False)


def test_v5_session_subscriptions_survive_kill9_while_connected():
    session_keeps_subscriptions("kill9", connected=True)


def test_v311_persistent_session_survives_kill9():
    with Verge() as v:
        sub = Client(v.mqtt, "keeper311", MQTTv311, clean=False)
        sub.subscribe("r/#", 1)
        sub.disconnect()
        pub = Client(v.mqtt, "pub")
        pub.publish("r/queued", b"q", qos=1)  # PUBACKed while the subscriber is away
        v.kill9()
        pub.c.loop_stop()
        v.start()
        sub = Client(v.mqtt, "keeper311", MQTTv311, clean=False)
        check(sub.session_present, "v3.1.1 session present after kill -9")
        check_eq(sub.expect("r/queued").payload, b"q", "queued message after kill -9")
        sub.disconnect()


def expect_packets(raw, n):
    got = []
    for _ in range(n):
        p = raw.read_packet()
        check(p is not None, f"connection closed after {len(got)} of {n} packets: {got}")
        got.append(p)
    return got


def test_qos2_outbound_in_flight_across_clean_restart():
    with Verge() as v:
        sub, _ = raw_connected(v.mqtt, "q2sub", version=5, props=EXPIRY_300, clean=True)
        sub.send(subscribe_packet(1, "q2/#", options=2, version=5))
        suback = sub.read_packet()
        check_eq((suback[0], suback[1][-1]), (0x90, 2), "SUBACK granting QoS 2")
        pub = Client(v.mqtt, "q2pub", MQTTv5)

        # "one": sent to the subscriber, never PUBRECed (in flight as PUBLISH).
        pub.publish("q2/one", b"one", qos=2)
        (first, body), = expect_packets(sub, 1)
        one = parse_publish(first, body, version=5)
        check_eq((one["payload"], one["qos"]), (b"one", 2), "first delivery")
        # "two": PUBRECed, the broker answered PUBREL, never PUBCOMPed (in flight as PUBREL).
        pub.publish("q2/two", b"two", qos=2)
        (first, body), = expect_packets(sub, 1)
        two = parse_publish(first, body, version=5)
        check_eq((two["payload"], two["qos"]), (b"two", 2), "second delivery")
        sub.send(ack_packet(0x50, two["packet_id"]))
        check_eq(expect_packets(sub, 1)[0][0], 0x62, "PUBREL for two")
        sub.close()
        pub.disconnect()

        v.stop()
        v.start()
        sub, ack = raw_connected(v.mqtt, "q2sub", version=5, props=EXPIRY_300, clean=False)
        check_eq(ack[1][0] & 1, 1, "session present after restart")
        # Resent in the original order: PUBLISH one (DUP, same packet id), then PUBREL two.
        (f1, b1), (f2, b2) = expect_packets(sub, 2)
        again = parse_publish(f1, b1, version=5)
        check_eq((again["payload"], again["qos"], again["dup"], again["packet_id"]),
                 (b"one", 2, True, one["packet_id"]), "PUBLISH one resent after restart")
        check_eq((f2, struct.unpack("!H", b2[:2])[0]), (0x62, two["packet_id"]),
                 "PUBREL two resent after restart")
        sub.send(ack_packet(0x70, two["packet_id"]))
        sub.send(ack_packet(0x50, one["packet_id"]))
        (f3, b3), = expect_packets(sub, 1)
        check_eq((f3, struct.unpack("!H", b3[:2])[0]), (0x62, one["packet_id"]), "PUBREL one")
        sub.send(ack_packet(0x70, one["packet_id"]))
        # Nothing else is owed: the next packet is a marker published now (QoS 0, no acks).
        pub = Client(v.mqtt, "q2pub", MQTTv5)
        pub.publish("q2/marker", b"m", qos=0)
        (f4, b4), = expect_packets(sub, 1)
        check_eq(parse_publish(f4, b4, version=5)["topic"], "q2/marker", "next packet")
        sub.close()
        pub.disconnect()


def test_qos2_outbound_unacked_redelivered_after_kill9():
    with Verge() as v:
        sub, _ = raw_connected(v.mqtt, "q2sub", version=5, props=EXPIRY_300, clean=True)
        sub.send(subscribe_packet(1, "q2/#", options=2, version=5))
        check_eq(sub.read_packet()[0], 0x90, "SUBACK")
        pub = Client(v.mqtt, "q2pub", MQTTv5)
        pub.publish("q2/one", b"one", qos=2)  # PUBREC (and PUBCOMP) to the publisher: promised
        (first, body), = expect_packets(sub, 1)
        check_eq(parse_publish(first, body, version=5)["payload"], b"one", "first delivery")
        v.kill9()
        sub.close()
        pub.c.loop_stop()
        v.start()
        sub, ack = raw_connected(v.mqtt, "q2sub", version=5, props=EXPIRY_300, clean=False)
        check_eq(ack[1][0] & 1, 1, "session present after kill -9")
        (first, body), = expect_packets(sub, 1)
        again = parse_publish(first, body, version=5)
        check_eq((again["payload"], again["qos"]), (b"one", 2), "redelivered after kill -9")
        sub.send(ack_packet(0x50, again["packet_id"]))
        (f, b), = expect_packets(sub, 1)
        check_eq((f, struct.unpack("!H", b[:2])[0]), (0x62, again["packet_id"]), "PUBREL")
        sub.send(ack_packet(0x70, again["packet_id"]))
        sub.close()


def sessions_that_end_with_their_connection(how):
    with Verge() as v:
        # Connected when the broker stops: their sessions end with the connection either way.
        v5 = Client(v.mqtt, "gone5", MQTTv5, clean=True)  # no Session Expiry Interval: 0
        v5.subscribe("z/#", 1)
        v311 = Client(v.mqtt, "gone311", MQTTv311, clean=True)
        v311.subscribe("z/#", 1)
        restart(v, how)
        v5.c.loop_stop()
        v311.c.loop_stop()
        v5 = Client(v.mqtt, "gone5", MQTTv5, clean=False, session_expiry=300)
        check(not v5.session_present, f"v5 session with expiry 0 after {how}: not present")
        v311 = Client(v.mqtt, "gone311", MQTTv311, clean=False)
        check(not v311.session_present, f"v3.1.1 clean session after {how}: not present")
        for c in (v5, v311):
            c.subscribe("marker", 1)
        pub = Client(v.mqtt, "pub")
        pub.publish("z/1", b"nobody", qos=1)
        # Neither has a z/# subscription any more: the marker is the next message.
        v5.expect_none(pub, "marker")
        check_eq(v311.expect().topic, "marker", "v3.1.1: next message")
        for c in (v5, v311, pub):
            c.disconnect()


def test_expiry_zero_sessions_do_not_survive_clean_restart():
    sessions_that_end_with_their_connection("sigterm")


def test_expiry_zero_sessions_do_not_survive_kill9():
    sessions_that_end_with_their_connection("kill9")


if __name__ == "__main__":
    main([test_v5_session_subscriptions_survive_clean_restart,
          test_v5_session_subscriptions_survive_kill9,
          test_v5_session_subscriptions_survive_kill9_while_connected,
          test_v311_persistent_session_survives_kill9,
          test_qos2_outbound_in_flight_across_clean_restart,
          test_qos2_outbound_unacked_redelivered_after_kill9,
          test_expiry_zero_sessions_do_not_survive_clean_restart,
          test_expiry_zero_sessions_do_not_survive_kill9])
