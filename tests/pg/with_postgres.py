"""Runs a command with VERGE_TEST_PG_URL set to a fresh throwaway PostgreSQL server.

    python3 tests/pg/with_postgres.py build/bin/pg_tests --gtest_filter='IngestPg*'

Exits with the command's status. Without PostgreSQL binaries it fails (status 1) rather than
passing silently: the ctest postgres_unit is meant to test PostgreSQL.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from pg_server import PostgresUnavailable, temp_postgres  # noqa: E402


def main():
    if len(sys.argv) < 2:
        print("usage: with_postgres.py COMMAND [ARGS...]", file=sys.stderr)
        return 2
    try:
        with temp_postgres() as url:
            env = dict(os.environ, VERGE_TEST_PG_URL=url)
            return subprocess.run(sys.argv[1:], env=env).returncode
    except PostgresUnavailable as e:
        print(f"with_postgres: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
