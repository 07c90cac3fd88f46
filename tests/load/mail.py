#!/usr/bin/env python3
"""The mail benchmark behind `tests/load/mail` (see docs/PERFORMANCE.md).

For each run asked for (database × number of instances):

1. a fresh database (PostgreSQL at LOAD_POSTGRES_URL, or a SQLite file),
   `guichet migrate`, `guichet tenant apply tenants/` (the demo towns);
2. N `guichet serve` instances on it, idle, sending to an SMTP sink on
   127.0.0.1 (aiosmtpd in this process: it counts each DATA by Message-ID
   and keeps nothing);
3. M mails written to the outbox in one SQL transaction (a CSV import's
   worth; on PostgreSQL the outbox trigger notifies the instances at
   commit, on SQLite they see it at their next poll, within 2 s);
4. the time from that commit until the sink has taken every Message-ID,
   the copies it got (the same Message-ID twice), the instances' CPU time
   (of those still running at the end); with `:term`, the first instance
   is stopped by SIGTERM once half the mail has arrived, as a rolling
   deployment would, and the others must send the rest (`:kill`: SIGKILL,
   a crash: its mails wait for their lease to run out);
5. SIGTERM to every instance, and the time each takes to exit.

Everything listens on 127.0.0.1 only, and each run stops after --timeout
seconds whatever happens. Only the standard library, aiosmtpd, and psql on
the PATH for PostgreSQL.
"""

import argparse
import email.parser
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from aiosmtpd.controller import Controller

from harness import free_port, psql, wait_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECRET_KEY = "bG9hZC1oYXJuZXNzLXNlY3JldC1rZXktMzItYnl0ZXM="
TEXT = ("Bonjour Monsieur HABITANT,\n\nVotre espace personnel a été créé. "
        "Identifiant : habitant.{n}\nMot de passe temporaire : 7f3k-92ma-xq1z\n\n"
        "Activez-le en suivant ce lien :\nhttps://villeneuve.example.fr/activation/"
        + "x" * 43 + "\n\nMairie de Villeneuve\n") * 2
HTML = "<!DOCTYPE html><html lang=\"fr\"><body>" + "<p>" + "Bonjour, " * 60 + "</p></body></html>"


def log(message):
    print(f"[mail] {message}", file=sys.stderr, flush=True)


def psql_value(url, sql):
    return subprocess.run(["psql", "-tA", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True,
                          capture_output=True, text=True).stdout.strip()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- the sink

class Counter:
    """Counts DATA by Message-ID; keeps nothing else."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}
        self.last = None

    async def handle_DATA(self, server, session, envelope):
        headers = email.parser.BytesHeaderParser().parsebytes(envelope.original_content or b"")
        message_id = str(headers.get("Message-ID", "")).strip()
        with self.lock:
            self.seen[message_id] = self.seen.get(message_id, 0) + 1
            self.last = time.monotonic()
        return "250 OK"

    def counts(self):
        with self.lock:
            return len(self.seen), sum(self.seen.values()), self.last

    def reset(self):
        with self.lock:
            self.seen.clear()
            self.last = None


# ---------------------------------------------------------------- the outbox

def insert_postgres(url, count):
    psql(url, f"""
    INSERT INTO mail_outbox (tenant_id, kind, from_name, from_address, recipient, subject, text_body,
                             html_body, status, attempts, next_attempt_at, created_at, message_id)
    SELECT t.id, 'activation', 'Mairie de Villeneuve', 'ne-pas-repondre@villeneuve.example.fr',
           'habitant.' || n || '@charge.example', 'Mairie de Villeneuve : activez votre espace',
           replace($t${TEXT}$t$, '{{n}}', n::text), $h${HTML}$h$, 'pending', 0, now(), now(),
           '<guichet.bench' || n || '.' || md5(random()::text) || '@villeneuve.example.fr>'
    FROM tenant t CROSS JOIN generate_series(1, {count}) AS n WHERE t.slug = 'villeneuve';
    """)


def insert_sqlite(path, count):
    # Due long ago: the stored text of a date compares as text on SQLite.
    at = "2026-01-01 00:00:00+00:00"
    db = sqlite3.connect(path, timeout=30)
    with db:
        tenant = db.execute("SELECT id FROM tenant WHERE slug = 'villeneuve'").fetchone()[0]
        db.executemany(
            "INSERT INTO mail_outbox (tenant_id, kind, from_name, from_address, recipient, subject, "
            "text_body, html_body, status, attempts, next_attempt_at, created_at, message_id) "
            "VALUES (?, 'activation', 'Mairie de Villeneuve', 'ne-pas-repondre@villeneuve.example.fr', "
            "?, 'Mairie de Villeneuve : activez votre espace', ?, ?, 'pending', 0, ?, ?, ?)",
            [(tenant, f"habitant.{n}@charge.example", TEXT.replace("{n}", str(n)), HTML, at, at,
              f"<guichet.bench{n}.{os.urandom(8).hex()}@villeneuve.example.fr>")
             for n in range(1, count + 1)])
    db.close()


def count_sent(database, url_or_path):
    sql = "SELECT count(*) FROM mail_outbox WHERE status = 'sent'"
    if database == "postgres":
        return int(psql_value(url_or_path, sql))
    db = sqlite3.connect(url_or_path, timeout=30)
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


# ---------------------------------------------------------------- one run

def run(args, database, instances, term, sink, smtp_port):
    work = tempfile.mkdtemp(prefix="guichet-mail-")
    base_url = os.environ.get("LOAD_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    db_name = f"guichet_mail_{os.getpid()}"
    if database == "postgres":
        db_url = urllib.parse.urlparse(base_url)._replace(path=f"/{db_name}").geturl()
        location = db_url
        psql(base_url, f"DROP DATABASE IF EXISTS {db_name}")
        psql(base_url, f"CREATE DATABASE {db_name}")
    else:
        location = os.path.join(work, "guichet.sqlite")
        db_url = f"sqlite://{location}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
    env.update({
        "GUICHET_DATABASE_URL": db_url,
        "GUICHET_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "GUICHET_BASE_DOMAIN": "localhost",
        "GUICHET_SECRET_KEY": SECRET_KEY,
        "GUICHET_THEMES_DIR": os.path.join(ROOT, "themes"),
        "GUICHET_MODULE_CACHE_DIR": os.path.join(work, "modules"),
        "GUICHET_LOG": "warn",
    })
    if args.concurrency:
        env["GUICHET_MAIL_CONCURRENCY"] = str(args.concurrency)
    processes = []
    result = {"database": database, "instances": instances, "term": term, "mails": args.mails,
              "concurrency": args.concurrency}
    try:
        subprocess.run([args.binary, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([args.binary, "tenant", "apply", os.path.join(ROOT, "tenants")], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        for index in range(instances):
            port = free_port()
            process = subprocess.Popen([args.binary, "serve"], env=dict(env, GUICHET_PORT=str(port)),
                                       cwd=work, stdout=subprocess.DEVNULL,
                                       stderr=open(os.path.join(work, f"serve{index}.log"), "w"))
            processes.append(process)
            wait_port(port, f"guichet serve #{index + 1}")
        time.sleep(1)
        sink.reset()
        cpu_before = [cpu_seconds(p.pid) for p in processes]

        started = time.monotonic()
        if database == "postgres":
            insert_postgres(location, args.mails)
        else:
            insert_sqlite(location, args.mails)
        committed = time.monotonic()
        log(f"{database}, {instances} instance(s): {args.mails} mails queued in {committed - started:.1f} s")

        deadline = committed + args.timeout
        terminated = None
        while time.monotonic() < deadline:
            unique, _, _ = sink.counts()
            if unique >= args.mails:
                break
            if term and terminated is None and unique >= args.mails // 2:
                # Half-way: the first instance is stopped as a deployment
                # would (or killed); the others must send the rest.
                asked = time.monotonic()
                processes[0].send_signal(signal.SIGTERM if term == "term" else signal.SIGKILL)
                processes[0].wait(timeout=30)
                terminated = (round(time.monotonic() - asked, 2), processes[0].returncode)
                log(f"instance #1 stopped ({term}) half-way in {terminated[0]} s (exit {terminated[1]})")
            time.sleep(0.05)
        result["terminated_half_way"] = terminated
        unique, total, last = sink.counts()
        result["received"] = unique
        result["copies"] = total - unique
        result["seconds"] = (last - committed) if (last and unique >= args.mails) else None
        result["cpu_seconds"] = sum(cpu_seconds(p.pid) - before
                                    for p, before in zip(processes, cpu_before) if p.poll() is None)
        time.sleep(1)  # the last outcomes written
        result["recorded_sent"] = count_sent(database, location)

        stops = []
        for process in processes:
            if process.poll() is not None:
                continue
            asked = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                code = "killed"
            stops.append((round(time.monotonic() - asked, 2), code))
        result["stops"] = stops
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        if database == "postgres":
            subprocess.run(["psql", "-q", base_url, "-c", f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", work], check=False)
    return result


def report(results):
    print(f"\nGuichet mail: {results[0]['mails']} mails to an aiosmtpd sink on 127.0.0.1, "
          f"{os.cpu_count()} cores, mail_concurrency {results[0]['concurrency'] or 'default'}")
    print(f"{'database':<10}{'instances':>14}{'seconds':>9}{'mails/s':>9}{'copies':>8}"
          f"{'sent rows':>11}{'cpu s':>7}  exits (s, code)")
    for r in results:
        label = f"{r['instances']}{' (1 ' + r['term'] + ')' if r['term'] else ''}"
        seconds = r["seconds"]
        rate = f"{r['mails'] / seconds:.0f}" if seconds else "-"
        shown = f"{seconds:.1f}" if seconds else f">{r['received']}"
        print(f"{r['database']:<10}{label:>14}{shown:>9}{rate:>9}{r['copies']:>8}"
              f"{r['recorded_sent']:>11}{r['cpu_seconds']:>7.1f}  "
              f"{[r['terminated_half_way']] + r['stops'] if r['term'] else r['stops']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--mails", type=int, default=10000)
    parser.add_argument("--concurrency", type=int,
                        help="mail_concurrency of each instance (default: Guichet's)")
    parser.add_argument("--runs", default="postgres:1,postgres:2,postgres:2:term,postgres:2:kill,sqlite:1",
                        help="database:instances[:term|:kill], comma-separated; `term` stops the "
                             "first instance (SIGTERM) once half the mail is delivered, `kill` kills it "
                             "(SIGKILL)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds a run may take at most")
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)

    sink = Counter()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    results = []
    try:
        for item in args.runs.split(","):
            database, instances, *term = item.split(":")
            results.append(run(args, database, int(instances), term[0] if term else None, sink, smtp_port))
    finally:
        controller.stop()
    report(results)


if __name__ == "__main__":
    main()
