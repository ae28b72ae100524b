#!/usr/bin/python3
"""The time-series HTTP API of the real binary: the store opens under <data-dir>/tsdb, the
routes answer JSON, bad parameters are a 400 naming them, and the store's metrics are exported.
(Nothing publishes points yet; the query paths over data are covered by the unit tests.)"""
import json
import os
import urllib.error
import urllib.request

from harness import Verge, check, check_eq, main


def get(v, path):
    url = f"http://127.0.0.1:{v.ports['http']}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers.get("Content-Type"), json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), json.loads(e.read().decode())


def test_series_api_answers_json():
    with Verge() as v:
        status, ctype, body = get(v, "/api/v1/series")
        check_eq(status, 200, "list status")
        check_eq(ctype, "application/json", "content type")
        check_eq(body, {"series": []}, "empty list")
        status, _, body = get(v, "/api/v1/series?name=pump-1%2Ftemperature&step=0")
        check_eq(status, 400, "bad step")
        check("'step'" in body["error"], f"the error names step: {body}")
        status, _, body = get(v, "/api/v1/series?name=pump-1/temperature&from=yesterday")
        check_eq(status, 400, "bad from")
        check("'from'" in body["error"], f"the error names from: {body}")
        status, _, body = get(v, "/api/v1/series/latest")
        check_eq(status, 400, "latest without a name")
        status, _, body = get(v, "/api/v1/series?name=pump-1/temperature")
        check_eq(status, 404, "unknown series")
        check_eq(body, {"error": "no series pump-1/temperature"}, "404 body")
        check_eq(v.metric("verge_tsdb_series"), 0.0, "series gauge")
        check(os.path.isfile(os.path.join(v.dir, "data", "tsdb", "series.cat")),
              "the store lives under <data-dir>/tsdb")


if __name__ == "__main__":
    main([test_series_api_answers_json])
