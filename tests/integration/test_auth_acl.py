#!/usr/bin/python3
"""Password file (made with `verge passwd`), anonymous access rules and the ACL file."""
import os
import tempfile

from harness import (MQTTv311, MQTTv5, Client, Raw, Verge, check, check_eq, connect_packet,
                     main, mstr, packet, varint, verge_passwd)
import struct


def password_file(directory, users):
    path = os.path.join(directory, "passwords.txt")
    first = True
    for user, pw in users.items():
        verge_passwd(path, user, pw, create=first)
        first = False
    check_eq(os.stat(path).st_mode & 0o777, 0o600, "password file mode")
    with open(path) as f:
        text = f.read()
    check("$argon2id$" in text and "s3cret" not in text, "password file holds argon2id hashes")
    return path


def test_passwords():
    with tempfile.TemporaryDirectory() as d:
        pw = password_file(d, {"alice": "s3cret", "bob": "hunter2"})
        with Verge("--password-file", pw, "--allow-anonymous", "false") as v:
            # v3.1.1 return code 4 is "bad user name or password" (spec 3.2.2.3), 5 "not
            # authorized"; v5 uses 0x86 and 0x87.
            for proto, bad_code, anon_code in ((MQTTv311, 4, 5), (MQTTv5, 0x86, 0x87)):
                ok = Client(v.mqtt, f"alice-{proto}", proto, username="alice", password="s3cret")
                ok.subscribe("a", 1)
                ok.publish("a", b"x", qos=1)
                ok.expect("a")
                ok.disconnect()
                Client(v.mqtt, f"bob-{proto}", proto, username="bob",
                       password="hunter2").disconnect()
                # A cached good login must not make a wrong password pass.
                Client(v.mqtt, f"alice-bad-{proto}", proto, username="alice", password="s3cret!",
                       expect_rc=bad_code).c.loop_stop()
                Client(v.mqtt, f"nobody-{proto}", proto, username="nobody", password="s3cret",
                       expect_rc=bad_code).c.loop_stop()
                Client(v.mqtt, f"anon-{proto}", proto, expect_rc=anon_code).c.loop_stop()
            check_eq(v.metric("verge_mqtt_denied_total", reason="bad_credentials"), 4.0,
                     "bad credentials counter")
            check_eq(v.metric("verge_mqtt_denied_total", reason="anonymous"), 2.0,
                     "anonymous refusals counter")


def test_anonymous_depends_on_listener():
    with tempfile.TemporaryDirectory() as d:
        pw = password_file(d, {"alice": "s3cret"})
        # 0.0.0.0 without --allow-anonymous: anonymous refused even from 127.0.0.1.
        with Verge("--password-file", pw, mqtt="0.0.0.0:0") as v:
            check('anonymous=' in v.log(), "listening line tells whether anonymous is allowed")
            Client(v.mqtt, "anon3", MQTTv311, expect_rc=5).c.loop_stop()
            Client(v.mqtt, "anon5", MQTTv5, expect_rc=0x87).c.loop_stop()
            Client(v.mqtt, "alice", MQTTv5, username="alice", password="s3cret").disconnect()
            Client(v.mqtt, "alice-bad", MQTTv5, username="alice", password="nope",
                   expect_rc=0x86).c.loop_stop()
        # Loopback listener: anonymous allowed, a wrong password still refused.
        with Verge("--password-file", pw) as v:
            Client(v.mqtt, "anon3", MQTTv311).disconnect()
            Client(v.mqtt, "anon5", MQTTv5).disconnect()
            Client(v.mqtt, "alice-bad", MQTTv311, username="alice", password="nope",
                   expect_rc=4).c.loop_stop()
        # --allow-anonymous true opens 0.0.0.0 too.
        with Verge("--allow-anonymous", "true", mqtt="0.0.0.0:0") as v:
            Client(v.mqtt, "anon", MQTTv5).disconnect()


ACL = """# devices only under their own client id; the back-end sees every device
allow all user:backend devices/#
allow all authenticated devices/%c/#
"""


def raw_v5_login(port, cid, user, password):
    r = Raw(port)
    r.send(connect_packet(cid, version=5, username=user, password=password))
    ack = r.read_packet()
    check(ack is not None and ack[0] == 0x20 and ack[1][1] == 0, f"raw v5 login: {ack}")
    return r


def test_acl_devices():
    with tempfile.TemporaryDirectory() as d:
        pw = password_file(d, {"device-1": "pw1", "device-2": "pw2", "backend": "pwb"})
        acl = os.path.join(d, "acl.conf")
        with open(acl, "w") as f:
            f.write(ACL)
        with Verge("--password-file", pw, "--acl-file", acl, "--allow-anonymous", "false") as v:
            backend = Client(v.mqtt, "backend", MQTTv5, username="backend", password="pwb")
            backend.subscribe("devices/#", 1)
            for proto, refused in ((MQTTv311, 0x80), (MQTTv5, 0x87)):
                dev = Client(v.mqtt, "device-1", proto, username="device-1", password="pw1")
                dev.subscribe("devices/device-1/#", 1)
                dev.subscribe("devices/device-2/#", 1, expect=refused)
                dev.subscribe("devices/+/cmd", 1, expect=refused)  # would cover other devices
                dev.subscribe("#", 1, expect=refused)
                dev.publish("devices/device-1/telemetry", b"t1", qos=1)
                check_eq(backend.expect("devices/device-1/telemetry").payload, b"t1",
                         "own topic delivered")
                check_eq(dev.expect("devices/device-1/telemetry").payload, b"t1", "own echo")
                dev.publish("devices/device-2/cmd", b"forged", qos=1)
                backend.publish("devices/device-1/cmd", b"c1", qos=1)
                check_eq(dev.expect("devices/device-1/cmd").payload, b"c1", "command to device")
                # The forged message reached nobody: the backend's next message is its own.
                m = backend.expect()
                check_eq(m.topic, "devices/device-1/cmd", "forged publish was not delivered")
                dev.disconnect()

            # v5 PUBACK carries 0x87 for a denied QoS 1 publish, 0x00 for an allowed one.
            r = raw_v5_login(v.mqtt, "device-1", "device-1", "pw1")
            body = mstr("devices/device-2/cmd") + struct.pack("!H", 7) + varint(0) + b"x"
            r.send(packet(0x32, body))
            ack = r.read_packet()
            check_eq((ack[0], ack[1][:3]), (0x40, b"\x00\x07\x87"), "v5 PUBACK not authorized")
            body = mstr("devices/device-1/ok") + struct.pack("!H", 8) + varint(0) + b"y"
            r.send(packet(0x32, body))
            ack = r.read_packet()
            check(ack[0] == 0x40 and ack[1][:2] == b"\x00\x08" and ack[1][2:3] in (b"", b"\x00"),
                  f"v5 PUBACK success, got {ack}")
            check_eq(backend.expect("devices/device-1/ok").payload, b"y", "allowed raw publish")
            r.close()

            # A will on a topic the client may not publish to is refused at CONNECT.
            for proto, code in ((MQTTv311, 5), (MQTTv5, 0x87)):
                Client(v.mqtt, "device-1", proto, username="device-1", password="pw1",
                       will=dict(topic="devices/device-2/status", payload=b"x", qos=1),
                       expect_rc=code).c.loop_stop()

            # A client id of "+" makes the %c rule inapplicable: nothing is allowed.
            wild = Client(v.mqtt, "+", MQTTv5, username="device-2", password="pw2")
            wild.subscribe("devices/+/#", 1, expect=0x87)
            wild.disconnect()
            check(v.metric("verge_mqtt_denied_total", reason="acl_publish") >= 3,
                  "acl_publish counter")
            check(v.metric("verge_mqtt_denied_total", reason="acl_subscribe") >= 7,
                  "acl_subscribe counter")
            backend.disconnect()


if __name__ == "__main__":
    main([test_passwords, test_anonymous_depends_on_listener, test_acl_devices])
