#!/usr/bin/python3
"""Runs js/test_v5.mjs (MQTT.js) against a verge started by the harness."""
import os
import subprocess

from harness import TestFailure, Verge, check, main

JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


def test_mqttjs_v5():
    if not os.path.isdir(os.path.join(JS_DIR, "node_modules", "mqtt")):
        raise TestFailure(f"MQTT.js is not installed: run scripts/bootstrap (npm ci in {JS_DIR})")
    with Verge("--ws-listen", "127.0.0.1:0") as v:
        try:
            r = subprocess.run(["/usr/bin/node", "test_v5.mjs", str(v.mqtt), str(v.ports["ws"])],
                               cwd=JS_DIR, capture_output=True, text=True, timeout=90)
        except subprocess.TimeoutExpired as e:
            raise TestFailure(f"node test_v5.mjs timed out: {e.stdout} {e.stderr}")
        print(r.stdout + r.stderr, end="")
        check(r.returncode == 0, f"node test_v5.mjs exited with {r.returncode}")


if __name__ == "__main__":
    main([test_mqttjs_v5])
