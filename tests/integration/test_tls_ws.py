#!/usr/bin/python3
"""MQTT over TLS (server verification, required client certificates, certificate identity with
the ACL) and over WebSocket / secure WebSocket, with paho."""
import os
import ssl
import tempfile

from harness import (MQTTv311, MQTTv5, Client, Raw, TestFailure, Verge, check, check_eq,
                     connect_packet, main, make_tls)

TLS_DIR = None
TLS = None


def tls_args(require=False, identity=False):
    args = ["--mqtts-listen", "127.0.0.1:0", "--tls-cert", TLS["server.crt"],
            "--tls-key", TLS["server.key"], "--tls-ca", TLS["ca.crt"]]
    if require:
        args += ["--tls-require-client-cert", "true"]
    if identity:
        args += ["--tls-cert-identity", "true"]
    return args


def client_tls(cert=None):
    d = dict(ca_certs=TLS["ca.crt"], tls_version=ssl.PROTOCOL_TLS_CLIENT)
    if cert:
        d.update(certfile=TLS[f"{cert}.crt"], keyfile=TLS[f"{cert}.key"])
    return d


def refused(port, cid, cert=None):
    """True when the broker does not let this TLS client in: a TLS alert (TLS 1.3 reports a
    missing or unknown client certificate after the handshake), a close before CONNACK, or a
    refusing CONNACK. Uses a raw TLS socket, so the outcome is seen at once."""
    ctx = ssl.create_default_context(cafile=TLS["ca.crt"])
    if cert:
        ctx.load_cert_chain(TLS[f"{cert}.crt"], TLS[f"{cert}.key"])
    try:
        r = Raw(port, tls_context=ctx)
        r.send(connect_packet(cid, version=5))
        ack = r.read_packet()
    except (ssl.SSLError, OSError):
        return True
    r.close()
    return ack is None or ack[0] != 0x20 or ack[1][1] != 0


def test_mqtts_server_verified():
    with Verge(*tls_args()) as v:
        port = v.ports["mqtts"]
        for proto in (MQTTv311, MQTTv5):
            c = Client(port, f"tls-{proto}", proto, tls=client_tls())
            c.subscribe("tls/t", 2)
            c.publish("tls/t", b"secure", qos=2)
            check_eq(c.expect("tls/t").payload, b"secure", "message over TLS")
            c.disconnect()
        # Plain TCP and TLS clients share one broker.
        plain = Client(v.mqtt, "plain", MQTTv311)
        plain.subscribe("mix", 1)
        t = Client(port, "tls-pub", MQTTv5, tls=client_tls())
        t.publish("mix", b"from-tls", qos=1)
        check_eq(plain.expect("mix").payload, b"from-tls", "TLS -> TCP routing")
        # A client that does not trust our CA fails certificate verification.
        try:
            Client(port, "untrusting", MQTTv311, tls=dict(tls_version=ssl.PROTOCOL_TLS_CLIENT))
            raise TestFailure("a client without the CA verified the server certificate")
        except ssl.SSLCertVerificationError:
            pass
        # A plain MQTT client on the TLS port gets nothing.
        check(refused_plain(port), "plain MQTT on the mqtts port was answered")
        t.disconnect()
        plain.disconnect()


def refused_plain(port):
    r = Raw(port)
    r.send(connect_packet("plain-on-tls"))
    try:
        got = r.wait_closed(timeout=12)
    except TestFailure:
        return False
    return all(p[0] != 0x20 for p in got)


def test_client_cert_required():
    with Verge(*tls_args(require=True)) as v:
        port = v.ports["mqtts"]
        check(refused(port, "no-cert"), "client without cert accepted")
        check(refused(port, "rogue", "rogue"),
              "client with a certificate from an unknown CA accepted")
        check(not refused(port, "device-1-raw", "device-1"), "raw client with a good cert refused")
        c = Client(port, "device-1", MQTTv5, tls=client_tls("device-1"))
        c.subscribe("x", 1)
        c.publish("x", b"ok", qos=1)
        c.expect("x")
        c.disconnect()


def test_cert_identity_acl():
    acl = os.path.join(TLS_DIR, "acl.conf")
    with open(acl, "w") as f:
        f.write("allow all authenticated devices/%u/#\n")
    with Verge(*tls_args(identity=True), "--acl-file", acl, "--allow-anonymous", "false") as v:
        port = v.ports["mqtts"]
        # The username comes from the certificate (CN=device-1), whatever the client id.
        for proto, refused_code in ((MQTTv311, 0x80), (MQTTv5, 0x87)):
            c = Client(port, "some-id", proto, tls=client_tls("device-1"))
            c.subscribe("devices/device-1/#", 1)
            c.subscribe("devices/device-2/#", 1, expect=refused_code)
            c.publish("devices/device-1/t", b"mine", qos=1)
            check_eq(c.expect("devices/device-1/t").payload, b"mine", "own topic")
            c.disconnect()
        # A claimed username does not override the certificate's.
        c = Client(port, "claims", MQTTv5, tls=client_tls("device-1"), username="device-2",
                   password="x")
        c.subscribe("devices/device-2/#", 1, expect=0x87)
        c.disconnect()
        # Without a certificate the client is anonymous, and anonymous is off.
        check(refused(port, "anon"), "anonymous TLS client accepted")


def test_websocket():
    args = tls_args() + ["--ws-listen", "127.0.0.1:0", "--wss-listen", "127.0.0.1:0"]
    with Verge(*args) as v:
        tcp = Client(v.mqtt, "tcp", MQTTv311)
        tcp.subscribe("ws/#", 1)
        for proto in (MQTTv311, MQTTv5):
            ws = Client(v.ports["ws"], f"ws-{proto}", proto, transport="websockets")
            ws.subscribe("ws/echo", 2)
            ws.publish("ws/echo", b"over-ws", qos=2)
            check_eq(ws.expect("ws/echo").payload, b"over-ws", "ws round trip")
            check_eq(tcp.expect("ws/echo").payload, b"over-ws", "ws -> tcp")
            wss = Client(v.ports["wss"], f"wss-{proto}", proto, transport="websockets",
                         tls=client_tls())
            wss.subscribe("wss/in", 1)
            tcp.publish("wss/in", b"x" * 70000, qos=1)  # > 64 KiB: 8-byte WebSocket length
            check_eq(wss.expect("wss/in").payload, b"x" * 70000, "tcp -> wss large message")
            wss.publish("ws/from-wss", b"secure-ws", qos=1)
            check_eq(tcp.expect("ws/from-wss").payload, b"secure-ws", "wss -> tcp")
            ws.disconnect()
            wss.disconnect()
        tcp.disconnect()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="verge-tls-") as d:
        TLS_DIR = d
        TLS = make_tls(d)
        main([test_mqtts_server_verified, test_client_cert_required, test_cert_identity_acl,
              test_websocket])
