"""A throwaway PostgreSQL server for tests.

    with temp_postgres() as url:   # postgres://postgres@127.0.0.1:PORT/verge
        ...

Starts initdb + postgres from the installed PostgreSQL (pg_config --bindir, else
/usr/lib/postgresql/*/bin) in a temporary directory, on 127.0.0.1 and a free port, with trust
authentication and fsync off (tests, not durability), and creates the database `verge`. PostgreSQL
refuses to run as root: when we are root the server runs as the `postgres` user (runuser). At the
end the server is stopped with `pg_ctl stop -m immediate` and the directory removed.
"""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries here (scripts/bootstrap installs them)."""


def find_bindir():
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        bindir = out.stdout.strip()
        if os.path.exists(os.path.join(bindir, "initdb")):
            return bindir
    except (OSError, subprocess.CalledProcessError):
        pass
    # Debian's pg_config (libpq-dev) names /usr/bin, where initdb is not: use the server's folder.
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return os.path.dirname(candidates[0])
    raise PostgresUnavailable("PostgreSQL server binaries not found (run scripts/bootstrap)")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user():
    """The command prefix that runs a server binary as a non-root user."""
    if os.geteuid() != 0:
        return [], None
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError as e:
        raise PostgresUnavailable("running as root and there is no postgres user") from e
    return ["runuser", "-u", "postgres", "--"], pw


def _wait_ready(bindir, prefix, port, proc, log_path, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        r = subprocess.run(prefix + [os.path.join(bindir, "pg_isready"), "-h", "127.0.0.1",
                                     "-p", str(port), "-q"], capture_output=True)
        if r.returncode == 0:
            return True
        time.sleep(0.1)  # polling a starting server: there is nothing to wait on
    with open(log_path, errors="replace") as f:
        raise RuntimeError("postgres did not become ready:\n" + f.read()[-2000:])


@contextlib.contextmanager
def temp_postgres(database="verge"):
    bindir = find_bindir()
    prefix, pw = _as_server_user()
    root = tempfile.mkdtemp(prefix="verge_pg_")
    data = os.path.join(root, "data")
    log_path = os.path.join(root, "server.log")
    if pw is not None:
        os.chown(root, pw.pw_uid, pw.pw_gid)
    os.chmod(root, 0o700)
    proc = None
    try:
        subprocess.run(prefix + [os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres",
                                 "-A", "trust", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True)
        for _attempt in range(5):
            port = _free_port()  # another process may take it before postgres binds: retry
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(
                    prefix + [os.path.join(bindir, "postgres"), "-D", data,
                              "-h", "127.0.0.1", "-p", str(port), "-k", root,
                              "-c", "fsync=off", "-c", "synchronous_commit=off",
                              "-c", "full_page_writes=off", "-c", "max_connections=50"],
                    stdout=log, stderr=subprocess.STDOUT)
            if _wait_ready(bindir, prefix, port, proc, log_path):
                break
            proc.wait()
            proc = None
        if proc is None:
            with open(log_path, errors="replace") as f:
                raise RuntimeError("postgres would not start:\n" + f.read()[-2000:])
        subprocess.run(prefix + [os.path.join(bindir, "createdb"), "-h", "127.0.0.1",
                                 "-p", str(port), "-U", "postgres", database],
                       check=True, capture_output=True)
        yield f"postgres://postgres@127.0.0.1:{port}/{database}"
    finally:
        if proc is not None:
            subprocess.run(prefix + [os.path.join(bindir, "pg_ctl"), "stop", "-D", data,
                                     "-m", "immediate"], capture_output=True)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    with temp_postgres() as url:
        print(url)
