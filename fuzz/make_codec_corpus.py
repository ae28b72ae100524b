#!/usr/bin/env python3
"""Writes the seed corpus for codec_fuzz into fuzz/corpus/codec/.

Each file is one version byte (0 = MQTT 3.1.1, 1 = MQTT 5.0) followed by one packet. The
packets are built here by hand, independently of the C++ encoder, so the seeds also check it.
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "codec")


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def s(v):
    v = v.encode() if isinstance(v, str) else v
    return struct.pack(">H", len(v)) + v


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def props(*items):
    body = b"".join(items)
    return varint(len(body)) + body


def pkt(first, body):
    return bytes([first]) + varint(len(body)) + body


USER = b"\x26" + s("key") + s("value") + b"\x26" + s("key") + s("v\u00e9")
PUBLISH_PROPS = (b"\x01\x01" + b"\x02" + u32(60) + b"\x03" + s("text/plain") + b"\x08" + s("re/q")
                 + b"\x09" + s(b"\x00\x01") + b"\x0b" + varint(1) + b"\x0b" + varint(300)
                 + b"\x23" + u16(4) + USER)
WILL_PROPS = (b"\x01\x00" + b"\x02" + u32(10) + b"\x03" + s("ct") + b"\x08" + s("resp")
              + b"\x09" + s("corr") + b"\x18" + u32(5) + USER)
CONNECT_PROPS = (b"\x11" + u32(3600) + b"\x15" + s("SCRAM") + b"\x16" + s(b"\x01\x02")
                 + b"\x17\x01" + b"\x19\x01" + b"\x21" + u16(20) + b"\x22" + u16(10)
                 + b"\x27" + u32(65536) + USER)
CONNACK_PROPS = (b"\x11" + u32(0) + b"\x12" + s("auto-id") + b"\x13" + u16(30)
                 + b"\x15" + s("SCRAM") + b"\x16" + s("d") + b"\x1a" + s("info")
                 + b"\x1c" + s("srv") + b"\x1f" + s("reason") + b"\x21" + u16(100)
                 + b"\x22" + u16(5) + b"\x24\x01" + b"\x25\x01" + b"\x27" + u32(1 << 20)
                 + b"\x28\x01" + b"\x29\x01" + b"\x2a\x00" + USER)
REASON_PROPS = b"\x1f" + s("because") + USER


def connect(level, flags, payload, prop_block=b""):
    return pkt(0x10, s("MQTT") + bytes([level, flags]) + u16(60) + prop_block + payload)


def seeds():
    v3, v5 = 0, 1
    # Valid packets, MQTT 3.1.1.
    yield "v3_connect", v3, connect(4, 0x02, s("client"))
    yield "v3_connect_full", v3, connect(4, 0xF4, s("c") + s("will/t") + s("bye") + s("u") + s("p"))
    yield "v3_connack", v3, pkt(0x20, b"\x01\x00")
    yield "v3_connack_refused", v3, pkt(0x20, b"\x00\x05")
    yield "v3_publish_qos0", v3, pkt(0x30, s("a/b") + b"hello")
    yield "v3_publish_qos2", v3, pkt(0x3D, s("a/b") + u16(7) + b"payload")
    for name, first in (("puback", 0x40), ("pubrec", 0x50), ("pubrel", 0x62), ("pubcomp", 0x70)):
        yield "v3_" + name, v3, pkt(first, u16(1))
    yield "v3_subscribe", v3, pkt(0x82, u16(1) + s("a/+") + b"\x01" + s("#") + b"\x02")
    yield "v3_suback", v3, pkt(0x90, u16(1) + b"\x00\x01\x02\x80")
    yield "v3_unsubscribe", v3, pkt(0xA2, u16(1) + s("a/+") + s("b"))
    yield "v3_unsuback", v3, pkt(0xB0, u16(1))
    yield "v3_pingreq", v3, pkt(0xC0, b"")
    yield "v3_pingresp", v3, pkt(0xD0, b"")
    yield "v3_disconnect", v3, pkt(0xE0, b"")

    # Valid packets, MQTT 5.0, with every property each one allows.
    will = props(WILL_PROPS) + s("will/t") + s(b"\x00bin")
    yield "v5_connect", v5, connect(5, 0x02, s("client"), props())
    yield "v5_connect_full", v5, connect(5, 0xEE, s("c") + will + s("u") + s("p"),
                                         props(CONNECT_PROPS))
    yield "v5_connect_password_only", v5, connect(5, 0x40, s("c") + s("p"), props())
    yield "v5_connack", v5, pkt(0x20, b"\x01\x00" + props(CONNACK_PROPS))
    yield "v5_publish", v5, pkt(0x3B, s("a/b") + u16(9) + props(PUBLISH_PROPS) + b"data")
    yield "v5_publish_alias", v5, pkt(0x30, s("") + props(b"\x23" + u16(1)) + b"x")
    for name, first, reason in (("puback", 0x40, 0x10), ("pubrec", 0x50, 0x97),
                                ("pubrel", 0x62, 0x92), ("pubcomp", 0x70, 0x92)):
        yield "v5_" + name + "_short", v5, pkt(first, u16(1))
        yield "v5_" + name + "_reason", v5, pkt(first, u16(1) + bytes([reason]))
        yield "v5_" + name + "_props", v5, pkt(first, u16(1) + bytes([reason]) + props(REASON_PROPS))
    yield "v5_subscribe", v5, pkt(0x82, u16(1) + props(b"\x0b" + varint(7) + USER) + s("a/+")
                                  + b"\x2d" + s("$share/g/#") + b"\x19")
    yield "v5_suback", v5, pkt(0x90, u16(1) + props(REASON_PROPS) + b"\x00\x01\x02\x80\x8f\xa2")
    yield "v5_unsubscribe", v5, pkt(0xA2, u16(1) + props(USER) + s("a/+") + s("b"))
    yield "v5_unsuback", v5, pkt(0xB0, u16(1) + props(REASON_PROPS) + b"\x00\x11\x87")
    yield "v5_pingreq", v5, pkt(0xC0, b"")
    yield "v5_disconnect_short", v5, pkt(0xE0, b"")
    yield "v5_disconnect", v5, pkt(0xE0, b"\x04" + props(b"\x11" + u32(0) + b"\x1c" + s("x")
                                                          + REASON_PROPS))
    yield "v5_auth_short", v5, pkt(0xF0, b"")
    yield "v5_auth", v5, pkt(0xF0, b"\x18" + props(b"\x15" + s("SCRAM") + b"\x16" + s("d")
                                                   + REASON_PROPS))

    # Malformed or protocol errors.
    yield "bad_varint5", v3, b"\xc0\x80\x80\x80\x80\x00"
    yield "bad_flags_pubrel", v3, pkt(0x60, u16(1))
    yield "bad_qos3", v3, pkt(0x36, s("t") + u16(1))
    yield "bad_dup_qos0", v5, pkt(0x38, s("t") + b"\x00")
    yield "bad_packet_id0", v3, pkt(0x40, u16(0))
    yield "bad_empty_subscribe", v5, pkt(0x82, u16(1) + b"\x00")
    yield "bad_retain_handling3", v5, pkt(0x82, u16(1) + b"\x00" + s("a") + b"\x30")
    yield "bad_protocol_level", v3, connect(3, 0x02, s("c"))
    yield "bad_will_qos_no_will", v3, connect(4, 0x08, s("c"))
    yield "bad_password_only_v3", v3, connect(4, 0x40, s("c") + s("p"))
    yield "bad_utf8_surrogate", v3, pkt(0x30, s(b"\xed\xa0\x80") + b"x")
    yield "bad_utf8_null", v3, pkt(0x30, s(b"a\x00") + b"x")
    yield "bad_wildcard_topic", v3, pkt(0x30, s("a/#"))
    yield "bad_dup_property", v5, pkt(0x30, s("t") + props(b"\x23" + u16(1) + b"\x23" + u16(2)))
    yield "bad_property_not_allowed", v5, pkt(0x40, u16(1) + b"\x00" + props(b"\x23" + u16(1)))
    yield "bad_subscription_id0", v5, pkt(0x30, s("t") + props(b"\x0b\x00"))
    yield "bad_trailing", v3, pkt(0xC0, b"\x00")
    yield "bad_string_length", v3, pkt(0x30, b"\x00\x09ab")
    yield "bad_stream_two_packets", v3, pkt(0xC0, b"") + pkt(0xD0, b"")


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, version, packet in seeds():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(bytes([version]) + packet)


if __name__ == "__main__":
    main()
