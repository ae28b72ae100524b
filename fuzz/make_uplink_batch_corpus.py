#!/usr/bin/env python3
"""Writes the seed corpus for uplink_batch_fuzz into fuzz/corpus/uplink_batch/.

The batches are built here by hand from docs/formats/uplink-batch.md, independently of the C++
encoder, so the seeds also check it. zstd bodies use the `zstandard` module when installed
(otherwise the zstd CLI; without either, the zstd seed is skipped).
"""
import json
import os
import shutil
import subprocess
import tempfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "uplink_batch")


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


def body(records, base_ts):
    out = bytearray()
    for ts, payload in records:
        out += varint(zigzag(ts - base_ts)) + varint(len(payload)) + payload
    return bytes(out)


def compress(data):
    try:
        import zstandard  # type: ignore

        return zstandard.ZstdCompressor(level=1, write_content_size=True).compress(data)
    except ImportError:
        pass
    if shutil.which("zstd"):
        # From a file, not stdin: only then does the frame declare its size, which the decoder
        # requires.
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            return subprocess.run(["zstd", "-1", "-c", "-q", f.name], stdout=subprocess.PIPE,
                                  check=True).stdout
    return None


def batch(first_seq, records, zstd=False, gap_before=False):
    base_ts = records[0][0] if records else 0
    plain = body(records, base_ts)
    payload, flags = plain, 0
    if zstd:
        frame = compress(plain)
        if frame is None:
            return None
        payload, flags = frame, 1
    if gap_before:
        flags |= 2  # bit 1: the records below first_seq not sent are gone at the node
    head = b"VB" + bytes([1, flags]) + varint(first_seq) + varint(len(records))
    head += varint(base_ts & 0xFFFFFFFFFFFFFFFF) + varint(len(plain))
    return head + payload


def telemetry(n, ts0=1700000000000):
    return [(ts0 + i * 10,
             json.dumps({"device": "d%d" % (i % 5), "ts": ts0 + i * 10, "temp": 20 + i % 7},
                        separators=(",", ":")).encode()) for i in range(n)]


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "empty": batch(0, []),
        "one": batch(1, [(5, b"x")]),
        "empty_payloads": batch(10, [(1, b""), (2, b""), (3, b"a")]),
        "negative_ts": batch(3, [(1000, b"a"), (-5000, b"b"), (999, b"c")]),
        "negative_base": batch(0, [(-1, b"a"), (-2, b"b")]),
        "telemetry_plain": batch(1000, telemetry(20)),
        "telemetry_zstd": batch(2000, telemetry(50), zstd=True),
        "gap_before": batch(3000, telemetry(5), gap_before=True),
        "gap_before_empty": batch(4000, [], gap_before=True),
        "bad_magic": b"XB\x01\x00\x00\x00\x00\x00",
        "bad_version": b"VB\x02\x00\x00\x00\x00\x00",
    }
    for name, data in seeds.items():
        if data is None:
            print("skipped", name, "(no zstd)")
            continue
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
