#!/usr/bin/python3
"""Bad input over raw sockets: malformed packets, an unsupported authentication method,
keepalive timeouts and the maximum packet size. Other clients must be unaffected."""
import time

from harness import (MQTTv5, MQTTv311, Client, Raw, Verge, check, check_eq, connect_packet,
                     main, mstr, publish_packet, raw_connected)


def test_malformed_remaining_length():
    with Verge() as v:
        good = Client(v.mqtt, "good", MQTTv311)
        good.subscribe("ok", 1)
        before = v.metric("verge_mqtt_bad_packets_total", reason="malformed")
        for version in (4, 5):
            r, _ = raw_connected(v.mqtt, f"bad{version}", version)
            r.send(bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]))
            got = r.wait_closed()
            if version == 5:
                check_eq([(p[0], p[1][:1]) for p in got], [(0xE0, b"\x81")],
                         "v5: DISCONNECT malformed packet (0x81) before the close")
            else:
                check_eq(got, [], "v3.1.1: closed without a reply")
            r.close()
        after = v.metric("verge_mqtt_bad_packets_total", reason="malformed")
        check_eq(after - before, 2.0, "verge_mqtt_bad_packets_total{reason=malformed} increase")
        good.publish("ok", b"still", qos=1)
        check_eq(good.expect("ok").payload, b"still", "another client keeps working")
        # Garbage before CONNECT is also refused without harm.
        r = Raw(v.mqtt)
        r.send(b"GET / HTTP/1.1\r\n\r\n")
        check_eq(r.wait_closed(), [], "non-MQTT bytes: closed")
        status, body = v.http_get("/healthz")
        check_eq(status, 200, "healthz after bad input")
        good.disconnect()


def test_v5_authentication_method_refused():
    with Verge() as v:
        r = Raw(v.mqtt)
        props = bytes([0x15]) + mstr("SCRAM-SHA-256")
        r.send(connect_packet("auth-method", version=5, props=props))
        ack = r.read_packet()
        check(ack is not None and ack[0] == 0x20, f"expected CONNACK, got {ack}")
        check_eq(ack[1][1], 0x8C, "CONNACK reason (bad authentication method)")
        check_eq(r.wait_closed(), [], "closed after the refusal")
        # The broker still accepts ordinary clients.
        Client(v.mqtt, "after", MQTTv5).disconnect()


def test_keepalive_timeout():
    with Verge() as v:
        for version in (4, 5):
            before = v.metric("verge_mqtt_server_closes_total", reason="keepalive")
            r, _ = raw_connected(v.mqtt, f"silent{version}", version, keepalive=1)
            t0 = time.monotonic()
            got = r.wait_closed(timeout=10)
            elapsed = time.monotonic() - t0
            check(1.0 <= elapsed <= 4.0,
                  f"v{version}: keepalive 1 s client closed after {elapsed:.2f}s (want 1.5..3)")
            if version == 5:
                check_eq([(p[0], p[1][:1]) for p in got], [(0xE0, b"\x8D")],
                         "v5 DISCONNECT keep alive timeout (0x8D)")
            after = v.metric("verge_mqtt_server_closes_total", reason="keepalive")
            check_eq(after - before, 1.0, "keepalive close counter")
        # A client that pings in time stays connected: PINGREQ every ~0.5 s for 3 s.
        r, _ = raw_connected(v.mqtt, "pinger", 4, keepalive=1)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3:
            r.send(bytes([0xC0, 0]))
            pkt = r.read_packet(timeout=2)
            check_eq(pkt, (0xD0, b""), "PINGRESP")
            t_ping = time.monotonic()
            # Wait for the next half-keepalive using the socket itself: nothing should arrive.
            r.s.settimeout(max(0.0, 0.5 - (time.monotonic() - t_ping)))
            try:
                data = r.s.recv(1)
                check(False, f"unexpected data/close on a pinging client: {data!r}")
            except TimeoutError:
                pass
        r.close()


def test_max_packet_size():
    with Verge("--max-packet-size", 1024) as v:
        c = Client(v.mqtt, "watch", MQTTv5)
        check_eq(getattr(c.connack[2], "MaximumPacketSize", None), 1024,
                 "CONNACK Maximum Packet Size")
        c.subscribe("big/#", 1)
        before = v.metric("verge_mqtt_dropped_messages_total", reason="too_large")
        for version in (4, 5):
            r, _ = raw_connected(v.mqtt, f"big{version}", version)
            r.send(publish_packet("big/ok", b"x" * 900, qos=1, version=version))
            ack = r.read_packet()
            check(ack is not None and ack[0] == 0x40, f"PUBACK for a 900-byte payload, got {ack}")
            check_eq(c.expect("big/ok").payload, b"x" * 900, "a packet under the limit is routed")
            r.send(publish_packet("big/no", b"y" * 2000, qos=1, packet_id=2, version=version))
            got = r.wait_closed()
            if version == 5:
                check_eq([(p[0], p[1][:1]) for p in got], [(0xE0, b"\x95")],
                         "v5 DISCONNECT packet too large (0x95)")
            else:
                check_eq(got, [], "v3.1.1: closed without a reply")
        c.subscribe("marker", 1)
        m = Client(v.mqtt, "marker", MQTTv311)
        c.expect_none(m, "marker")  # big/no was not routed
        after = v.metric("verge_mqtt_dropped_messages_total", reason="too_large")
        check_eq(after - before, 2.0, "too_large counter")
        m.disconnect()
        c.disconnect()


if __name__ == "__main__":
    main([test_malformed_remaining_length, test_v5_authentication_method_refused,
          test_keepalive_timeout, test_max_packet_size])
