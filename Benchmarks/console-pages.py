#!/usr/bin/env python3
"""The console's pages against their target: each page in < 50 ms server time with 10,000 grants and
1,000 operators (Docs/benchmarks.md, "Console pages").

    cd Benchmarks && (cd .. && swift build -c release --product pdx) && ./console-pages.py
    ./console-pages.py --pdx ../.build/debug/pdx        # another build of the server
    ./console-pages.py --pdx /tmp/pdx-before --pdx ../.build/debug/pdx   # two builds, one run

With --pdx given more than once, the first build seeds the data directory and each build in turn then
serves the same data and is measured, so a change is compared before and after on the same machine,
load and data.

Starts `pdx serve` on a fresh SQLite data directory (rate limit off), seeds it through the API: one
authority and its reviewer, OPERATORS approved operators, ten open datasets and one conditional one,
and GRANTS grants spread over the operators, nine in ten active on the open datasets, one in ten pending
on the conditional one (the reviewer's inbox holds those). Then it requests each page ROUNDS times after
five warm-up requests, one at a time on one keep-alive connection, signed in as the page's role; the time
is the client's round trip on loopback. GET /healthz and the stylesheet are measured the same way in the
same run: what the HTTP layer costs without a page. Prints each page's median and p90 in ms.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(n):
    """A valid unified social credit code (GB 32100-2015 check character), different for each n."""
    prefix = f"91110108{n:09d}"
    check = (31 - sum(ALPHABET.index(c) * w for c, w in zip(prefix, WEIGHTS)) % 31) % 31
    return prefix + ALPHABET[check]


class Client:
    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def send(self, method, path, key=None, cookie=None, body=None, form=None):
        headers = {}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if cookie:
            headers["Cookie"] = cookie
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            data = urllib.parse.urlencode(form).encode()
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.getheaders(), response.read()

    def call(self, method, path, key, body):
        status, _, data = self.send(method, path, key=key, body=body)
        if status >= 300:
            sys.exit(f"{path}: {status} {data[:500]!r}")
        return json.loads(data) if data else {}

    def session(self, key):
        """A console session for key: its cookie and CSRF token."""
        _, headers, page = self.send("GET", "/console/sign-in")
        sign_in = next(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie" and v.startswith("pdx_sign_in="))
        token = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        status, headers, _ = self.send("POST", "/console/sign-in", cookie=sign_in, form={"csrf": token, "api_key": key})
        cookie = next(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie" and v.startswith("pdx_session="))
        _, _, home = self.send("GET", "/console/", cookie=cookie)
        return cookie, re.search(rb'name="csrf" value="([^"]+)"', home).group(1).decode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pdx", action="append", help="a pdx binary; several are measured in turn on the same data")
    parser.add_argument("--operators", type=int, default=1_000)
    parser.add_argument("--grants", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    builds = args.pdx or ["../.build/release/pdx"]

    directory = tempfile.mkdtemp(prefix="pdx-console-bench-")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(os.path.join(directory, "serve.log"), "w")

    def serve(build):
        server = subprocess.Popen([build, "serve", "--data-dir", directory + "/data", "--port", str(port), "--rate-limit", "0"],
                                  stdout=log, stderr=log)
        for _ in range(600):
            try:
                if Client(port).send("GET", "/readyz")[0] == 200:
                    return server
            except OSError:
                pass
            if server.poll() is not None:
                sys.exit(f"{build} ended with {server.returncode}; see {log.name}")
            time.sleep(0.1)
        sys.exit(f"{build} did not become ready")

    server = serve(builds[0])
    try:
        client = Client(port)
        admin = open(directory + "/data/admin.token").read().strip()
        began = time.monotonic()
        client.call("POST", "/v1/authorities", admin, {"id": "bj", "name": "北京市大数据中心", "region": "Beijing"})
        reviewer = client.call("POST", "/v1/principals", admin, {"name": "r", "role": "authority_reviewer", "authority_id": "bj"})["api_key"]
        finance = client.call("POST", "/v1/principals", admin, {"name": "f", "role": "finance"})["api_key"]
        for n in range(11):
            client.call("POST", "/v1/datasets", reviewer, {
                "id": f"bj-open-{n}" if n < 10 else "bj-cond", "title": f"Road flow {n}", "theme": "traffic",
                "openness": "open" if n < 10 else "conditional", "grade": "general",
                "fields": [{"name": "road_id", "type": "string"}, {"name": "flow", "type": "integer"},
                           {"name": "plate", "type": "string", "sensitive": True}],
                "units": ["call"], "ceiling_prices": {"call": "0.05"}, "revenue_share_bps": 3000, "delivery": "declared"})
        keys = []
        for n in range(args.operators):
            key = client.call("POST", "/v1/principals", admin, {"name": f"o{n}", "role": "operator"})["api_key"]
            applied = client.call("POST", "/v1/operators", key, {
                "legal_name": f"运营单位{n}", "uscc": uscc(n), "mlps_level": 3, "tier": "standard",
                "security_officer": {"name": "Li Wei", "email": "security@example.com"}, "certifications": ["ISO27001"],
                "documents": [{"name": "licence.pdf", "sha256": "ab" * 32}]})
            client.call("POST", f"/v1/operators/{applied['id']}/reviews", reviewer, {"decision": "approve"})
            keys.append(key)
        now = datetime.now(timezone.utc)
        starts, ends = (now - timedelta(days=1)).isoformat(), (now + timedelta(days=300)).isoformat()
        pending = None
        for n in range(args.grants):
            dataset = "bj-cond" if n % 10 == 9 else f"bj-open-{n % 10}"
            grant = client.call("POST", "/v1/grants", keys[n % len(keys)], {
                "purpose": f"benchmark {n}", "scenario": "industry", "starts_at": starts, "ends_at": ends,
                "agreement": {"id": "standard-data-use", "version": "1"},
                "datasets": [{"id": dataset, "fields": ["road_id", "flow"], "unit_prices": {"call": "0.04"},
                              "quota_per_period": {"call": 1000}}]})
            if dataset == "bj-cond":
                pending = grant["id"]
        print(f"seeded {args.operators} operators and {args.grants} grants in {time.monotonic() - began:.0f} s")
        for n, build in enumerate(builds):
            if n > 0:
                server.terminate()
                server.wait()
                server = serve(build)
            measure(Client(port), build, reviewer, finance, admin, keys[0], pending, args)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(directory, ignore_errors=True)


def measure(client, build, reviewer, finance, admin, operator, pending, args):
    """Each page ROUNDS times after five warm-up requests, on the server `build` answering on client's port."""
    bj, bj_csrf = client.session(reviewer)
    fin, _ = client.session(finance)
    root, _ = client.session(admin)
    op, _ = client.session(operator)
    _, _, audit = client.send("GET", "/console/audit", cookie=root)
    size = int(re.search(rb'id="log-size">(\d+)<', audit).group(1))
    pages = [
        ("GET /healthz (baseline)", "GET", "/healthz", None, None),
        ("GET /console/style.css (baseline)", "GET", "/console/style.css", bj, None),
        ("overview", "GET", "/console/", bj, None),
        (f"reviewer's grant inbox ({args.grants // 10} awaiting)", "GET", "/console/review/grants", bj, None),
        ("grant page", "GET", f"/console/review/grants/{pending}", bj, None),
        ("operator applications inbox", "GET", "/console/review/operators", bj, None),
        ("catalogue", "GET", "/console/catalogue", bj, None),
        ("dataset page", "GET", "/console/catalogue/bj-open-0", bj, None),
        (f"reclassification preview ({args.grants * 9 // 100} grants)", "POST", "/console/catalogue/bj-open-0/preview", bj,
         {"csrf": bj_csrf, "openness": "conditional", "grade": "general", "price_call": "0.05", "reason": "bench"}),
        ("finance year", "GET", "/console/finance", fin, None),
        ("audit page", "GET", "/console/audit", root, None),
        ("log entries, newest 50", "GET", "/console/audit/entries", root, None),
        ("log entry with inclusion proof", "GET", f"/console/audit/entries/{size // 2}", root, None),
        ("operator's own grants", "GET", "/console/operator", op, None),
    ]
    print(f"pdx: {build}; log of {size} entries; load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    for label, method, path, cookie, form in pages:
        times = []
        for round in range(args.rounds + 5):
            start = time.perf_counter()
            status, _, body = client.send(method, path, cookie=cookie, form=form)
            elapsed = (time.perf_counter() - start) * 1000
            if status != 200:
                sys.exit(f"{label}: {status}")
            if round >= 5:
                times.append(elapsed)
        times.sort()
        p90 = times[min(len(times) - 1, len(times) * 9 // 10)]
        print(f"{label:48} median {statistics.median(times):8.2f} ms  p90 {p90:8.2f} ms  {len(body):8d} bytes")


if __name__ == "__main__":
    main()
