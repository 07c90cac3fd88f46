#!/usr/bin/env python3
"""The fault suite: Guichet's scale path (several `guichet serve` on one
PostgreSQL) under the faults that happen in production.

Two instances, A and B, share a private PostgreSQL cluster (started here, in
a temporary folder, on a free loopback port: the suite stops and starts it
without touching the machine's own server) and send mail to a real SMTP
sink (aiosmtpd) that records every Message-ID. Then, one after the other:

1. mail while A is killed (SIGKILL) and B stopped (SIGTERM) in the middle of
   sending: no mail lost, none delivered under two Message-IDs;
2. mail queued while the SMTP server is down, then up: each delivered once;
3. PostgreSQL stopped 15 s under load: only 2xx or 503 with Retry-After, no
   answer slower than 2 s, /readyz 503 within 1 s, recovery within 1 s of
   the database's return, no acknowledged write lost;
4. a town changed through the CLI is served by A and B within 1 s;
5. a payment whose server is killed (SIGKILL) after sending the resident to
   PayFiP (a local server in its shape) and before PayFiP's notification:
   restarted, the reconciliation settles it, once, and the invoices module
   records it once.

Bounded in time and count, loopback only. Prints its figures; exits 1 on
the first broken promise. Run by `tests/run` (after `cargo test` built the
binary), or alone: `python3 tests/faults/faults.py [scenario numbers]`.
"""

import base64
import concurrent.futures
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from sink import Sink  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("GUICHET_BINARY", os.path.join(ROOT, "target", "debug", "guichet"))
TOWN = "villeneuve"
HOST = f"{TOWN}.localhost"
KEY = base64.b64encode(b"guichet-fault-suite-secret-key-!").decode()
# Sends each instance runs at once (`mail_concurrency`): what a killed
# instance may have in flight, the server taking them after its death.
MAIL_CONCURRENCY = 16

failures = []


def check(condition, message):
    print(("  ok    " if condition else "  FAIL  ") + message, flush=True)
    if not condition:
        failures.append(message)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class Postgres:
    """A private cluster: initdb'd here, owned by the `postgres` user when
    the suite runs as root (PostgreSQL refuses to run as root)."""

    def __init__(self, folder):
        self.folder = os.path.join(folder, "pg")
        self.port = free_port()
        self.bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        os.makedirs(self.folder)
        self.as_owner = []
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
            shutil.chown(self.folder, "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self.run("initdb", "-D", self.folder, "-A", "trust", "-U", "postgres", "--no-sync")

    def run(self, tool, *args):
        subprocess.run(
            self.as_owner + [os.path.join(self.bin, tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self):
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", self.folder, "-o", options, "-l", os.path.join(self.folder, "log"), "-w", "start")

    def stop(self):
        self.run("pg_ctl", "-D", self.folder, "-m", "fast", "-w", "stop")

    def url(self, database="guichet"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement):
        out = subprocess.run(
            ["psql", "-X", "-q", "-At", "-d", self.url(), "-c", statement],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()


class Guichet:
    """Environment and CLI of the `guichet` binary for this suite."""

    def __init__(self, folder, postgres, smtp_port):
        self.folder = folder
        # Only the settings below: any other GUICHET_* variable (the suite's
        # own GUICHET_BINARY, an operator's) would be refused as unknown.
        self.env = {name: value for name, value in os.environ.items() if not name.startswith("GUICHET_")}
        self.env.update(
            {
                "GUICHET_DATABASE_URL": postgres.url(),
                "GUICHET_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
                "GUICHET_SECRET_KEY": KEY,
                "GUICHET_ADDRESS": "127.0.0.1",
                "GUICHET_BASE_DOMAIN": "localhost",
                "GUICHET_PUBLIC_SCHEME": "http",
                "GUICHET_THEMES_DIR": os.path.join(ROOT, "themes"),
                "GUICHET_MODULE_CACHE_DIR": os.path.join(folder, "modules"),
                "GUICHET_MAIL_RETRY_SECONDS": "1",
                "GUICHET_MAIL_CONCURRENCY": str(MAIL_CONCURRENCY),
                "GUICHET_LOG": "warn",
            }
        )

    def cli(self, *args):
        out = subprocess.run([BINARY, *args], cwd=self.folder, env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"guichet {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout


class Instance:
    def __init__(self, name, guichet):
        self.name = name
        self.guichet = guichet
        self.port = free_port()
        self.process = None

    def start(self):
        env = dict(self.guichet.env, GUICHET_PORT=str(self.port))
        log = open(os.path.join(self.guichet.folder, f"{self.name}.log"), "ab")
        self.process = subprocess.Popen([BINARY, "serve"], cwd=self.guichet.folder, env=env, stdout=log, stderr=log)
        if not wait_until(lambda: self.get("/healthz", timeout=1)[0] == 200, 60, 0.2):
            raise RuntimeError(f"instance {self.name} did not start (see {log.name})")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            check(False, f"{self.name} stops within 30 s of SIGTERM")

    def request(self, method, path, body=None, headers=None, timeout=10):
        """(status, headers, body, seconds); status 0 when nothing answered."""
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers={"Host": HOST, **(headers or {})})
            response = connection.getresponse()
            data = response.read()
            # Header names as lowercase: HTTP/1 servers may send either case.
            headers = {name.lower(): value for name, value in response.getheaders()}
            return response.status, headers, data, time.monotonic() - started
        except OSError:
            return 0, {}, b"", time.monotonic() - started
        finally:
            connection.close()

    def get(self, path, timeout=10):
        status, _, body, _ = self.request("GET", path, timeout=timeout)
        return status, body


# ---------------------------------------------------------------- mail --

def queue_mails(postgres, count, label):
    """Queues `count` mails as the application does (one outbox row each,
    in one transaction), for the town's residents-to-be."""
    postgres.sql(
        f"""
        INSERT INTO mail_outbox (tenant_id, kind, from_name, from_address, recipient, subject,
                                 text_body, html_body, status, attempts, next_attempt_at, created_at)
        SELECT t.id, 'activation', 'Mairie', 'mairie@villeneuve.example.fr',
               '{label}-' || n || '@example.org', 'Test ' || n, 'Bonjour', '<p>Bonjour</p>',
               'pending', 0, now(), now()
        FROM tenant t, generate_series(1, {count}) AS n WHERE t.slug = '{TOWN}';
        NOTIFY guichet_mail;
        """
    )


def pending(postgres):
    return int(postgres.sql("SELECT count(*) FROM mail_outbox WHERE status = 'pending'"))


def delivered(sink, label):
    return [mail for mail in sink.recorder.snapshot() if any(r.startswith(f"{label}-") for r in mail[1])]


def mail_under_kills(postgres, sink, a, b):
    print("1. mail while A is killed and B stopped during sends", flush=True)
    count = 600
    queue_mails(postgres, count, "kill")
    started = time.monotonic()
    wait_until(lambda: len(delivered(sink, "kill")) >= count // 6, 30)
    a.kill()
    wait_until(lambda: len(delivered(sink, "kill")) >= count // 3, 30)
    b.terminate()
    stopped_with = len(delivered(sink, "kill"))
    a.start()
    b.start()
    drained = wait_until(lambda: pending(postgres) == 0 and len({m[0] for m in delivered(sink, "kill")}) >= count, 120, 0.2)
    elapsed = time.monotonic() - started
    mails = delivered(sink, "kill")
    ids = {message_id for message_id, _ in mails}
    print(f"      {count} mails, {stopped_with} before both stops, drained in {elapsed:.1f} s; "
          f"{len(mails)} copies received, {len(ids)} distinct Message-IDs", flush=True)
    check(drained, "every mail is delivered after the restarts")
    check(all(ids) and None not in ids, "every mail carries a Message-ID")
    check(len(ids) == count, f"no mail lost: {len(ids)} of {count} Message-IDs")
    recipients = {}
    for message_id, rcpt in mails:
        recipients.setdefault(rcpt, set()).add(message_id)
    check(all(len(found) == 1 for found in recipients.values()),
          "no recipient got the same mail under two Message-IDs")
    check(len(mails) - count <= MAIL_CONCURRENCY,
          f"at most the mails in flight at the kill are sent twice (same Message-ID): {len(mails) - count}")


def mail_while_smtp_is_down(postgres, sink, guichet):
    print("2. mail queued while the SMTP server is down", flush=True)
    sink.stop()
    count = 1000
    # A few through the real account creation (argon2, the activation mail
    # in the creation's transaction), the rest queued as it does.
    for n in range(10):
        guichet.cli("account", "create", "--tenant", TOWN, "--email", f"down-cli-{n}@example.org",
                    "--first-name", "Jeanne", "--last-name", f"Essai{n}")
    queue_mails(postgres, count - 10, "down")
    time.sleep(3)
    check(pending(postgres) >= count, "nothing is lost while the server is down")
    started = time.monotonic()
    sink.start()
    drained = wait_until(lambda: pending(postgres) == 0, 120, 0.2)
    elapsed = time.monotonic() - started
    mails = delivered(sink, "down")
    ids = {message_id for message_id, _ in mails}
    print(f"      {count} mails delivered in {elapsed:.1f} s after the server came back "
          f"({count / max(elapsed, 0.001):.0f} mails/s, two instances)", flush=True)
    check(drained, "the outbox drains once the server is back")
    check(len(ids) == count and len(mails) == count, f"each delivered once: {len(mails)} copies of {len(ids)}")


# ------------------------------------------------------------ outages --

def outage_under_load(postgres, guichet, a):
    print("3. PostgreSQL stopped 15 s under load", flush=True)
    # The key is the second line of what `api-key create` prints.
    api_key = guichet.cli("api-key", "create", "--tenant", TOWN, "--name", "fault suite").splitlines()[1].strip()
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    acknowledged, answers, lock = [], [], threading.Lock()
    stop = threading.Event()

    def writer(worker):
        n = 0
        while not stop.is_set():
            n += 1
            key = f"w{worker}-{n}"
            status, head, _, seconds = a.request(
                "PUT", f"/api/v1/modules/invoices/data/{key}", body=json.dumps({"n": n}), headers=headers, timeout=10)
            with lock:
                answers.append((status, head.get("retry-after"), seconds))
                if 200 <= status < 300:
                    acknowledged.append(key)
            time.sleep(0.02)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for worker in range(4):
            pool.submit(writer, worker)
        time.sleep(2)
        postgres.stop()
        stopped_at = time.monotonic()
        ready = a.request("GET", "/readyz", timeout=5)
        time.sleep(15 - (time.monotonic() - stopped_at))
        postgres.start()
        back_at = time.monotonic()
        recovered = wait_until(lambda: a.get("/readyz", timeout=2)[0] == 200, 10, 0.05)
        recovery = time.monotonic() - back_at
        time.sleep(2)
        stop.set()

    during = [answer for answer in answers if answer[0] != 200 and answer[0] != 204]
    slowest = max(seconds for _, _, seconds in answers)
    print(f"      {len(answers)} writes, {len(acknowledged)} acknowledged, {len(during)} refused; "
          f"slowest answer {slowest:.2f} s; /readyz down in {ready[3]:.2f} s; recovery {recovery:.2f} s", flush=True)
    odd = sorted({(status, retry) for status, retry, _ in during if not (status == 503 and retry)})
    check(not odd, f"while the database is down every refusal is 503 with Retry-After (others: {odd})")
    # One acquire timeout (2 s) is the aim and what was measured; a page
    # was once seen waiting two under load (ARCHITECTURE.md), so the bound
    # is two, plus a margin: nothing hangs.
    check(slowest <= 4.5, f"no answer hangs: slowest {slowest:.2f} s (two acquire timeouts + 0.5 s at most)")
    check(ready[0] == 503 and ready[3] <= 1.0, f"/readyz answers 503 within 1 s: {ready[0]} in {ready[3]:.2f} s")
    check(recovered and recovery <= 1.5, f"recovered within 1 s of the database's return (+0.5 s): {recovery:.2f} s")
    lost = [key for key in acknowledged
            if a.request("GET", f"/api/v1/modules/invoices/data/{key}", headers=headers)[0] != 200]
    check(not lost, f"no acknowledged write lost: {len(lost)} of {len(acknowledged)}")


def town_change_seen_everywhere(guichet, a, b, folder):
    print("4. a town changed through the CLI, seen by both instances", flush=True)
    towns = os.path.join(folder, "tenants")
    shutil.copytree(os.path.join(ROOT, "tenants"), towns)
    path = os.path.join(towns, TOWN, "tenant.toml")
    with open(path, encoding="utf-8") as file:
        text = file.read()
    renamed = "Ville de Villeneuve-sur-Faute"
    with open(path, "w", encoding="utf-8") as file:
        file.write(text.replace('display_name = "Ville de Villeneuve"', f'display_name = "{renamed}"', 1))
    guichet.cli("tenant", "apply", towns)
    applied = time.monotonic()
    seen = {}
    for instance in (a, b):
        wait_until(lambda: renamed.encode() in instance.get("/")[1], 5, 0.05)
        seen[instance.name] = time.monotonic() - applied
    print("      seen by " + ", ".join(f"{name} after {delay:.2f} s" for name, delay in seen.items()), flush=True)
    check(all(delay <= 1.0 for delay in seen.values()), "every instance serves the change within 1 s")


# ------------------------------------------------------------- payment --

class PayFiP:
    """tests/payfip/server.mjs, with its test controls."""

    def __init__(self):
        self.process = subprocess.Popen(
            ["node", os.path.join(ROOT, "tests", "payfip", "server.mjs")],
            env=dict(os.environ, PORT="0", PAYFIP_TEST_CONTROLS="1",
                     CLIENTS=json.dumps([{"numcli": "123456", "libelle": "REGIE DE VILLENEUVE"}])),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line.startswith("ready "):
            raise RuntimeError("the PayFiP server did not start")
        self.url = line.split(" ", 1)[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1])

    def post(self, path, body, content_type="application/json"):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("POST", path, body=body.encode(), headers={"Content-Type": content_type})
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def create(self, fields):
        """creerPaiementSecurise, as Guichet sends it; the idOp."""
        arg = "".join(f"<{name}>{value}</{name}>" for name, value in fields.items())
        envelope = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:pai="http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/contrat_paiement_securise/PaiementSecuriseService">'
            f"<soapenv:Body><pai:creerPaiementSecurise><arg0>{arg}</arg0></pai:creerPaiementSecurise></soapenv:Body></soapenv:Envelope>"
        )
        status, body = self.post("/tpa/services/securite", envelope, "text/xml; charset=utf-8")
        if status != 200:
            raise RuntimeError(f"creerPaiementSecurise: {status} {body}")
        return body.split("idOp", 1)[1].split(">", 1)[1].split("<", 1)[0]

    def stop(self):
        self.process.kill()
        self.process.wait()


def payment_across_a_kill(postgres, guichet, payfip, a, b):
    print("5. a payment whose server is killed before PayFiP's notification", flush=True)
    api_key = guichet.cli("api-key", "create", "--tenant", TOWN, "--name", "fault suite payments").splitlines()[1].strip()
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    status, _, body, _ = a.request("POST", "/api/v1/accounts", json.dumps(
        {"email": "paiement.faute@example.org", "first_name": "Paule", "last_name": "FAUTE"}), headers)
    check(status == 201, f"a resident created through the data API ({status})")
    identifier = json.loads(body)["identifier"]
    invoice = {"number": "2026-11-0099", "period": "Novembre 2026", "amount_cents": 4500,
               "due_date": "2026-12-15", "status": "a-payer"}
    status, _, _, _ = a.request("PUT", f"/api/v1/modules/invoices/residents/{identifier}/data/facture:2026-11-0099",
                                json.dumps(invoice), headers)
    check(status == 200, f"their invoice pushed ({status})")
    # Guichet recorded the payment and sent the resident to PayFiP (what
    # POST /paiements/payer does); then A is killed.
    payment_id = postgres.sql(
        "INSERT INTO payment (tenant_id, account_id, resident_identifier, provider, module_id, reference, label, "
        "amount_cents, email, numcli, saisie, return_path, return_token, state, created_at, updated_at, "
        "event_attempts) "
        f"SELECT t.id, acc.id, '{identifier}', 'payfip', 'invoices', '2026110099', 'Facture 2026-11-0099', 4500, "
        "'paiement.faute@example.org', '123456', 'T', '/services/invoices/factures', md5(random()::text), "
        "'created', now() - interval '6 minutes', now(), 0 FROM tenant t JOIN account acc ON acc.tenant_id = t.id "
        f"WHERE t.slug = '{TOWN}' AND acc.identifier = '{identifier}' RETURNING id").splitlines()[0]
    idop = payfip.create({
        "exer": "2026", "mel": "paiement.faute@example.org", "montant": "4500", "numcli": "123456",
        "objet": "Facture 2026 11 0099", "refdet": "2026110099", "saisie": "T",
        "urlnotif": f"http://{HOST}:{a.port}/paiements/notification",
        "urlredirect": f"http://{HOST}:{a.port}/paiements/retour/" + postgres.sql(
            f"SELECT return_token FROM payment WHERE id = {payment_id}"),
    })
    postgres.sql(f"UPDATE payment SET provider_id = '{idop}', state = 'waiting' WHERE id = {payment_id}")
    b.terminate()
    a.kill()
    # The resident pays; PayFiP's notification finds no server.
    status, body = payfip.post("/test/outcome", json.dumps({"idop": idop, "resultrans": "P", "notify": True}))
    check(status == 200 and json.loads(body)["status"] is None, f"the notification found no server ({body})")
    check(postgres.sql(f"SELECT state FROM payment WHERE id = {payment_id}") == "waiting", "still waiting while down")
    restarted = time.monotonic()
    a.start()
    b.start()
    settled = wait_until(lambda: postgres.sql(f"SELECT state FROM payment WHERE id = {payment_id}") == "paid", 60, 0.5)
    print(f"      settled {time.monotonic() - restarted:.1f} s after the restart", flush=True)
    check(settled, "the reconciliation settles the payment after the restart")
    delivered = wait_until(lambda: postgres.sql(
        f"SELECT event_delivered_at IS NOT NULL FROM payment WHERE id = {payment_id}") == "t", 30, 0.5)
    check(delivered, "the invoices module was told")
    status, _, body, _ = a.request("GET", f"/api/v1/modules/invoices/residents/{identifier}/data/facture:2026-11-0099",
                                   headers=headers)
    value = json.loads(body)["value"] if status == 200 else {}
    stored = json.loads(value) if isinstance(value, str) else value
    online = [p for p in stored.get("payments", []) if p.get("means") == "en-ligne"]
    check(stored.get("status") == "payee" and len(online) == 1, f"the invoice is paid, once ({stored})")
    check(postgres.sql("SELECT count(*) FROM audit_event WHERE kind = 'payment_received'") == "1",
          "one payment_received in the journal")
    # Both instances keep reconciling: nothing more happens.
    time.sleep(2)
    check(postgres.sql(f"SELECT count(*) FROM payment_answer WHERE payment_id = {payment_id} "
                       "AND outcome LIKE 'Résultat P%'") == "1", "one answer recorded the payment")


def main():
    if not os.path.exists(BINARY):
        sys.exit(f"faults: {BINARY} is missing (cargo build -p guichet)")
    folder = tempfile.mkdtemp(prefix="guichet-faults-")
    postgres = Postgres(folder)
    postgres.start()
    subprocess.run(["psql", "-X", "-q", "-d", postgres.url("postgres"), "-c", "CREATE DATABASE guichet"], check=True)
    sink = Sink(free_port())
    sink.start()
    payfip = PayFiP()
    guichet = Guichet(folder, postgres, sink.port)
    guichet.env["GUICHET_PAYFIP_URL"] = f"{payfip.url}/tpa"
    instances = []
    try:
        guichet.cli("migrate")
        guichet.cli("tenant", "apply", os.path.join(ROOT, "tenants"))
        a, b = Instance("A", guichet), Instance("B", guichet)
        instances += [a, b]
        a.start()
        b.start()
        scenarios = {
            "1": lambda: mail_under_kills(postgres, sink, a, b),
            "2": lambda: mail_while_smtp_is_down(postgres, sink, guichet),
            "3": lambda: outage_under_load(postgres, guichet, a),
            "4": lambda: town_change_seen_everywhere(guichet, a, b, folder),
            "5": lambda: payment_across_a_kill(postgres, guichet, payfip, a, b),
        }
        # `faults.py 3 4` runs only those (all by default).
        for number in sys.argv[1:] or sorted(scenarios):
            scenarios[number]()
    finally:
        for instance in instances:
            if instance.process and instance.process.poll() is None:
                instance.kill()
        sink.stop()
        payfip.stop()
        try:
            postgres.stop()
        except subprocess.CalledProcessError:
            pass
        if not failures:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"faults: logs kept in {folder}", flush=True)
    print(f"faults: {len(failures)} promise(s) broken" if failures else "faults: every promise kept", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
