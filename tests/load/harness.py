#!/usr/bin/env python3
"""The load harness behind `tests/load/run` (see docs/PERFORMANCE.md).

1. A fresh PostgreSQL database; `guichet migrate`; N towns made from
   Villeneuve's definition (same modules, terms and news) by `guichet tenant
   apply`; R residents per town inserted in SQL (active, one known password
   hashed once with argon2id at Guichet's parameters, terms accepted, a
   household member and three invoices, as the demo resident has).
2. `guichet serve` (release build) on it; a pool of residents logs in
   through the login form; the dashboard of one of them is saved for nginx.
3. wrk, one after the other: (a) the dashboard of the pool, (b) the login
   page, (c) login POSTs, (d) nginx serving the saved dashboard bytes; then
   the dashboard again at lower concurrencies (latency at about half the
   maximum throughput), the dashboard while a login storm runs, and the
   dashboard beside idle-priority CPU burners, one per hashing thread (what
   the machine's scheduler alone makes of the storm's ratio).
4. A table: req/s, p50, p99, max, the ratios, and the server's memory.
   wrk corrects its percentiles for coordinated omission: a request that
   took L ms where one every i ms was expected also counts as the L/i
   requests that would have waited behind it. So a p99 says how long the
   server stalled in all (1 % of a 15 s measure is 150 ms of stalls per
   connection), not how slow most requests were; "max" shows the longest.
   A measure during which a minute began is marked: pages and tile views
   are computed again in the minute's first requests.

Only the standard library, and wrk, nginx, psql and chrt (util-linux) on
the PATH.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

# "Annuler ou réserver": the bookings module's planning.
BOOKING_PAGE = "/services/bookings/planning"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LOAD_DIR = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "charge-mot-de-passe-2026"
SECRET_KEY = "bG9hZC1oYXJuZXNzLXNlY3JldC1rZXktMzItYnl0ZXM="
# Guichet's argon2id parameters (accounts/hashing.rs, ARCHITECTURE.md).
ARGON2 = dict(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)


def log(message):
    print(f"[load] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what, timeout=120):
    started = time.time()
    while time.time() - started < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not listen on port {port}")


def psql(url, sql):
    # On standard input: long statements (sessions' values) exceed a
    # command line.
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-f", "-"], input=sql, text=True,
                   check=True, stdout=subprocess.DEVNULL)


def psql_rows(url, sql):
    out = subprocess.run(["psql", "-tA", "-F", "\t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def database_urls(base):
    parsed = urllib.parse.urlparse(base)
    name = f"guichet_load_{os.getpid()}"
    return name, parsed._replace(path=f"/{name}").geturl()


# ---------------------------------------------------------------- the data

def make_towns(folder, count):
    """N copies of Villeneuve: same modules, terms, news and pages; no
    custom domain, no FranceConnect."""
    source = os.path.join(ROOT, "tenants", "villeneuve")
    with open(os.path.join(source, "tenant.toml"), encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"(?m)^hostnames = .*\n", "", text)
    text = re.sub(r"(?ms)^\[franceconnect\]\n.*?\n\n", "", text)
    slugs = []
    for index in range(1, count + 1):
        slug = f"charge-{index:04d}"
        target = os.path.join(folder, slug)
        shutil.copytree(source, target)
        town = re.sub(r'(?m)^display_name = .*$', f'display_name = "Commune de charge {index}"', text)
        with open(os.path.join(target, "tenant.toml"), "w", encoding="utf-8") as f:
            f.write(town)
        slugs.append(slug)
    return slugs


def insert_residents(url, per_town):
    from argon2 import PasswordHasher, Type

    password_hash = PasswordHasher(type=Type.ID, **ARGON2).hash(PASSWORD)
    invoices = [
        {"number": f"2020-0{m}-0042", "period": f"2020-0{m}", "amount_cents": 1500,
         "due_date": f"2020-0{m}-15", "status": "a-payer" if m == 6 else "payee",
         "lines": [{"label": "Restauration scolaire", "quantity": 6, "unit_cents": 250,
                    "amount_cents": 1500}]}
        for m in (4, 5, 6)
    ]
    sql = f"""
    INSERT INTO account (tenant_id, identifier, email, email_key, civility, first_name, last_name,
                         address, password_hash, password_is_temporary, status, created_at,
                         activated_at, password_changed_at)
    SELECT t.id, 'habitant.' || n, 'habitant.' || n || '@charge.example', 'habitant.' || n || '@charge.example',
           'M', 'Habitant', 'NUMERO' || n, '10 LA RUE CREUSE', '{password_hash}', false, 'active',
           now(), now(), now()
    FROM tenant t CROSS JOIN generate_series(1, {per_town}) AS n;

    INSERT INTO terms_acceptance (tenant_id, account_id, terms_version_id, content_hash, action, created_at)
    SELECT a.tenant_id, a.id, v.id, v.content_hash, 'accepted', now()
    FROM account a
    JOIN LATERAL (SELECT id, content_hash FROM terms_version
                  WHERE tenant_id = a.tenant_id ORDER BY number DESC LIMIT 1) v ON true;

    INSERT INTO household_member (tenant_id, account_id, first_name, last_name, birth_date, relation, created_at)
    SELECT a.tenant_id, a.id, 'Léa', a.last_name, DATE '2012-09-03', 'enfant', now() FROM account a;
    """
    for invoice in invoices:
        value = json.dumps(invoice).replace("'", "''")
        sql += f"""
    INSERT INTO module_data (tenant_id, module_id, account_id, key, value, updated_at)
    SELECT a.tenant_id, 'invoices', a.id, 'facture:{invoice["number"]}', '{value}', now() FROM account a;
    """
    # The usage counters Guichet keeps with every write (quotas and entry
    # limits read them), counted as migration 000009 counts them.
    sql += """
    DELETE FROM module_resident_usage; DELETE FROM module_usage;
    INSERT INTO module_usage (tenant_id, module_id, bytes, entries)
    SELECT tenant_id, module_id, SUM(octet_length(key) + octet_length(value) + 64), COUNT(*)
    FROM module_data GROUP BY tenant_id, module_id;
    INSERT INTO module_resident_usage (tenant_id, module_id, account_id, bytes, entries)
    SELECT tenant_id, module_id, account_id, SUM(octet_length(key) + octet_length(value) + 64), COUNT(*)
    FROM module_data WHERE account_id IS NOT NULL GROUP BY tenant_id, module_id, account_id;
    """
    psql(url, sql)
    # Not left to autovacuum, which would run during the measures.
    psql(url, "VACUUM (ANALYZE)")


def login_bound():
    """Logins per second the cores could check if they did nothing else:
    cores ÷ one argon2id verification at Guichet's parameters (argon2-cffi,
    the reference C implementation; Guichet's Rust one is timed by `cargo
    bench --bench modules -- login`)."""
    from argon2 import PasswordHasher, Type

    hasher = PasswordHasher(type=Type.ID, **ARGON2)
    stored = hasher.hash(PASSWORD)
    hasher.verify(stored, PASSWORD)
    rounds = 30
    started = time.perf_counter()
    for _ in range(rounds):
        hasher.verify(stored, PASSWORD)
    took = (time.perf_counter() - started) / rounds
    return os.cpu_count() / took


# ---------------------------------------------------------------- HTTP

def request(port, host, method, path, headers=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    all_headers = {"Host": host}
    all_headers.update(headers or {})
    connection.request(method, path, body=body, headers=all_headers)
    response = connection.getresponse()
    data = response.read().decode("utf-8", "replace")
    cookies = {}
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _, val = pair.partition("=")
            cookies[key.strip()] = val
    connection.close()
    return response.status, data, cookies, dict(response.getheaders())


def login_form(port, host):
    """A browser opening the login page: its pre-session cookie and token."""
    status, body, cookies, _ = request(port, host, "GET", "/connexion")
    match = re.search(r'name="csrf" value="([^"]+)"', body)
    if status != 200 or not match:
        raise SystemExit(f"no login form on {host}: {status}")
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return cookie, match.group(1)


def log_in(port, host, identifier):
    cookie, csrf = login_form(port, host)
    body = urllib.parse.urlencode({"identifier": identifier, "password": PASSWORD, "csrf": csrf})
    status, text, cookies, _ = request(port, host, "POST", "/connexion", {
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, body)
    if status != 303 or "guichet_session" not in cookies:
        raise SystemExit(f"{identifier}@{host} cannot log in: {status} {text[:300]}")
    return f"guichet_session={cookies['guichet_session']}"


# ---------------------------------------------------------------- wrk

def wrk(script, url, pool, connections, seconds, threads=1, expect=200, path="/"):
    env = dict(os.environ, LOAD_DIR=LOAD_DIR, LOAD_PASSWORD=PASSWORD, LOAD_EXPECT_STATUS=str(expect),
               LOAD_PATH=path)
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
               "--timeout", "10s", "-s", os.path.join(LOAD_DIR, script), url]
    if pool:
        command += ["--", pool]
    started = time.time()
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    ended = time.time()
    for line in output.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            result["connections"] = connections
            # Whether the measure saw a minute begin: every page and tile
            # view is computed again in its first requests (the minute is
            # one of their inputs), which the p99 shows.
            result["minute_began"] = int(started // 60) != int(ended // 60)
            return result
    raise SystemExit(f"wrk said nothing usable:\n{output}")


def start_wrk(script, url, pool, connections, seconds, threads=1, expect=200):
    env = dict(os.environ, LOAD_DIR=LOAD_DIR, LOAD_PASSWORD=PASSWORD, LOAD_EXPECT_STATUS=str(expect))
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
               "--timeout", "10s", "-s", os.path.join(LOAD_DIR, script), url, "--", pool]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def autogroup():
    """Whether the kernel groups processes by session for scheduling
    (`kernel.sched_autogroup_enabled`), None where it cannot tell. When it
    does, PostgreSQL, started in a session of its own, shares the cores with
    the server as one group against another, and the hashing threads'
    SCHED_IDLE only puts them behind the server's own threads: not behind
    PostgreSQL's (docs/PERFORMANCE.md, eleventh round)."""
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled", encoding="ascii") as f:
            return f.read().strip() == "1"
    except OSError:
        return None


def hash_threads(env):
    """How many password hashing threads the server runs: one per core
    unless `password_hash_threads` is set (core/src/config.rs)."""
    value = env.get("GUICHET_PASSWORD_HASH_THREADS")
    return int(value) if value else os.cpu_count()


def rss_mib(pid):
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                values[key] = int(value.split()[0]) / 1024
    return values


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--towns", type=int, default=2)
    parser.add_argument("--residents", type=int, default=1000, help="per town")
    parser.add_argument("--pool", type=int, default=200, help="residents logged in for the dashboard load")
    parser.add_argument("--seconds", type=int, default=15, help="length of each measure")
    parser.add_argument("--connections", type=int, default=32, help="concurrency of the maximum-load measures")
    parser.add_argument("--keep", action="store_true", help="keep the database and the work folder")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--profile", metavar="FILE",
                        help="also record the server with `perf` during the dashboard measure and write "
                             "`perf report --no-children --sort symbol` to FILE")
    parser.add_argument("--statements", metavar="FILE",
                        help="also write pg_stat_statements' figures of the dashboard measure to FILE "
                             "(the server must preload pg_stat_statements)")
    parser.add_argument("--hash-nice", type=int, metavar="N",
                        help="set the nice value of the server's password hashing threads to N "
                             "(19 by default, accounts/hashing.rs; raising their priority needs root): to compare")
    parser.add_argument("--hash-policy", choices=["idle", "other"], metavar="POLICY",
                        help="set the scheduling policy of the server's password hashing threads "
                             "(`chrt`: idle is SCHED_IDLE, other the normal policy; leaving SCHED_IDLE "
                             "needs root): to compare")
    parser.add_argument("--server-log", metavar="FILE",
                        help="write the server's output to FILE (with --server-env GUICHET_LOG=info, a line "
                             "per request with its duration in the server)")
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment of `guichet serve` (e.g. GUICHET_MODULE_VIEW_CACHE_MIB=0)")
    args = parser.parse_args()

    base_url = os.environ.get("LOAD_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    db_name, db_url = database_urls(base_url)
    work = tempfile.mkdtemp(prefix="guichet-load-")
    processes = []
    results = {"towns": args.towns, "residents_per_town": args.residents, "cores": os.cpu_count(),
               "autogroup": autogroup()}
    try:
        psql(base_url, f"DROP DATABASE IF EXISTS {db_name}")
        psql(base_url, f"CREATE DATABASE {db_name}")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
        env.update({
            "GUICHET_DATABASE_URL": db_url,
            "GUICHET_BASE_DOMAIN": "localhost",
            "GUICHET_PORT": str(port),
            "GUICHET_PUBLIC_SCHEME": "http",
            "GUICHET_SECRET_KEY": SECRET_KEY,
            "GUICHET_THEMES_DIR": os.path.join(ROOT, "themes"),
            "GUICHET_MODULE_CACHE_DIR": os.path.join(work, "modules"),
            "GUICHET_LOG": "error",
        })
        for pair in args.server_env:
            key, _, value = pair.partition("=")
            env[key] = value
        results["server_env"] = args.server_env
        binary = os.path.abspath(args.binary)

        started = time.time()
        towns = os.path.join(work, "towns")
        os.mkdir(towns)
        slugs = make_towns(towns, args.towns)
        subprocess.run([binary, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([binary, "tenant", "apply", towns], env=env, check=True, stdout=subprocess.DEVNULL)
        log(f"{args.towns} town(s) applied in {time.time() - started:.0f} s")
        started = time.time()
        insert_residents(db_url, args.residents)
        log(f"{args.towns * args.residents} resident(s) inserted in {time.time() - started:.0f} s")
        results["login_bound"] = login_bound()

        server_log = open(args.server_log, "w", encoding="utf-8") if args.server_log else None
        server = subprocess.Popen([binary, "serve"], env=env, cwd=work,
                                  stdout=server_log or subprocess.DEVNULL, stderr=server_log)
        processes.append(server)
        wait_port(port, "guichet serve")
        url = f"http://127.0.0.1:{port}"
        for tid in os.listdir(f"/proc/{server.pid}/task"):
            with open(f"/proc/{server.pid}/task/{tid}/comm", encoding="utf-8") as f:
                if not f.read().startswith("guichet-hash"):
                    continue
            if args.hash_policy is not None:
                flag = {"idle": "--idle", "other": "--other"}[args.hash_policy]
                subprocess.run(["chrt", flag, "-p", "0", tid], check=True, stdout=subprocess.DEVNULL)
            if args.hash_nice is not None:
                subprocess.run(["renice", "-n", str(args.hash_nice), "-p", tid], check=True,
                               stdout=subprocess.DEVNULL)
        if args.hash_policy is not None:
            results["hash_policy"] = args.hash_policy
        if args.hash_nice is not None:
            results["hash_nice"] = args.hash_nice

        # The pool: residents spread over the towns (at most 20 towns, the
        # rest of a large run being there to weigh on the lookups).
        pool_towns = slugs[: min(len(slugs), 20)]
        sessions = []
        for index in range(args.pool):
            slug = pool_towns[index % len(pool_towns)]
            identifier = f"habitant.{1 + index * 7 % args.residents}"
            sessions.append((f"{slug}.localhost", log_in(port, f"{slug}.localhost", identifier)))
        pool_file = os.path.join(work, "sessions.txt")
        with open(pool_file, "w", encoding="ascii") as f:
            f.writelines(f"{host} {cookie}\n" for host, cookie in sessions)
        hosts_file = os.path.join(work, "hosts.txt")
        with open(hosts_file, "w", encoding="ascii") as f:
            f.writelines(f"{slug}.localhost\n" for slug in pool_towns)
        logins_file = os.path.join(work, "logins.txt")
        with open(logins_file, "w", encoding="ascii") as f:
            for index in range(100):
                slug = pool_towns[index % len(pool_towns)]
                cookie, csrf = login_form(port, f"{slug}.localhost")
                # The pre-session cookie alone: one name=value, no spaces.
                f.write(f"{slug}.localhost {cookie.replace(' ', '')} {csrf} habitant.{1 + index * 13 % args.residents}\n")
        log(f"{args.pool} resident(s) logged in")

        # The absence report's pool: each resident's CSRF token and child,
        # read from the page of the form as a browser would.
        actions_file = os.path.join(work, "actions.txt")
        with open(actions_file, "w", encoding="ascii") as f:
            for host, cookie in sessions:
                status, body, _, _ = request(port, host, "GET", "/services/absences/absences", {"Cookie": cookie})
                csrf = re.search(r'name="csrf" value="([^"]+)"', body)
                child = re.search(r'<option value="(m[0-9]+)"', body)
                if status != 200 or not csrf or not child:
                    raise SystemExit(f"no absence form for {host}: {status}")
                f.write(f"{host} {cookie} {csrf.group(1)} {child.group(1)}\n")

        # The dashboard's exact bytes, for nginx.
        host, cookie = sessions[0]
        status, page, _, headers = request(port, host, "GET", "/", {"Cookie": cookie})
        tiles = len(re.findall(r'<article class="tile', page))
        if status != 200 or "Mon tableau de bord" not in page:
            raise SystemExit(f"the dashboard did not render: {status}")
        results["dashboard_bytes"] = len(page.encode("utf-8"))
        results["dashboard_tiles"] = tiles
        www = os.path.join(work, "www")
        os.mkdir(www)
        with open(os.path.join(www, "index.html"), "w", encoding="utf-8") as f:
            f.write(page)
        nginx_port = free_port()
        nginx_conf = os.path.join(work, "nginx.conf")
        with open(os.path.join(LOAD_DIR, "nginx.conf"), encoding="utf-8") as f:
            conf = f.read()
        with open(nginx_conf, "w", encoding="utf-8") as f:
            f.write(conf.replace("@PORT@", str(nginx_port)).replace("@ROOT@", www).replace("@WORK@", work))
        nginx_binary = shutil.which("nginx") or "/usr/sbin/nginx"
        nginx = subprocess.Popen([nginx_binary, "-c", nginx_conf, "-p", work],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(nginx)
        wait_port(nginx_port, "nginx")

        # Warm-up: modules compiled and caches filled before measuring.
        wrk("dashboard.lua", url, pool_file, 4, 3)
        wrk("dashboard.lua", url, pool_file, 4, 2, path=BOOKING_PAGE)

        seconds, connections = args.seconds, args.connections
        log("measuring: dashboard")
        recorder = None
        if args.profile:
            recorder = subprocess.Popen(
                ["perf", "record", "-F", "999", "-g", "-o", args.profile + ".data", "-p", str(server.pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if args.statements:
            psql(db_url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset();")
        results["dashboard"] = wrk("dashboard.lua", url, pool_file, connections, seconds)
        if args.statements:
            # Per dashboard answered: how many times each statement ran and
            # what it cost the server, in this database only.
            rows = psql_rows(db_url, f"""
                SELECT calls, round((calls::numeric / {results['dashboard']['requests']}), 3),
                       round(mean_exec_time::numeric * 1000, 1), round(total_exec_time::numeric, 1),
                       shared_blks_hit, shared_blks_read, left(regexp_replace(query, '\\s+', ' ', 'g'), 160)
                FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
                WHERE d.datname = current_database() ORDER BY total_exec_time DESC LIMIT 25""")
            with open(args.statements, "w", encoding="utf-8") as f:
                f.write("calls\tper page\tmean µs\ttotal ms\tblocks hit\tblocks read\tstatement\n")
                f.writelines("\t".join(row) + "\n" for row in rows)
            log(f"statements written to {args.statements}")
        if recorder:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=60)
            with open(args.profile, "w", encoding="utf-8") as f:
                subprocess.run(["perf", "report", "-i", args.profile + ".data", "--no-children",
                                "--sort", "symbol", "--stdio", "--percent-limit", "0.5", "-g", "none"],
                               stdout=f, stderr=subprocess.DEVNULL, check=False)
            log(f"profile written to {args.profile} (perf data: {args.profile}.data)")
        log("measuring: login page")
        results["login_page"] = wrk("login_page.lua", url, hosts_file, connections, seconds)
        log("measuring: login POSTs")
        results["login_post"] = wrk("login_post.lua", url, logins_file, connections, seconds, expect=303)
        log("measuring: nginx, same bytes")
        results["nginx"] = wrk("static.lua", f"http://127.0.0.1:{nginx_port}/", None, connections, seconds)

        # Latency at about half the maximum: closed loops of fewer
        # connections, and the one whose throughput is nearest half.
        half = results["dashboard"]["rps"] / 2
        candidates = [wrk("dashboard.lua", url, pool_file, c, seconds) for c in (1, 2, 4)]
        results["dashboard_half_load"] = min(candidates, key=lambda r: abs(r["rps"] - half))
        results["dashboard_lower_loads"] = candidates

        # The dashboard (at the half-load concurrency) while logins storm.
        idle = results["dashboard_half_load"]
        log("measuring: dashboard during a login storm")
        storm = start_wrk("login_post.lua", url, logins_file, connections, seconds + 4, expect=303)
        time.sleep(2)
        during = wrk("dashboard.lua", url, pool_file, idle["connections"], seconds)
        storm_output = storm.communicate()[0]
        results["dashboard_during_login_storm"] = during
        results["login_storm"] = next(
            (json.loads(line[len("RESULT "):]) for line in storm_output.splitlines() if line.startswith("RESULT ")),
            None)

        # The machine's share of that ratio: the same measure while CPU
        # burners under the hashing threads' policy (SCHED_IDLE), as many as
        # the server has hashing threads, hold the cores. They share no lock,
        # memory or database with the server, so what this measure loses
        # against idle is the scheduler's and the machine's, not Guichet's:
        # the storm's ratio cannot be lower on this machine with as many
        # hashes at work.
        burner_count = hash_threads(env)
        log(f"measuring: dashboard beside {burner_count} idle-priority CPU burner(s)")
        burners = [subprocess.Popen(["chrt", "--idle", "0", "sh", "-c", "while :; do :; done"])
                   for _ in range(burner_count)]
        try:
            time.sleep(2)
            results["dashboard_beside_burners"] = wrk("dashboard.lua", url, pool_file, idle["connections"],
                                                      seconds)
        finally:
            for burner in burners:
                burner.kill()
                burner.wait()
        results["burners"] = burner_count

        # The booking page and a module's action, at the maximum-load
        # concurrency and at the dashboard's half-load one.
        log("measuring: booking page")
        results["booking_page"] = wrk("dashboard.lua", url, pool_file, connections, seconds, path=BOOKING_PAGE)
        results["booking_page_half_load"] = wrk("dashboard.lua", url, pool_file, idle["connections"], seconds,
                                                path=BOOKING_PAGE)
        log("measuring: absence reports (a module's action)")
        results["action"] = wrk("action.lua", url, actions_file, connections, seconds, expect=303)
        results["action_half_load"] = wrk("action.lua", url, actions_file, idle["connections"], seconds,
                                          expect=303)
        results["absences_recorded"] = int(psql_rows(
            db_url, "SELECT COUNT(*) FROM module_data WHERE module_id = 'absences'")[0][0])
        results["server_memory_mib"] = rss_mib(server.pid)
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            subprocess.run(["psql", "-q", base_url, "-c", f"DROP DATABASE IF EXISTS {db_name}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            log(f"kept {work} and database {db_name}")

    report(results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)


def report(results):
    rows = [
        ("(a) dashboard", results["dashboard"]),
        ("(b) login page", results["login_page"]),
        ("(c) login POST", results["login_post"]),
        ("(d) nginx, same bytes", results["nginx"]),
        ("dashboard ~half load", results["dashboard_half_load"]),
        ("dashboard, login storm", results["dashboard_during_login_storm"]),
        (f"dashboard, {results['burners']} CPU burner(s)", results["dashboard_beside_burners"]),
        ("(e) booking page", results["booking_page"]),
        ("booking page, half-load c.", results["booking_page_half_load"]),
        ("(f) absence report (POST)", results["action"]),
        ("absence report, half-load c.", results["action_half_load"]),
    ]
    print(f"\nGuichet load: {results['towns']} town(s) × {results['residents_per_town']} residents, "
          f"{results['cores']} cores; dashboard page {results['dashboard_bytes']} bytes, "
          f"{results['dashboard_tiles']} tiles")
    if results.get("autogroup"):
        print("kernel.sched_autogroup_enabled = 1: PostgreSQL and the server are scheduled as two groups, "
              "and SCHED_IDLE hashing does not give way to PostgreSQL (docs/PERFORMANCE.md, eleventh round)")
    elif results.get("autogroup") is False:
        print("kernel.sched_autogroup_enabled = 0")
    if "hash_policy" in results:
        print(f"password hashing threads under the {results['hash_policy']} scheduling policy")
    if "hash_nice" in results:
        print(f"password hashing threads at nice {results['hash_nice']}")
    if results.get("server_env"):
        print(f"server environment: {' '.join(results['server_env'])}")
    print(f"{'measure':<30}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'bad':>6}")
    for name, r in rows:
        bad = r["unexpected"] + r["socket_errors"]
        minute = " (a minute began)" if r.get("minute_began") else ""
        print(f"{name:<30}{r['connections']:>6}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
              f"{r['max_ms']:>9.1f}{bad:>6}{minute}")
    dashboard, nginx = results["dashboard"], results["nginx"]
    idle, storm = results["dashboard_half_load"], results["dashboard_during_login_storm"]
    print(f"dashboard ÷ nginx throughput: {dashboard['rps'] / nginx['rps']:.1%}")
    print(f"dashboard p99 during the login storm ÷ idle: {storm['p99_ms'] / idle['p99_ms']:.2f}")
    burned = results["dashboard_beside_burners"]
    print(f"dashboard p99 beside {results['burners']} idle-priority CPU burner(s) ÷ idle: "
          f"{burned['p99_ms'] / idle['p99_ms']:.2f} (the machine's floor for the ratio above)")
    print(f"absences recorded by the reports: {results['absences_recorded']}")
    bound = results.get("login_bound")
    if bound:
        print(f"logins ÷ argon2id bound ({bound:.0f}/s): {results['login_post']['rps'] / bound:.1%}")
    memory = results["server_memory_mib"]
    print(f"server memory: RSS {memory.get('VmRSS', 0):.0f} MiB, peak {memory.get('VmHWM', 0):.0f} MiB")


if __name__ == "__main__":
    main()
