#!/usr/bin/python3
"""The rule engine through the real binary: rules declared in YAML and over REST, each action
kind observed from outside (paho and mosquitto clients, a Python HTTP server as the webhook
peer, the time-series API, the uplink directory), dead letters, lifecycle and restarts."""
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request

from harness import Client, Verge, check, check_eq, main, wait_until


# ---- REST helpers ----------------------------------------------------------------------------

def find_key(obj, key):
    """The first value of `key` anywhere in a nested JSON value (status shapes nest counters)."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            found = find_key(v, key)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for v in obj:
            found = find_key(v, key)
            if found is not None:
                return found
    return None


def rule_status(v, rule_id):
    status, body = v.call("GET", f"/api/v1/rules/{rule_id}/status")
    check_eq(status, 200, f"status of {rule_id}: {body}")
    return body


def records_in(v, rule_id):
    return find_key(rule_status(v, rule_id), "records_in") or 0


def create_rule(v, rule):
    status, body = v.call("POST", "/api/v1/rules", rule)
    check_eq(status, 201, f"create {rule.get('id')}: {body}")
    return body


WITNESS = {"id": "witness", "sql": "SELECT seq FROM marks",
           "actions": [{"publish": {"topic": "out/witness"}}]}
MARKS = 'CREATE STREAM marks () WITH (DATASOURCE="marks/#", FORMAT="json")'


def expect_only_witness(sub, pub, seq):
    """Proves a rule produced nothing for the events published before: the witness rule runs on
    the same engine thread, so its row for a later mark arrives only after any earlier row."""
    pub.publish("marks/m", json.dumps({"seq": seq}), 1)
    m = sub.expect()
    check_eq((m.topic, json.loads(m.payload)), ("out/witness", {"seq": seq}),
             "the next message is the witness row")


def reading(device, temp, **extra):
    return json.dumps({"deviceId": device, "temp": temp, **extra})


STREAM = 'CREATE STREAM sensors () WITH (DATASOURCE="sensors/#", FORMAT="json")'


def config(tmpdir, text):
    path = os.path.join(tmpdir, "verge.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


# ---- tests -----------------------------------------------------------------------------------

def test_yaml_rule_filters_and_publishes():
    """A rule from the YAML configuration: only hot readings come out, projected and templated."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="verge-rules-") as tmp:
        cfg = config(tmp, f"""
streams:
  - '{STREAM}'
rules:
  - id: hot
    sql: SELECT deviceId, temp * 1.8 + 32 AS temp_f FROM sensors WHERE temp > 30
    actions:
      - publish: {{topic: "alerts/{{{{deviceId}}}}", qos: 1}}
""")
        with Verge("--config", cfg) as v:
            sub = Client(v.mqtt, "alerts-sub")
            sub.subscribe("alerts/#", 1)
            pub = Client(v.mqtt, "sensor")
            for device, temp in [("d1", 25), ("d2", 35), ("d1", 31.5), ("d3", 30)]:
                pub.publish(f"sensors/{device}", reading(device, temp), 1)
            got = [sub.expect() for _ in range(2)]
            check_eq([m.topic for m in got], ["alerts/d2", "alerts/d1"], "alert topics")
            check_eq(json.loads(got[0].payload), {"deviceId": "d2", "temp_f": 95.0}, "row 1")
            check_eq(json.loads(got[1].payload), {"deviceId": "d1", "temp_f": 88.7}, "row 2")
            wait_until(lambda: records_in(v, "hot") == 4, what="4 records in")
            check_eq(find_key(rule_status(v, "hot"), "records_out"), 2, "2 rows out")
            check_eq(v.metric("verge_rule_records_in_total", rule="hot"), 4.0, "metric")
            pub.disconnect()
            sub.disconnect()


def test_rest_lifecycle_validate_update_stop_delete():
    with Verge() as v:
        status, body = v.call("POST", "/api/v1/streams", {"sql": STREAM})
        check(status in (200, 201), f"create stream: {status} {body}")
        check_eq(v.call("POST", "/metrics", {})[0], 405, "read-only endpoints refuse POST")
        # validate: a bad statement names line, column and what was expected.
        status, body = v.call("POST", "/api/v1/rules/validate",
                            {"sql": "SELECT deviceId\nFROM sensors WHERE temp >"})
        check_eq(find_key(body, "valid"), False, f"invalid: {body}")
        check_eq(find_key(body, "line"), 2, f"line: {body}")
        check(find_key(body, "column") >= 25, f"column: {body}")
        status, body = v.call("POST", "/api/v1/rules/validate",
                            {"sql": "SELECT * FROM sensors WHERE temp > 1"})
        check_eq(find_key(body, "valid"), True, f"valid: {body}")
        # A rule with a SQL error is refused with its position.
        status, body = v.call("POST", "/api/v1/rules",
                            {"id": "bad", "sql": "SELECT FROM sensors",
                             "actions": [{"log": {}}]})
        check_eq(status, 400, f"bad rule: {body}")
        check(find_key(body, "line") == 1, f"bad rule has a line: {body}")

        v.call("POST", "/api/v1/streams", {"sql": MARKS})
        create_rule(v, WITNESS)
        sub = Client(v.mqtt, "out-sub")
        sub.subscribe("out/#", 1)
        create_rule(v, {"id": "r1", "sql": "SELECT deviceId, temp FROM sensors WHERE temp > 30",
                        "actions": [{"publish": {"topic": "out/r1"}}]})
        status, body = v.call("POST", "/api/v1/rules",
                            {"id": "r1", "sql": "SELECT * FROM sensors",
                             "actions": [{"log": {}}]})
        check_eq(status, 409, f"duplicate id: {body}")
        pub = Client(v.mqtt, "sensor")
        pub.publish("sensors/a", reading("a", 31), 1)
        check_eq(json.loads(sub.expect().payload), {"deviceId": "a", "temp": 31}, "r1 row")

        # Update: a new threshold; the rule keeps its id and counters restart with the program.
        status, body = v.call("PUT", "/api/v1/rules/r1",
                            {"id": "r1", "sql": "SELECT deviceId, temp FROM sensors WHERE temp > 40",
                             "actions": [{"publish": {"topic": "out/r1"}}]})
        check_eq(status, 200, f"update: {body}")
        pub.publish("sensors/a", reading("a", 35), 1)
        pub.publish("sensors/a", reading("a", 45), 1)
        check_eq(json.loads(sub.expect().payload)["temp"], 45, "only the new threshold")

        # Stop: nothing comes out; start: it runs again.
        check_eq(v.call("POST", "/api/v1/rules/r1/stop")[0], 200, "stop")
        check_eq(find_key(rule_status(v, "r1"), "state"), "stopped", "stopped state")
        pub.publish("sensors/a", reading("a", 50), 1)
        expect_only_witness(sub, pub, 1)
        check_eq(v.call("POST", "/api/v1/rules/r1/start")[0], 200, "start")
        check_eq(find_key(rule_status(v, "r1"), "state"), "running", "running state")
        pub.publish("sensors/a", reading("a", 51), 1)
        check_eq(json.loads(sub.expect().payload)["temp"], 51, "running again")

        status, body = v.call("GET", "/api/v1/rules")
        check_eq(status, 200, "list")
        check("r1" in json.dumps(body), f"list has r1: {body}")
        check_eq(v.call("DELETE", "/api/v1/rules/r1")[0], 204, "delete")
        check_eq(v.call("GET", "/api/v1/rules/r1")[0], 404, "deleted rule is gone")
        pub.publish("sensors/a", reading("a", 60), 1)
        expect_only_witness(sub, pub, 2)
        pub.disconnect()
        sub.disconnect()


def test_rest_rules_survive_restart():
    with Verge() as v:
        v.call("POST", "/api/v1/streams", {"sql": STREAM})
        create_rule(v, {"id": "keep", "sql": "SELECT deviceId FROM sensors WHERE temp > 0",
                        "actions": [{"publish": {"topic": "kept/{{deviceId}}"}}]})
        v.stop()
        v.start()
        status, body = v.call("GET", "/api/v1/rules/keep")
        check_eq(status, 200, f"rule after restart: {body}")
        sub = Client(v.mqtt, "kept-sub")
        sub.subscribe("kept/#", 0)
        pub = Client(v.mqtt, "sensor")
        pub.publish("sensors/z", reading("z", 5), 1)
        check_eq(sub.expect().topic, "kept/z", "the restored rule runs")
        pub.disconnect()
        sub.disconnect()


def test_alarm_raise_update_clear_ack():
    with Verge() as v:
        v.call("POST", "/api/v1/streams", {"sql": STREAM})
        create_rule(v, {"id": "overheat", "sql": "SELECT deviceId, temp FROM sensors WHERE temp > 80",
                        "actions": [{"alarm": {"key": "overheat/{{deviceId}}", "severity": "major",
                                               "message": "{{deviceId}} at {{temp}} C"}}]})
        create_rule(v, {"id": "cooled", "sql": "SELECT deviceId FROM sensors WHERE temp < 70",
                        "actions": [{"alarm": {"key": "overheat/{{deviceId}}", "clear": True}}]})
        sub = Client(v.mqtt, "alarm-sub")
        sub.subscribe("verge/alarms/#", 1)
        pub = Client(v.mqtt, "sensor")
        pub.publish("sensors/p1", reading("p1", 85), 1)
        m = sub.expect()
        check_eq(m.topic, "verge/alarms/overheat/p1", "alarm topic")
        event = json.loads(m.payload)
        check_eq(find_key(event, "event"), "raised", f"raised event: {event}")
        check_eq(find_key(event, "message"), "p1 at 85 C", "templated message")
        pub.publish("sensors/p1", reading("p1", 90), 1)  # dedup: the same alarm, count 2
        wait_until(lambda: find_key(v.call("GET", "/api/v1/alarms?active=true")[1], "count") == 2,
                   what="count 2")
        status, body = v.call("GET", "/api/v1/alarms?active=true")
        alarms = find_key(body, "alarms") if isinstance(body, dict) else body
        check_eq(len(alarms), 1, f"one active alarm: {body}")
        alarm_id = alarms[0]["id"]
        status, body = v.call("POST", f"/api/v1/alarms/{alarm_id}/ack", {"by": "operator-7"})
        check_eq(status, 200, f"ack: {body}")
        check_eq(find_key(body, "acked_by"), "operator-7", f"acked by: {body}")
        pub.publish("sensors/p1", reading("p1", 60), 1)
        wait_until(lambda: len(find_key(v.call("GET", "/api/v1/alarms?active=true")[1], "alarms")
                               or []) == 0, what="alarm cleared")
        events = []
        while True:
            try:
                events.append(find_key(json.loads(sub.expect(timeout=2).payload), "event"))
            except Exception:
                break
            if "cleared" in events:
                break
        check("cleared" in events, f"a cleared event was published: {events}")
        check_eq(v.call("GET", "/api/v1/alarms/999999")[0], 404, "unknown alarm")
        pub.disconnect()
        sub.disconnect()


class _Hook(http.server.BaseHTTPRequestHandler):
    fail_first = 0
    bodies = []
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        with _Hook.lock:
            if _Hook.fail_first > 0:
                _Hook.fail_first -= 1
                code = 503
            else:
                _Hook.bodies.append(body)
                code = 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_delivers_with_retries():
    _Hook.fail_first = 2
    _Hook.bodies = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with Verge() as v:
            v.call("POST", "/api/v1/streams", {"sql": STREAM})
            url = f"http://127.0.0.1:{server.server_address[1]}/hook"
            create_rule(v, {"id": "hook", "sql": "SELECT deviceId, temp FROM sensors WHERE temp > 30",
                            "actions": [{"webhook": {"url": url, "retries": 3,
                                                     "backoff_ms": 10}}]})
            pub = Client(v.mqtt, "sensor")
            pub.publish("sensors/w", reading("w", 33), 1)
            wait_until(lambda: len(_Hook.bodies) == 1, what="webhook body")
            check_eq(json.loads(_Hook.bodies[0]), {"deviceId": "w", "temp": 33}, "webhook body")
            st = rule_status(v, "hook")
            check_eq(find_key(st, "retried"), 2, f"two retries counted: {st}")
            check_eq(find_key(st, "sent"), 1, f"one sent: {st}")
            pub.disconnect()
    finally:
        server.shutdown()


def test_dead_letter_and_bad_input_counted():
    with Verge() as v:
        v.call("POST", "/api/v1/streams", {"sql": STREAM})
        create_rule(v, {"id": "dl", "sql": "SELECT deviceId, temp + 1 AS t FROM sensors",
                        "actions": [{"publish": {"topic": "ok/out"}}],
                        "options": {"dead_letter_topic": "dead/dl"}})
        sub = Client(v.mqtt, "dl-sub")
        sub.subscribe("dead/#", 0)
        sub.subscribe("ok/#", 0)
        pub = Client(v.mqtt, "sensor")
        pub.publish("sensors/x", "not json at all", 1)
        pub.publish("sensors/x", reading("x", "hot"), 1)  # a string where a number is needed
        pub.publish("sensors/x", reading("x", 20), 1)
        got = {}
        for _ in range(3):
            m = sub.expect()
            got.setdefault(m.topic, []).append(json.loads(m.payload))
        check_eq(len(got.get("dead/dl", [])), 2, f"two dead letters: {got}")
        for d in got["dead/dl"]:
            check(d.get("rule") == "dl" and d.get("reason") and "payload" in d, f"dead letter {d}")
        check_eq(got["ok/out"], [{"deviceId": "x", "t": 21}], "the good record still flows")
        st = rule_status(v, "dl")
        check_eq(find_key(st, "errors"), {"decode": 1, "eval": 1}, f"errors counted: {st}")
        pub.disconnect()
        sub.disconnect()


def test_tsdb_uplink_and_log_actions():
    with Verge() as v:
        v.call("POST", "/api/v1/streams", {"sql": STREAM})
        create_rule(v, {"id": "store", "sql": "SELECT deviceId, temp, ts FROM sensors",
                        "actions": [{"tsdb": {"series": "site/{{deviceId}}/temp", "value": "temp",
                                              "timestamp": "ts"}},
                                    {"uplink": {"stream": "telemetry"}},
                                    {"log": {}}]})
        pub = Client(v.mqtt, "sensor")
        now_ms = int(time.time() * 1000)
        for i, t in enumerate((20, 21, 22)):
            pub.publish("sensors/s1", reading("s1", t, ts=now_ms - 3000 + i * 1000), 1)
        wait_until(lambda: find_key(rule_status(v, "store"), "records_out") == 3, what="3 rows")

        def series_points():
            status, body = v.call("GET", "/api/v1/series?name=site/s1/temp&from=0")
            return body if status == 200 else None
        # Each point at the event's own time, with the event's value.
        wait_until(lambda: series_points() is not None and
                   len(find_key(series_points(), "points") or []) == 3, what="3 points stored")
        uplink_dir = os.path.join(v.dir, "data", "uplink", "telemetry")
        wait_until(lambda: os.path.isdir(uplink_dir) and any(
            os.path.getsize(os.path.join(uplink_dir, f)) > 0 for f in os.listdir(uplink_dir)),
            what="uplink segment written")
        check_eq([p[1] for p in series_points()["points"]], [20, 21, 22], "stored values")
        v.wait_log("rule=store")
        pub.disconnect()


def test_window_through_broker_with_mosquitto_clients():
    """A 1 s tumbling count per device, fed by mosquitto_pub and read by mosquitto_sub."""
    with Verge() as v:
        v.call("POST", "/api/v1/streams", {"sql": STREAM})
        create_rule(v, {"id": "win",
                        "sql": "SELECT deviceId, count(*) AS n, max(temp) AS hi FROM sensors "
                               "GROUP BY deviceId, TUMBLINGWINDOW(ss, 1)",
                        "actions": [{"publish": {"topic": "win/{{deviceId}}"}}]})
        base = v.metric("verge_mqtt_subscriptions")  # the rule engine's own subscription included
        sub = subprocess.Popen(["mosquitto_sub", "-p", str(v.mqtt), "-h", "127.0.0.1", "-t", "win/#",
                                "-v", "-C", "1", "-W", "20"], stdout=subprocess.PIPE, text=True)
        wait_until(lambda: v.metric("verge_mqtt_subscriptions") > base, what="mosquitto_sub")
        lines = "\n".join(reading("m1", t) for t in (10, 30, 20)) + "\n"
        r = subprocess.run(["mosquitto_pub", "-p", str(v.mqtt), "-h", "127.0.0.1", "-t",
                            "sensors/m1", "-q", "1", "-l"], input=lines, text=True, timeout=20)
        check_eq(r.returncode, 0, "mosquitto_pub")
        out, _ = sub.communicate(timeout=30)
        topic, _, payload = out.strip().partition(" ")
        check_eq(topic, "win/m1", f"window topic: {out!r}")
        row = json.loads(payload)
        check_eq(row["deviceId"], "m1", "key")
        check_eq(row["hi"], 30, "max")
        check(1 <= row["n"] <= 3, f"count within one window: {row}")


def test_join_with_table_of_thresholds():
    """Thresholds live in a table fed by retained messages: changing one is a publish, not a rule
    edit, and the rule sees the new value from the next event on."""
    with Verge() as v:
        cfg = Client(v.mqtt, "config")
        cfg.publish("config/limits/z1", json.dumps({"zone": "z1", "max_temp": 30}), 1, retain=True)
        v.call("POST", "/api/v1/streams",
             {"sql": 'CREATE STREAM climate () WITH (DATASOURCE="climate/#")'})
        status, body = v.call("POST", "/api/v1/streams", {
            "sql": 'CREATE TABLE limits (zone STRING, max_temp FLOAT) '
                   'WITH (DATASOURCE="config/limits/#", KEY="zone")'})
        check(status in (200, 201), f"create table: {status} {body}")
        create_rule(v, {"id": "over", "sql": "SELECT c.zone, c.temp, l.max_temp FROM climate AS c "
                                             "JOIN limits AS l ON c.zone = l.zone "
                                             "WHERE c.temp > l.max_temp",
                        "actions": [{"publish": {"topic": "over/{{zone}}"}}]})
        sub = Client(v.mqtt, "over-sub")
        sub.subscribe("over/#", 1)
        pub = Client(v.mqtt, "sensor")
        pub.publish("climate/z1", json.dumps({"zone": "z1", "temp": 32}), 1)
        check_eq(json.loads(sub.expect("over/z1").payload),
                 {"zone": "z1", "temp": 32, "max_temp": 30}, "over the retained limit")
        pub.publish("climate/z2", json.dumps({"zone": "z2", "temp": 99}), 1)  # no limit for z2
        wait_until(lambda: find_key(rule_status(v, "over"), "records_in") == 2, what="2 events")
        check_eq(find_key(rule_status(v, "over"), "records_out"), 1, "z2 has no limit: no row")
        # Raise the limit. The table row and the events come from different clients, so keep
        # sending 33 C (over the old limit, under the new) until one passes without a row.
        cfg.publish("config/limits/z1", json.dumps({"zone": "z1", "max_temp": 35}), 1, retain=True)
        seen_in, seen_out = 2, 1
        for _ in range(100):
            pub.publish("climate/z1", json.dumps({"zone": "z1", "temp": 33}), 1)
            seen_in += 1
            wait_until(lambda: find_key(rule_status(v, "over"), "records_in") == seen_in,
                       what="event taken")
            out = find_key(rule_status(v, "over"), "records_out")
            if out == seen_out:
                break  # 33 C did not trip: the limit is 35 now
            seen_out = out
            check_eq(json.loads(sub.expect("over/z1").payload)["max_temp"], 30,
                     "only the old limit may still trip")
        else:
            raise AssertionError("the new limit never took effect")
        pub.publish("climate/z1", json.dumps({"zone": "z1", "temp": 36}), 1)
        check_eq(json.loads(sub.expect("over/z1").payload)["max_temp"], 35, "over the new limit")
        for c in (cfg, pub, sub):
            c.disconnect()


def test_rule_test_command():
    import tempfile
    with tempfile.TemporaryDirectory(prefix="verge-rule-test-") as tmp:
        events = os.path.join(tmp, "events.jsonl")
        with open(events, "w") as f:
            for at, temp in [(0, 10), (500, 40), (1500, 20), (2500, 50)]:
                f.write(json.dumps({"at": at, "payload": {"deviceId": "a", "temp": temp}}) + "\n")
        from harness import VERGE
        r = subprocess.run([VERGE, "rule", "test", "--sql",
                            "SELECT max(temp) AS hi FROM s GROUP BY TUMBLINGWINDOW(ss, 1)",
                            "--input", events, "--end-ms", "3000"],
                           capture_output=True, text=True, timeout=30)
        check_eq(r.returncode, 0, f"rule test: {r.stderr}")
        rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        check_eq([(x["at"], x["row"]["hi"]) for x in rows], [(1000, 40), (2000, 20), (3000, 50)],
                 f"window rows: {r.stdout}")
        bad = subprocess.run([VERGE, "rule", "test", "--sql", "SELECT * FROM s WHERE",
                              "--input", events], capture_output=True, text=True, timeout=30)
        check_eq(bad.returncode, 1, "bad SQL exits 1")
        check("1:" in bad.stderr, f"error names the position: {bad.stderr}")


if __name__ == "__main__":
    main([test_yaml_rule_filters_and_publishes, test_rest_lifecycle_validate_update_stop_delete,
          test_rest_rules_survive_restart, test_alarm_raise_update_clear_ack,
          test_webhook_delivers_with_retries, test_dead_letter_and_bad_input_counted,
          test_tsdb_uplink_and_log_actions, test_window_through_broker_with_mosquitto_clients,
          test_join_with_table_of_thresholds,
          test_rule_test_command])
