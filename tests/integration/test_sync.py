"""Black-box tests of the hub and cloud-edge sync (issue 6) with the real binary: enrolment, a
reused token refused, a revoked node refused, a node without a certificate refused, roles, the
desired-state round trip, and a node restarted without its hub keeping its last applied state.

Run with VERGE_STORAGE=postgres://... (tests/integration/pg_server.py) for the PostgreSQL store.
"""
import os
import ssl
import tempfile

import paho.mqtt.client as paho

from harness import Client, MQTTv5, TIMEOUT, check, check_eq, main, make_tls, wait_until
from sync_harness import Edge, Hub

STREAM = 'CREATE STREAM sensors () WITH (DATASOURCE="sensors/#", FORMAT="json")'


def desired_doc(threshold):
    return {
        "streams": {"sensors": STREAM},
        "rules": {"hot": {"id": "hot",
                          "sql": f"SELECT dev, temp FROM sensors WHERE temp > {threshold}",
                          "actions": [{"publish": {"topic": "alerts/hot", "qos": 1}}]}},
    }


def test_enrolment_heartbeat_and_token_reuse():
    with Hub() as hub:
        token = hub.create_node("n1", site="hydro", labels={"site": "hydro", "tier": "a"})
        check(token.startswith("vgt1.n1."), f"token {token!r}")
        check_eq(hub.node("n1")["state"], "pending", "state before enrolment")
        keep = tempfile.TemporaryDirectory(prefix="verge-it-edge-")
        with Edge(hub.edge_port, token, workdir=keep.name) as edge:
            hub.wait_online("n1")
            node = hub.node("n1")
            check_eq(node["state"], "active", "state after enrolment")
            check(node["cert_serial"], "certificate serial recorded")
            sync_dir = os.path.join(edge.dir, "data", "sync")
            for f in ("node.key", "node.crt", "ca.crt"):
                check(os.path.exists(os.path.join(sync_dir, f)), f"{f} stored")
            check_eq(os.stat(os.path.join(sync_dir, "node.key")).st_mode & 0o777, 0o600,
                     "node.key mode")
            wait_until(lambda: hub.node("n1").get("status", {}).get("version"), TIMEOUT,
                       "a heartbeat with the node's version")
            refused_before = hub.metric("verge_hub_enrol_refused_total")
            # The same token on another machine: refused, and the first node is unaffected.
            with Edge(hub.edge_port, token) as thief:
                wait_until(lambda: hub.metric("verge_hub_enrol_refused_total") > refused_before,
                           TIMEOUT, "the reused token refused")
                check(not thief.sync_status().get("enrolled"), "second node not enrolled")
            check(hub.node("n1")["online"], "first node still online")
        # Restarted with its certificate and without a token, it connects again.
        with Edge(hub.edge_port, None, workdir=keep.name) as again:
            wait_until(lambda: again.sync_status().get("connected"), TIMEOUT, "reconnected")
            hub.wait_online("n1")
        keep.cleanup()


def test_revoked_node_is_closed_and_refused():
    with Hub() as hub:
        token = hub.create_node("n2")
        keep = tempfile.TemporaryDirectory(prefix="verge-it-edge-")
        with Edge(hub.edge_port, token, workdir=keep.name) as edge:
            hub.wait_online("n2")
            hub.api("POST", "/api/v1/nodes/n2/revoke", expect=200)
            wait_until(lambda: not hub.node("n2")["online"], TIMEOUT, "revoked node offline")
            check_eq(hub.node("n2")["state"], "revoked", "state")
            edge.wait_log("access revoked")
        # Restarted with its (still valid) certificate, it is refused at CONNECT.
        refused = hub.metric("verge_hub_enrol_refused_total")
        with Edge(hub.edge_port, None, workdir=keep.name) as again:
            wait_until(lambda: hub.metric("verge_hub_enrol_refused_total") > refused, TIMEOUT,
                       "the revoked node's connection refused")
            check(not again.sync_status().get("connected"), "revoked node not connected")
            check(not hub.node("n2")["online"], "revoked node stays offline")
        keep.cleanup()


def test_no_certificate_or_foreign_certificate_refused():
    with Hub() as hub:
        hub.create_node("n3")
        # TLS without a client certificate: the handshake passes, CONNECT is refused.
        c = Client(hub.edge_port, "n3", tls=hub.tls(), expect_rc=None, protocol=MQTTv5)
        code = c.connack[1].value if hasattr(c.connack[1], "value") else c.connack[1]
        check_eq(code, 0x87, "CONNACK without a certificate (Not authorized)")
        # A wrong enrolment token is refused the same way.
        c2 = Client(hub.edge_port, "n3", tls=hub.tls(), username="enroll",
                    password="vgt1.n3.wrongsecret." + "0" * 64, expect_rc=None,
                    protocol=MQTTv5)
        code = c2.connack[1].value if hasattr(c2.connack[1], "value") else c2.connack[1]
        check_eq(code, 0x87, "CONNACK with a wrong token")
        # A certificate with the node's name from another CA: the TLS handshake fails.
        foreign = make_tls(hub.dir)
        rogue = paho.Client(client_id="n3", protocol=MQTTv5)
        rogue.tls_set(**hub.tls(foreign["device-1.crt"], foreign["device-1.key"]))
        accepted = False
        try:
            rogue.connect("127.0.0.1", hub.edge_port, 5)
            for _ in range(20):  # each loop() waits for the socket, up to 0.25 s
                if rogue.loop(timeout=0.25) != 0:
                    break
            accepted = rogue.is_connected()
        except (ssl.SSLError, OSError):
            pass  # refused in the handshake (TLS 1.3 tells the client after its Finished)
        check(not accepted, "a certificate from another CA was accepted")
        # A device on the hub's plain listener may not take a node's name.
        c3 = Client(hub.mqtt, "dev", username="n3", password="x", expect_rc=None,
                    protocol=MQTTv5)
        code = c3.connack[1].value if hasattr(c3.connack[1], "value") else c3.connack[1]
        check_eq(code, 0x87, "a device using a node's name on the plain listener")


def test_viewer_cannot_change_anything_and_changes_are_audited():
    with Hub() as hub:
        _, tok = hub.api("POST", "/api/v1/tokens", {"name": "watcher", "role": "viewer"},
                         expect=201)
        viewer = tok["token"]
        _, op = hub.api("POST", "/api/v1/tokens", {"name": "ops", "role": "operator"}, expect=201)
        operator = op["token"]
        status, _ = hub.call("GET", "/api/v1/nodes")
        check_eq(status, 401, "no token")
        status, _ = hub.call("GET", "/api/v1/nodes", token=viewer)
        check_eq(status, 200, "viewer reads")
        for method, path, body in [("POST", "/api/v1/nodes", {"id": "x"}),
                                   ("PUT", "/api/v1/desired/selectors/site%3Dhydro",
                                    desired_doc(30)),
                                   ("POST", "/api/v1/tokens", {"name": "y", "role": "admin"})]:
            status, doc = hub.call(method, path, body, token=viewer)
            check_eq(status, 403, f"viewer {method} {path}: {doc}")
        status, _ = hub.call("POST", "/api/v1/tokens", {"name": "z", "role": "admin"},
                             token=operator)
        check_eq(status, 403, "operator may not create tokens")
        status, _ = hub.call("POST", "/api/v1/nodes", {"id": "made-by-ops"}, token=operator)
        check_eq(status, 201, "operator creates a node")
        _, audit = hub.api("GET", "/api/v1/audit", expect=200)
        entries = audit["entries"] if isinstance(audit, dict) else audit
        actions = [(e["who"], e["action"], e["target"]) for e in entries]
        check(("ops", "node.create", "node:made-by-ops") in actions, f"audit {actions}")
        check(any(w == "admin" and a == "token.create" for w, a, _ in actions), f"audit {actions}")
        text = str(entries)
        check(viewer not in text and operator not in text, "no token text in the audit log")


def test_desired_state_round_trip_and_offline_restart():
    with Hub() as hub:
        token = hub.create_node("n4", labels={"site": "hydro"})
        keep = tempfile.TemporaryDirectory(prefix="verge-it-edge-")
        edge = Edge(hub.edge_port, token, workdir=keep.name)
        with edge:
            hub.wait_online("n4")
            _, put = hub.api("PUT", "/api/v1/desired/selectors/site%3Dhydro", desired_doc(30),
                             expect=200)
            check_eq(put["nodes"], ["n4"], "nodes the change reached")
            version = hub.api("GET", "/api/v1/nodes/n4/desired", expect=200)[1]["version"]
            wait_until(lambda: hub.node("n4").get("applied_version") == version, TIMEOUT,
                       f"version {version} applied")
            report = hub.node("n4")["report"]
            check_eq(report.get("failed"), [], "nothing failed")
            status, rule = edge.call("GET", "/api/v1/rules/hot")
            check_eq(status, 200, "the rule runs on the node")
            # Hub-managed items are read-only on the node.
            status, _ = edge.call("DELETE", "/api/v1/rules/hot")
            check_eq(status, 409, "local delete of a hub rule")
            sub = Client(edge.mqtt, "alerts")
            sub.subscribe("alerts/#", 1)
            pub = Client(edge.mqtt, "sensor")
            pub.publish("sensors/a", '{"dev":"a","temp":35}', 1)
            check_eq(sub.expect().topic, "alerts/hot", "the rule fires")
            # A bad item fails alone, with its reason; the rest of the document applies.
            bad = desired_doc(40)
            bad["rules"]["broken"] = {"id": "broken", "sql": "SELEC nonsense",
                                      "actions": [{"log": {}}]}
            hub.api("PUT", "/api/v1/desired/selectors/site%3Dhydro", bad, expect=200)
            v2 = hub.api("GET", "/api/v1/nodes/n4/desired", expect=200)[1]["version"]
            wait_until(lambda: hub.node("n4").get("applied_version") == v2, TIMEOUT,
                       f"version {v2} applied")
            failed = hub.node("n4")["report"]["failed"]
            check_eq([f["item"] for f in failed], ["rules/broken"], "failed items")
            sub.c.disconnect()
            pub.c.disconnect()
        # The hub goes away; the node restarts without it and runs its last applied state.
        hub.stop()
        with Edge(hub.edge_port, None, workdir=keep.name) as offline:
            status, rule = offline.call("GET", "/api/v1/rules/hot")
            check_eq(status, 200, "the rule is back without the hub")
            check("temp > 40" in rule["sql"], f"the last applied version of the rule: {rule}")
            sub = Client(offline.mqtt, "alerts2")
            sub.subscribe("alerts/#", 1)
            pub = Client(offline.mqtt, "sensor2")
            pub.publish("sensors/b", '{"dev":"b","temp":45}', 1)
            check_eq(sub.expect().topic, "alerts/hot", "the rule fires offline")
            check(not offline.sync_status().get("connected"), "no hub")
        keep.cleanup()
        hub.start()


def test_old_certificate_refused_after_reenrolment():
    with Hub() as hub:
        token = hub.create_node("n7")
        keep_a = tempfile.TemporaryDirectory(prefix="verge-it-edge-a-")
        keep_b = tempfile.TemporaryDirectory(prefix="verge-it-edge-b-")
        with Edge(hub.edge_port, token, workdir=keep_a.name):
            hub.wait_online("n7")
        first_serial = hub.node("n7")["cert_serial"]
        # Re-enrolment of the active node (say its enrolment reply was lost): a new token.
        _, reply = hub.api("POST", "/api/v1/nodes/n7/token", expect=201)
        check(reply["token"].startswith("vgt1.n7.") and reply["token"] != token, "a new token")
        check_eq(hub.node("n7")["state"], "active", "still active while re-enrolling")
        with Edge(hub.edge_port, reply["token"], workdir=keep_b.name) as b:
            wait_until(lambda: hub.node("n7")["cert_serial"] != first_serial, TIMEOUT,
                       "the new certificate's serial recorded")
            wait_until(lambda: b.sync_status().get("connected"), TIMEOUT, "B connected")
            hub.wait_online("n7")
        # A again, with its old certificate (same CN, CA-signed, not expired): refused.
        refused = hub.metric("verge_hub_enrol_refused_total")
        last_seen = hub.node("n7")["last_seen_ms"]
        with Edge(hub.edge_port, None, workdir=keep_a.name) as a:
            wait_until(lambda: hub.metric("verge_hub_enrol_refused_total") > refused, TIMEOUT,
                       "the old certificate refused")
            check(not a.sync_status().get("connected"), "A not connected")
            check_eq(hub.node("n7")["last_seen_ms"], last_seen, "nothing heard from n7 via A")
        # B, with the current certificate, still connects.
        with Edge(hub.edge_port, None, workdir=keep_b.name) as b:
            wait_until(lambda: b.sync_status().get("connected"), TIMEOUT, "B reconnected")
            wait_until(lambda: hub.node("n7")["last_seen_ms"] > last_seen, TIMEOUT,
                       "n7 heard from again via B")
        keep_a.cleanup()
        keep_b.cleanup()

if __name__ == "__main__":
    main([test_enrolment_heartbeat_and_token_reuse, test_revoked_node_is_closed_and_refused,
          test_no_certificate_or_foreign_certificate_refused,
          test_viewer_cannot_change_anything_and_changes_are_audited,
          test_desired_state_round_trip_and_offline_restart,
          test_old_certificate_refused_after_reenrolment])
