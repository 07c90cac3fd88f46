#!/usr/bin/env python3
"""The booking rush behind `tests/load/bookings` (see docs/PERFORMANCE.md).

1. A fresh PostgreSQL database; `guichet migrate`; one town made from
   Villeneuve's definition whose only module is `bookings`, with one
   activity of P places a day and no deadline; R residents inserted in SQL
   (active, terms accepted, one child, a session each: the token's SHA-256
   is what the database keeps, so no password hashing is needed).
2. Two `guichet serve` instances (release build) on that database.
3. Each resident opens the planning of the same week (the form and its
   CSRF token), alternately on each instance.
4. The rush: every resident submits the booking of the same day, the
   submissions spread evenly over one second, half to each instance; each
   answer's status and time are kept.
5. Checked in the database: exactly P bookings, R - P waiting entries
   numbered 1, 2, 3… without gap or repeat, every resident once.
6. C of the booked cancel at once; checked: exactly the first C waiting
   (by arrival number) are booked now, the others moved up, each promoted
   family e-mailed.

Only the standard library, aiosmtpd (the real SMTP server every mail goes
to) and psql on the PATH.
"""

import argparse
import asyncio
import datetime
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

from harness import free_port, psql, psql_rows, wait_port

try:
    from aiosmtpd.controller import Controller
except ImportError:
    sys.exit("bookings: needs aiosmtpd (python3 -m pip install aiosmtpd), the mails' real SMTP server")


class Sink:
    """Accepts every mail, counts them: the summaries and promotions are
    really sent during the rush, as in production."""

    def __init__(self):
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        return "250 OK"

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECRET_KEY = "bG9hZC1oYXJuZXNzLXNlY3JldC1rZXktMzItYnl0ZXM="
ACTIVITY = "cantine"


def log(message):
    print(f"[bookings] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the town

def bookings_config(places):
    return {
        "activities": [{
            "id": ACTIVITY, "label": "Restauration scolaire", "runs_on": "tous",
            "weekdays": ["lundi", "mardi", "mercredi", "jeudi", "vendredi"],
            "capacity": places, "booking_deadline": {"rule": "aucun"},
            "cancel_deadline": {"rule": "identique"}, "waiting_list": True,
        }],
        "few_places": 5,
        "weeks_ahead": 4,
    }


def make_town(folder, places):
    """Villeneuve's definition with bookings as its only module."""
    source = os.path.join(ROOT, "tenants", "villeneuve")
    target = os.path.join(folder, "ruee")
    shutil.copytree(source, target)
    with open(os.path.join(source, "tenant.toml"), encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"(?m)^hostnames = .*\n", "", text)
    # Every table from the first module on is dropped, then bookings added.
    text = text.split("[[modules]]", 1)[0]
    text = re.sub(r"(?ms)^\[franceconnect\]\n.*?(?=^\[|\Z)", "", text)
    text = re.sub(r'(?m)^display_name = .*$', 'display_name = "Commune de la Ruée"', text)
    text += ('\n[[modules]]\nid = "bookings"\nversion = "^0.2"\n'
             f"config = {toml_inline(bookings_config(places))}\n")
    with open(os.path.join(target, "tenant.toml"), "w", encoding="utf-8") as f:
        f.write(text)


def toml_inline(value):
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_inline(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def insert_residents(url, count):
    """Residents with one child and a session each; returns
    [(account id, identifier, child member id, session cookie)]."""
    tokens = [secrets.token_urlsafe(32) for _ in range(count)]
    values = ",".join(f"({n + 1}, '{hashlib.sha256(t.encode()).hexdigest()}')"
                      for n, t in enumerate(tokens))
    psql(url, f"""
    INSERT INTO account (tenant_id, identifier, email, email_key, civility, first_name, last_name,
                         address, password_hash, password_is_temporary, status, created_at,
                         activated_at, password_changed_at)
    SELECT t.id, 'parent.' || n, 'parent.' || n || '@ruee.example', 'parent.' || n || '@ruee.example',
           'Mme', 'Parent', 'NUMERO' || n, '10 LA RUE CREUSE', '$argon2id$v=19$m=19456,t=2,p=1$none$none',
           false, 'active', now(), now(), now()
    FROM tenant t CROSS JOIN generate_series(1, {count}) AS n WHERE t.slug = 'ruee';

    INSERT INTO terms_acceptance (tenant_id, account_id, terms_version_id, content_hash, action, created_at)
    SELECT a.tenant_id, a.id, v.id, v.content_hash, 'accepted', now()
    FROM account a
    JOIN LATERAL (SELECT id, content_hash FROM terms_version
                  WHERE tenant_id = a.tenant_id ORDER BY number DESC LIMIT 1) v ON true;

    INSERT INTO household_member (tenant_id, account_id, first_name, last_name, birth_date, relation, created_at)
    SELECT a.tenant_id, a.id, 'Enfant', a.last_name, DATE '2018-09-03', 'enfant', now() FROM account a;

    INSERT INTO session (tenant_id, account_id, token_hash, created_at, last_seen_at, expires_at)
    SELECT a.tenant_id, a.id, s.hash, now(), now(), now() + interval '1 day'
    FROM (VALUES {values}) AS s(n, hash)
    JOIN account a ON a.identifier = 'parent.' || s.n;
    """)
    psql(url, "VACUUM (ANALYZE)")
    rows = psql_rows(url, """
    SELECT a.id, a.identifier, m.id FROM account a JOIN household_member m ON m.account_id = a.id
    ORDER BY a.id""")
    # The host names household members to modules as `m<id>`.
    by_identifier = {identifier: (int(account), identifier, f"m{member}")
                     for account, identifier, member in rows}
    return [by_identifier[f"parent.{n + 1}"] + (f"guichet_session={tokens[n]}",)
            for n in range(count)]


# ---------------------------------------------------------------- HTTP

async def http(port, method, path, cookie, body=None):
    """One request on its own connection: (status, headers, body, seconds)."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"{method} {path} HTTP/1.1", "Host: ruee.localhost", f"Cookie: {cookie}",
             "Connection: close"]
    data = b""
    if body is not None:
        data = urllib.parse.urlencode(body).encode()
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(data)}"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, content = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, content.decode("utf-8", "replace"), time.monotonic() - started


def csrf_of(page):
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    return match.group(1) if match else None


async def open_plannings(residents, ports, monday, day, concurrency=16):
    """Each resident opens the week's planning: the CSRF token of their form."""
    semaphore = asyncio.Semaphore(concurrency)
    tokens = [None] * len(residents)

    async def one(index, resident):
        _, _, child, cookie = resident
        path = (f"/services/bookings/planning?enfant={child}&activite={ACTIVITY}"
                f"&semaine={monday.isoformat()}")
        async with semaphore:
            status, _, page, _ = await http(ports[index % 2], "GET", path, cookie)
        if status != 200 or f'name="jour-{day.isoformat()}"' not in page:
            raise SystemExit(f"resident {index + 1}: no planning form with {day} ({status}): {page[:400]}")
        tokens[index] = csrf_of(page)

    await asyncio.gather(*(one(i, r) for i, r in enumerate(residents)))
    return tokens


def planning_form(child, monday, day, token, book):
    form = {"csrf": token, "enfant": child, "activite": ACTIVITY, "semaine": monday.isoformat(),
            "jours": day.isoformat()}
    if book:
        form[f"jour-{day.isoformat()}"] = "on"
    return form


async def submit_all(residents, tokens, ports, monday, day, book, spread):
    """Every submission at its planned instant over `spread` seconds; the
    answers, and the time from the first sending to the last answer."""
    start = time.monotonic() + 0.2
    results = [None] * len(residents)

    async def one(index, resident):
        _, _, child, cookie = resident
        await asyncio.sleep(max(0.0, start + spread * index / len(residents) - time.monotonic()))
        try:
            status, headers, _, seconds = await http(
                ports[index % 2], "POST", "/services/bookings/actions/planning", cookie,
                planning_form(child, monday, day, tokens[index], book))
        except OSError as error:
            status, headers, seconds = f"error: {error}", {}, None
        results[index] = (status, seconds, headers.get("location", ""))

    await asyncio.gather(*(one(i, r) for i, r in enumerate(residents)))
    return results, time.monotonic() - start


def cpu_seconds():
    """CPU time (user + system) used so far by this machine's processes, by
    command name: where the rush's time goes (PostgreSQL, the instances,
    this load generator share the same cores)."""
    used = {}
    tick = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                line = stat.read()
        except OSError:
            continue
        name = line[line.index("(") + 1:line.rindex(")")]
        fields = line[line.rindex(")") + 2:].split()
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return used


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summarize(results):
    statuses = {}
    for status, _, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    times = [seconds for _, seconds, _ in results if seconds is not None]
    return statuses, percentile(times, 0.5), percentile(times, 0.99), max(times)


# ---------------------------------------------------------------- the data

def day_entries(url, day):
    """(booked references, waiting [(sequence, reference)] in sequence order)."""
    rows = psql_rows(url, f"""
    SELECT key, value FROM module_data
    WHERE module_id = 'bookings' AND account_id IS NULL
      AND (key LIKE 'booking:{ACTIVITY}:{day.isoformat()}:%'
           OR key LIKE 'waiting:{ACTIVITY}:{day.isoformat()}:%')""")
    booked, waiting = [], []
    for key, value in rows:
        entry = json.loads(value)
        if key.startswith("booking:"):
            booked.append(entry["resident"])
        else:
            waiting.append((int(entry["sequence"]), entry["resident"]))
    waiting.sort()
    return booked, waiting


def check(condition, message, failures):
    log(("ok: " if condition else "FAILED: ") + message)
    if not condition:
        failures.append(message)


# ---------------------------------------------------------------- the run

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--places", type=int, default=200)
    parser.add_argument("--cancellations", type=int, default=50)
    parser.add_argument("--spread", type=float, default=1.0, help="seconds over which the rush is sent")
    parser.add_argument("--keep", action="store_true", help="keep the database and the work folder")
    args = parser.parse_args()

    base_url = os.environ.get("LOAD_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    db_name = f"guichet_bookings_{os.getpid()}"
    db_url = urllib.parse.urlparse(base_url)._replace(path=f"/{db_name}").geturl()
    work = tempfile.mkdtemp(prefix="guichet-bookings-")
    processes = []
    failures = []
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        psql(base_url, f"DROP DATABASE IF EXISTS {db_name}")
        psql(base_url, f"CREATE DATABASE {db_name}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
        env.update({
            "GUICHET_DATABASE_URL": db_url,
            "GUICHET_BASE_DOMAIN": "localhost",
            "GUICHET_PUBLIC_SCHEME": "http",
            "GUICHET_SECRET_KEY": SECRET_KEY,
            "GUICHET_THEMES_DIR": os.path.join(ROOT, "themes"),
            "GUICHET_MODULE_CACHE_DIR": os.path.join(work, "modules"),
            "GUICHET_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
            "GUICHET_LOG": "error",
        })
        binary = os.path.abspath(args.binary)
        towns = os.path.join(work, "towns")
        os.mkdir(towns)
        make_town(towns, args.places)
        subprocess.run([binary, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([binary, "tenant", "apply", towns], env=env, check=True, stdout=subprocess.DEVNULL)
        residents = insert_residents(db_url, args.residents)
        log(f"{len(residents)} residents with a child and a session")

        ports = []
        for index in range(2):
            port = free_port()
            processes.append(subprocess.Popen(
                [binary, "serve"], env=dict(env, GUICHET_PORT=str(port)), cwd=work,
                stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, f"serve{index}.log"), "w")))
            ports.append(port)
        for index, port in enumerate(ports):
            wait_port(port, f"guichet serve #{index + 1}")

        today = datetime.date.today()
        monday = today + datetime.timedelta(days=7 - today.weekday())
        day = monday + datetime.timedelta(days=1)  # next week's Tuesday
        tokens = asyncio.run(open_plannings(residents, ports, monday, day))
        log(f"every planning opened; the rush books {day} ({args.places} places)")

        cpu_before = cpu_seconds()
        rush, sent_in = asyncio.run(submit_all(residents, tokens, ports, monday, day, True, args.spread))
        cpu_after = cpu_seconds()
        cpu = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
        cpu_line = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in
                             sorted(cpu.items(), key=lambda item: -item[1])[:4])
        statuses, p50, p99, slowest = summarize(rush)
        log(f"rush: {statuses} in {sent_in:.2f} s, p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"slowest {slowest * 1000:.0f} ms")
        check(set(statuses) == {303}, f"every submission answered 303 ({statuses})", failures)
        booked, waiting = day_entries(db_url, day)
        references = {identifier for _, identifier, _, _ in residents}
        check(len(booked) == args.places, f"{len(booked)} bookings for {args.places} places", failures)
        check(len(waiting) == args.residents - args.places,
              f"{len(waiting)} waiting for {args.residents - args.places}", failures)
        check([sequence for sequence, _ in waiting] == list(range(1, len(waiting) + 1)),
              "waiting numbers 1, 2, 3… without gap or repeat", failures)
        everyone = booked + [reference for _, reference in waiting]
        check(len(set(everyone)) == len(everyone) == args.residents,
              "every resident once, booked or waiting", failures)
        if not set(everyone) <= references:
            log(f"note: references are not identifiers (e.g. {everyone[:1]}); mapping skipped")

        # The cancellations: C of the booked, at once.
        first_waiting = [reference for _, reference in waiting[: args.cancellations]]
        by_reference = {}
        for index, (_, identifier, _, _) in enumerate(residents):
            by_reference[identifier] = index
        cancelling = []
        for reference in booked[: args.cancellations]:
            index = by_reference.get(reference)
            if index is None:
                raise SystemExit(f"cannot find the resident of reference {reference!r}")
            cancelling.append(index)
        mails_before = int(psql_rows(db_url, "SELECT count(*) FROM mail_outbox")[0][0])
        chosen = [residents[i] for i in cancelling]
        tokens2 = asyncio.run(open_plannings(chosen, ports, monday, day))
        cancel, cancel_in = asyncio.run(submit_all(chosen, tokens2, ports, monday, day, False, 0.2))
        cstatuses, cp50, cp99, cslowest = summarize(cancel)
        log(f"cancellations: {cstatuses}, p50 {cp50 * 1000:.0f} ms, p99 {cp99 * 1000:.0f} ms")
        check(set(cstatuses) == {303}, f"every cancellation answered 303 ({cstatuses})", failures)
        booked2, waiting2 = day_entries(db_url, day)
        check(len(booked2) == args.places, f"{len(booked2)} bookings after the cancellations", failures)
        promoted = set(booked2) - set(booked)
        check(promoted == set(first_waiting),
              f"the promoted are exactly the first {args.cancellations} waiting "
              f"({len(promoted & set(first_waiting))} of {len(promoted)})", failures)
        check([reference for _, reference in waiting2]
              == [reference for _, reference in waiting[args.cancellations:]],
              "the others kept their order", failures)
        promotion_mails = int(psql_rows(db_url, f"""
            SELECT count(*) FROM mail_outbox o JOIN account a ON a.email = o.recipient
            WHERE o.id > (SELECT coalesce(max(id), 0) FROM mail_outbox) - 100000
              AND a.identifier IN ({",".join("'" + r + "'" for r in first_waiting) or "''"})""")[0][0])
        check(promotion_mails >= len(first_waiting),
              f"{promotion_mails} mails to the promoted families (outbox grew by "
              f"{int(psql_rows(db_url, 'SELECT count(*) FROM mail_outbox')[0][0]) - mails_before})",
              failures)

        print(f"\nGuichet booking rush: {args.residents} residents, {args.places} places, "
              f"2 instances on PostgreSQL, {os.cpu_count()} cores")
        print(f"{'phase':<16}{'requests':>9}{'all done':>9}{'p50':>8}{'p99':>8}{'max':>8}  statuses")
        print(f"{'rush':<16}{len(rush):>9}{sent_in:>8.2f}s{p50 * 1000:>6.0f}ms{p99 * 1000:>6.0f}ms"
              f"{slowest * 1000:>6.0f}ms  {statuses}")
        print(f"{'cancellations':<16}{len(cancel):>9}{cancel_in:>8.2f}s{cp50 * 1000:>6.0f}ms"
              f"{cp99 * 1000:>6.0f}ms{cslowest * 1000:>6.0f}ms  {cstatuses}")
        print(f"CPU during the rush: {cpu_line} (in {sent_in:.1f} s, {os.cpu_count()} cores); "
              f"mails received by the SMTP server by the end: {sink.received}")
        print(f"booked {len(booked)}, waiting {len(waiting)}; after cancellations booked {len(booked2)}, "
              f"waiting {len(waiting2)}, promoted {len(promoted)}; checks failed: {len(failures)}")
    finally:
        smtp.stop()
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        if not args.keep:
            subprocess.run(["psql", "-q", base_url, "-c", f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept: database {db_name}, folder {work}")
    if failures:
        raise SystemExit(f"{len(failures)} check(s) failed")


if __name__ == "__main__":
    main()
