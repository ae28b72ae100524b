#!/usr/bin/env python3
"""Writes the seed corpus for segment_reader_fuzz into fuzz/corpus/segment_reader/.

Segment files are built here from docs/formats/segment-log.md, independently of the C++
encoder, so the seeds also check the decoder against the document. A few seeds are damaged
on purpose (torn tail, zeros, flipped CRC) to start the fuzzer near the error paths.
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "segment_reader")


def _table():
    t = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


TABLE = _table()


def crc32c(data, crc=0):
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def zigzag(v):
    return (v << 1) ^ (v >> 63) if v >= 0 else ((-v) << 1) - 1


def segment_header(base):
    h = struct.pack("<IHHQ", 0x47455356, 1, 0, base)
    return h + struct.pack("<I", crc32c(h))


def batch(base, records):
    """records: list of (timestamp_ms, payload bytes)."""
    first_ts = records[0][0]
    body = b"".join(
        varint(len(p)) + varint(i) + varint(zigzag(ts - first_ts)) + p
        for i, (ts, p) in enumerate(records)
    )
    max_ts = max(ts for ts, _ in records)
    rest = struct.pack("<IHHQIIqq", len(body), 0, 0, base, len(records), len(body), first_ts, max_ts)
    crc = crc32c(rest + body)
    return struct.pack("<II", 0x54414256, crc) + rest + body


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {}
    seeds["empty_segment"] = segment_header(0)
    one = segment_header(0) + batch(0, [(1700000000000, b"hello")])
    seeds["one_record"] = one
    many = segment_header(42) + batch(42, [(1000, b"a"), (999, b""), (1005, b"x" * 200)])
    many += batch(45, [(2000, b'{"device":"pump-1","temperature":41.2}')])
    many += batch(46, [(2001 + i, bytes([i]) * i) for i in range(20)])
    seeds["three_batches"] = many
    seeds["torn_tail"] = many[:-7]
    seeds["zero_tail"] = many + b"\0" * 100
    seeds["half_header"] = one + batch(1, [(1, b"y")])[:20]
    bad = bytearray(many)
    bad[len(segment_header(42)) + 4] ^= 1
    seeds["flipped_crc"] = bytes(bad)
    seeds["records_split"] = b"first\xffsecond\xff\xffthird record"
    # The log's small text files, parsed by the same target.
    ck = b"verge-checkpoint 1\nsegment 0\npos 8212\nnext 80\nmax_ts 1700000000000\n"
    ck += b"index 0 20\nindex 40 4116\n"
    seeds["checkpoint"] = b"garbage" + ck + b"crc32c %08x\n" % crc32c(ck)
    cur = b"verge-cursors 1\nhub 42\nrules 7\n"
    seeds["cursors"] = cur + b"crc32c %08x\n" % crc32c(cur)
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
