#!/usr/bin/env python3
"""The portal's benchmark (docs/benchmark.md): a portfolio of N seeded customers, the
portal pinned to one core and wrk to the other, every page measured against a fixed
reference page served by the same process in the same run; then the CSV export, and a
refresh against a rate-limited sandbox. Prints Markdown tables for BENCHMARKS.md.

Usage (after `cargo build --release`, with wrk and taskset installed):
    python3 bench/run.py [--customers 100000] [--seconds 15] [--connections 64]
                         [--refresh-customers 10000] [--skip-refresh]
                         [--postgres postgres://postgres@127.0.0.1:5432/postgres]
"""
import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sign_in import sign_in  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "mca-portal"
# The sandbox's demo partner and its agent groups (src/sandbox/seed.rs).
CONTOSO = "c0a7050d-0000-4000-8000-000000000001"
GROUPS = {
    "ADMIN": "a0000000-0000-4000-8000-00000000c0a1",
    "SALES": "a0000000-0000-4000-8000-00000000c0a2",
    "HELPDESK": "a0000000-0000-4000-8000-00000000c0a3",
    "GLOBAL_ADMIN": "a0000000-0000-4000-8000-00000000c0a4",
}
PORTAL_CORE, LOAD_CORE = "0", "1"


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args, env, core, ready):
    """Starts the portal binary with `args` pinned to `core`; waits for a line starting
    with `ready` and returns the process and that line."""
    p = subprocess.Popen(
        ["taskset", "-c", core, str(BINARY), *args],
        env={**os.environ, "RUST_LOG": "warn", **env},
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in p.stdout:
        if line.startswith(ready):
            threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
            return p, line.strip()
    sys.exit(f"{' '.join(args)} stopped before it was ready")


def start_sandbox(customers, rate_limit=0):
    port = free_port()
    env = {"MCA_SANDBOX_EXTRA_CUSTOMERS": str(customers), "MCA_SANDBOX_RATE_LIMIT_PER_MINUTE": str(rate_limit)}
    p, line = start(["sandbox", "--bind", f"127.0.0.1:{port}"], env, LOAD_CORE, "Sandbox running at ")
    return p, line.removeprefix("Sandbox running at ")


def start_portal(database, sandbox, extra=None):
    env = {
        "MCA_BIND": f"127.0.0.1:{free_port()}",
        "MCA_DATABASE_URL": database,
        "MCA_OIDC_ISSUER": f"{sandbox}/idp/v2.0",
        "MCA_OIDC_CLIENT_SECRET": "sandbox-client-secret",
        "MCA_PARTNER_CENTER_URL": sandbox,
        "MCA_APP_TOKEN_ENDPOINT": f"{sandbox}/idp/{{tenant}}/oauth2/v2.0/token",
        "MCA_BENCHMARK_REFERENCE": "true",
        # The API's own work is measured, not its per-key limit of 600 a minute.
        "MCA_API_RATE_LIMIT_PER_MINUTE": "1000000000",
        **{f"MCA_{role}_AGENT_GROUPS" if role != "GLOBAL_ADMIN" else "MCA_GLOBAL_ADMIN_GROUPS": f'["{g}"]'
           for role, g in GROUPS.items()},
        **(extra or {}),
    }
    p, line = start(["serve"], env, PORTAL_CORE, "Open ")
    return p, line.removeprefix("Open ").removesuffix(" in your browser.")


def seed(database, customers):
    started = time.monotonic()
    out = subprocess.run(
        ["taskset", "-c", PORTAL_CORE, str(BINARY), "seed", "--customers", str(customers)],
        env={**os.environ, "RUST_LOG": "warn", "MCA_DATABASE_URL": database},
        capture_output=True, text=True, check=True,
    )
    return time.monotonic() - started, out.stdout


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """The largest resident set of `pid` while it runs, sampled every `every` seconds."""

    def __init__(self, pid, every):
        self.pid, self.every, self.peak, self._stop = pid, every, rss_kib(pid), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def fetch(url, headers=None, data=None):
    req = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def csrf_of(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def create_api_key(base, cookie):
    _, page = fetch(f"{base}/settings/api-keys", {"Cookie": cookie})
    once = re.search(r'name="once" value="([^"]+)"', page.decode()).group(1)
    body = urllib.parse.urlencode({"csrf_token": csrf_of(page.decode()), "once": once, "name": "benchmark"}).encode()
    status, page = fetch(f"{base}/settings/api-keys", {"Cookie": cookie}, body)
    match = re.search(r'id="new-key" value="([^"]+)"', page.decode())
    if status != 200 or not match:
        sys.exit(f"could not create an API key ({status})")
    return match.group(1)


def wrk(url, headers, seconds, connections):
    """Requests/s, p50 and p99 (ms), and the count of non-2xx answers and socket errors."""
    cmd = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    bad += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {"rps": rps, "p50": lat["50"], "p99": lat["99"], "errors": bad}


def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


class Database:
    """The benchmark's database: a SQLite file in the work directory, or a new PostgreSQL
    database on the server of `--postgres` (created here, dropped at the end). `row` reads
    one row of a statement whose values are the runner's own (no user input)."""

    def __init__(self, workdir, name, postgres=None):
        self.file, self.server = workdir / f"{name}.db", postgres
        if postgres:
            self.name = f"mca_bench_{os.getpid()}_{name}"
            subprocess.run(["psql", postgres, "-qc", f"CREATE DATABASE {self.name}"], check=True)
            self.url = postgres.rsplit("/", 1)[0] + "/" + self.name
        else:
            self.url = f"sqlite://{self.file}"

    def row(self, sql, *values):
        if not self.server:
            with sqlite3.connect(self.file) as db:
                return db.execute(sql.replace("%s", "?"), values).fetchone()
        quoted = tuple(v if isinstance(v, int) else "'" + str(v).replace("'", "''") + "'" for v in values)
        out = subprocess.run(["psql", self.url, "-AtF", "\t", "-c", sql % quoted], capture_output=True, text=True,
                             check=True).stdout
        return tuple(out.strip().split("\t")) if out.strip() else None

    def drop(self):
        if self.server:
            subprocess.run(["psql", self.server, "-qc", f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"])


def page_2000_after(db, size):
    """The list's position after the last row of page 1,999 (`after=name|id`), read from
    the database in the list's own order (company name, then customer id, byte order)."""
    collate = ' COLLATE "C"' if db.server else ""
    name, cid = db.row(
        f"SELECT company_name, customer_id FROM customers WHERE tenant_id = %s "
        f"ORDER BY company_name{collate}, customer_id{collate} LIMIT 1 OFFSET %s", CONTOSO, 1999 * size - 1)
    return f"{name}|{cid}"


def a_customer(db, status):
    """A customer of that status away from the first ones (the first one in a small portfolio)."""
    for offset in (5000, 0):
        row = db.row("SELECT customer_id FROM customers WHERE tenant_id = %s AND status = %s "
                     "ORDER BY customer_id LIMIT 1 OFFSET %s", CONTOSO, status, offset)
        if row:
            return row[0]
    raise SystemExit(f"no customer has the status {status}: seed more customers")


def pages(base, db):
    """Each page measured: its name, its path, and a text its answer must hold."""
    after = urllib.parse.quote(page_2000_after(db, 25))
    customer = a_customer(db, "reattestation_required")
    return [
        ("Customers, first page", "/customers", "Showing 25 of"),
        ("Customers, a search (\u201ccustomer 0421\u201d, 10 matches)", "/customers?q=customer+0421", "Showing 10 of 10 customers."),
        ("Customers, a search matching every generated customer (\u201cportfolio\u201d)", "/customers?q=portfolio", "Showing 25 of more than"),
        ("Customers, status Re-attestation required", "/customers?status=reattestation_required", "Showing 25 of 20,"),
        ("Customers, sorted by latest attestation, newest first", "/customers?sort=attested_newest", "Showing 25 of"),
        ("Customers, page 2,000", f"/customers?after={after}", "Showing 25 of"),
        ("Account page", f"/customers/{customer}", "Re-attestation required"),
        ("Dashboard", "/dashboard", "Customers in each MCA status"),
    ]


def check(base, path, headers, expect):
    status, body = fetch(base + path, dict(h.split(": ", 1) for h in headers))
    text = body.decode(errors="replace")
    if status != 200 or expect not in text:
        sys.exit(f"{path} answered {status} without \u201c{expect}\u201d: {text[:400]}")
    return len(body)


def load_pages(base, portal, db, cookie, key, opts):
    session, api = [f"Cookie: {cookie}"], [f"Authorization: Bearer {key}"]
    list_bytes = check(base, "/customers", session, "Showing 25 of")
    reference = f"/benchmark/reference?bytes={list_bytes}"
    customer = a_customer(db, "reattestation_required")
    runs = [("Reference: fixed page of the list's size from memory, no session", reference, [], "reference")]
    runs += [("The same reference page with the session cookie", reference, session, "reference")]
    runs += [(n, p, session, e) for n, p, e in pages(base, db)]
    runs += [("Readiness JSON (API key)", f"/api/v1/customers/{customer}/readiness", api, "blocked")]
    runs += [("Customers JSON, status filter, 25 a page (API key)", "/api/v1/customers?status=reattestation_required&limit=25", api, '"customers"')]
    runs += [("Reference again (end of run)", reference, [], "reference")]
    results = []
    with RssSampler(portal.pid, 0.2) as rss:
        for name, path, headers, expect in runs:
            size = check(base, path, headers, expect)
            r = wrk(base + path, headers, opts.seconds, opts.connections)
            print(f"  {name}: {r['rps']:.0f}/s p50 {r['p50']:.1f} ms p99 {r['p99']:.1f} ms", file=sys.stderr)
            results.append({"name": name, "path": path, "bytes": size, **r})
    return results, rss.peak


def export(base, portal, cookie):
    before = rss_kib(portal.pid)
    started = time.monotonic()
    with RssSampler(portal.pid, 0.005) as rss:
        status, body = fetch(f"{base}/customers/export.csv", {"Cookie": cookie})
    seconds = time.monotonic() - started
    if status != 200:
        sys.exit(f"the export answered {status}")
    return {"seconds": seconds, "rows": body.count(b"\r\n") - 1, "bytes": len(body),
            "rss_before_kib": before, "rss_peak_kib": rss.peak}


def refresh(customers, db):
    """A refresh of `customers` seeded customers against a sandbox that allows 3,600 calls a
    minute, the portal paced at 3,000 (burst 6)."""
    database = db.url
    seed(database, customers)
    sandbox, sandbox_url = start_sandbox(customers, rate_limit=3600)
    portal, base = start_portal(database, sandbox_url, {
        "MCA_REFRESH_RATE_LIMIT_PER_MINUTE": "3000", "MCA_REFRESH_CONCURRENCY": "6"})
    try:
        cookie = sign_in(base, "Alex Admin")
        _, page = fetch(f"{base}/customers", {"Cookie": cookie})
        before = json.loads(fetch(f"{sandbox_url}/sandbox/api-counts")[1]).get(CONTOSO, {})
        body = urllib.parse.urlencode({"csrf_token": csrf_of(page.decode())}).encode()
        fetch(f"{base}/customers/refresh", {"Cookie": cookie}, body)
        run = wait_for_run(db)
        after = json.loads(fetch(f"{sandbox_url}/sandbox/api-counts")[1]).get(CONTOSO, {})
    finally:
        portal.terminate(), sandbox.terminate()
    wall = run["seconds"]
    return {**run, "customers": customers + 36, "limit": 3000,
            "requests": after["requests"] - before.get("requests", 0),
            "throttled": after["throttled"] - before.get("throttled", 0),
            "floor": max(run["calls"] - 6, 0) / 3000 * 60, "wall": wall}


def wait_for_run(db):
    while True:
        time.sleep(1)
        row = db.row("SELECT state, started_at, finished_at, calls, total, done, failed FROM refresh_runs "
                     "ORDER BY started_at DESC LIMIT 1")
        if row and row[0] != "running":
            state, started, finished = row[:3]
            calls, total, done, failed = (int(v) for v in row[3:])
            seconds = (parse_time(finished) - parse_time(started)) if finished else float("nan")
            return {"state": state, "seconds": seconds, "calls": calls, "total": total, "done": done, "failed": failed}


def parse_time(text):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def report(opts, seeded, results, rss_peak, exported, refreshed):
    ref = (results[0]["rps"] + results[-1]["rps"]) / 2
    print(f"Database: {'PostgreSQL' if opts.postgres else 'SQLite'}. "
          f"Seeded {opts.customers:,} customers in {seeded:.1f} s (release build, one core).\n")
    print(f"wrk -t1 -c{opts.connections} -d{opts.seconds}s --latency, portal on core {PORTAL_CORE}, wrk on core {LOAD_CORE}; "
          f"reference = mean of the first and last reference runs, {ref:,.0f} requests/s.\n")
    print("| page | bytes | requests/s | p50 ms | p99 ms | errors | share of reference |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['name']} (`{r['path'][:60]}`) | {r['bytes']:,} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} "
              f"| {r['errors']} | {100 * r['rps'] / ref:.1f} % |")
    print(f"\nPortal's resident memory, largest sample under load: {rss_peak / 1024:.0f} MB.\n")
    e = exported
    print(f"CSV export: {e['rows']:,} rows, {e['bytes'] / 1e6:.1f} MB in {e['seconds']:.2f} s; resident memory "
          f"{e['rss_before_kib'] / 1024:.0f} MB before, {e['rss_peak_kib'] / 1024:.0f} MB at most during it "
          f"(+{(e['rss_peak_kib'] - e['rss_before_kib']) / 1024:.1f} MB).\n")
    if refreshed:
        f = refreshed
        print(f"Refresh of {f['customers']:,} customers: {f['state']}, {f['done']:,} read, {f['failed']} not read, "
              f"{f['calls']:,} upstream calls by the run ({f['calls'] / f['customers']:.2f} a customer; two a customer would be "
              f"{2 * f['customers']:,}), {f['requests']:,} API requests seen by the sandbox, {f['throttled']} answered 429; "
              f"wall time {f['wall']:.1f} s against a floor of {f['floor']:.1f} s at {f['limit']:,} a minute "
              f"({100 * (f['wall'] / f['floor'] - 1) if f['floor'] else 0:.1f} % over).")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--refresh-customers", type=int, default=10_000)
    ap.add_argument("--skip-refresh", action="store_true")
    ap.add_argument("--postgres", metavar="URL",
                    help="a PostgreSQL server (postgres://user@host:port/db) to create the benchmark's databases on, "
                         "instead of SQLite files")
    opts = ap.parse_args()
    if not BINARY.exists():
        sys.exit("build the portal first: cargo build --release")
    workdir = Path(tempfile.mkdtemp(prefix="mca-bench-"))
    db = Database(workdir, "bench", opts.postgres)
    try:
        seeded, _ = seed(db.url, opts.customers)
        print(f"seeded {opts.customers} in {seeded:.1f} s", file=sys.stderr)
        results, rss_peak, exported = measure(db, opts)
    finally:
        db.drop()
    refreshed = None
    if not opts.skip_refresh:
        refresh_db = Database(workdir, "refresh", opts.postgres)
        try:
            refreshed = refresh(opts.refresh_customers, refresh_db)
        finally:
            refresh_db.drop()
    report(opts, seeded, results, rss_peak, exported, refreshed)


def measure(db, opts):
    """The pages under load, then the export, on a portal serving `db`."""
    sandbox, sandbox_url = start_sandbox(opts.customers)
    portal, base = start_portal(db.url, sandbox_url)
    try:
        cookie = sign_in(base, "Alex Admin")
        key = create_api_key(base, cookie)
        results, rss_peak = load_pages(base, portal, db, cookie, key, opts)
        return results, rss_peak, export(base, portal, cookie)
    finally:
        portal.terminate(), sandbox.terminate()


if __name__ == "__main__":
    main()
