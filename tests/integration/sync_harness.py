"""A hub (`verge cloud`) and edge nodes (`verge edge --hub`) for the sync tests.

    with Hub() as hub:
        token = hub.create_node("n1", labels={"site": "hydro"})
        with Edge(hub, token) as edge:
            hub.wait_online("n1")

Under tests/pg/with_postgres.py (VERGE_TEST_PG_URL set) every hub gets a database of its own on
that server and runs with --storage postgres://...: the same suites then test the PostgreSQL path.
"""
import json
import os
import ssl
import subprocess
import uuid

from harness import Verge, check, check_eq, wait_until, TIMEOUT

PG_URL = os.environ.get("VERGE_TEST_PG_URL", "")


def fresh_database(base_url):
    """A new empty database on the server of base_url; returns its URL."""
    name = "hub_" + uuid.uuid4().hex[:12]
    r = subprocess.run(["psql", base_url, "-v", "ON_ERROR_STOP=1", "-qc",
                        f"CREATE DATABASE {name}"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, f"psql CREATE DATABASE failed: {r.stderr}")
    return base_url.rsplit("/", 1)[0] + "/" + name


class Hub(Verge):
    def __init__(self, *args, workdir=None):
        extra = ["--mqtts-listen", "127.0.0.1:0"]
        if PG_URL:
            self.storage = fresh_database(PG_URL)
            extra += ["--storage", self.storage]
        super().__init__(*extra, *args, role="cloud", workdir=workdir)
        self.token_file = os.path.join(self.dir, "admin.token")
        self.args += ["--admin-token-file", self.token_file]
        self.admin = None

    def start(self):
        super().start()
        if self.admin is None:
            with open(self.token_file) as f:
                self.admin = f.read().strip()
        check(self.admin.startswith("vat1_"), f"admin token {self.admin!r}")

    @property
    def edge_port(self):
        return self.ports["mqtts"]

    def api(self, method, path, body=None, token=None, expect=None):
        status, doc = self.call(method, path, body, token=token or self.admin)
        if expect is not None:
            check_eq(status, expect, f"{method} {path} -> {doc}")
        return status, doc

    def create_node(self, node, site="", labels=None):
        _, doc = self.api("POST", "/api/v1/nodes",
                          {"id": node, "site": site, "labels": labels or {}}, expect=201)
        return doc["token"]

    def node(self, node):
        return self.api("GET", f"/api/v1/nodes/{node}", expect=200)[1]

    def wait_online(self, node, timeout=TIMEOUT):
        return wait_until(lambda: self.node(node).get("online"), timeout, f"{node} online")

    def records(self, node, stream, limit=1_000_000):
        out, seq = [], 0
        while True:
            _, doc = self.api("GET", f"/api/v1/nodes/{node}/streams/{stream}/records"
                                     f"?from_seq={seq}&limit=10000", expect=200)
            batch = doc["records"]
            out += batch
            if len(batch) < 10000 or len(out) >= limit:
                return out
            seq = batch[-1]["seq"] + 1

    def tls(self, cert=None, key=None):
        """paho tls_set() arguments trusting the hub's CA."""
        args = {"ca_certs": os.path.join(self.dir, "data", "pki", "ca.crt"),
                "cert_reqs": ssl.CERT_REQUIRED}
        if cert:
            args.update(certfile=cert, keyfile=key)
        return args


class Edge(Verge):
    def __init__(self, hub_port, token=None, *args, workdir=None, config=None):
        extra = ["--hub", f"127.0.0.1:{hub_port}", "--heartbeat", "200ms"]
        if token:
            extra += ["--token", token]
        if config:
            extra += ["--config", config]
        super().__init__(*extra, *args, workdir=workdir)

    def sync_status(self):
        return self.call("GET", "/api/v1/sync")[1]


def write_config(directory, text, name="edge.yaml"):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def seqs_and_values(records, field="n"):
    """(seqs, values of `field` in each record's row) of hub records of a rule's uplink action."""
    seqs, values = [], []
    for r in records:
        payload = r["payload"]
        if isinstance(payload, str):
            payload = json.loads(payload)
        seqs.append(r["seq"])
        values.append(payload["row"][field])
    return seqs, values


def check_exactly_once(values, produced, what):
    """Every produced value once, in order; prints the counts as the issue asks."""
    missing = sorted(set(produced) - set(values))
    dups = len(values) - len(set(values))
    in_order = values == sorted(values)
    print(f"{what}: produced {len(produced)}, stored {len(values)}, missing {len(missing)}, "
          f"duplicated {dups}, order kept {in_order}", flush=True)
    check(not missing, f"{what}: {len(missing)} records missing, first {missing[:10]}")
    check_eq(dups, 0, f"{what}: duplicated records")
    check(in_order, f"{what}: order not kept")
    check_eq(values, list(produced), f"{what}: stored values")
