// The real thing for the browser tests: a fresh SQLite database, a real
// SMTP server (aiosmtpd, each mail a file in a Maildir), and the `guichet`
// binary (built by `cargo test`) running `guichet demo` on a free port: the
// demo towns and their demo resident, with mail going over SMTP. Other
// residents are created with `guichet account create`, as a town does.

"use strict";

const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..", "..", "..");
const BINARY = process.env.GUICHET_BINARY || path.join(ROOT, "target", "debug", "guichet");

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

async function waitFor(check, what, timeoutMs = 20000) {
  const started = Date.now();
  for (;;) {
    if (await check()) {
      return;
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function portAnswers(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.on("connect", () => { socket.end(); resolve(true); });
    socket.on("error", () => resolve(false));
  });
}

/** Starts everything; `stop()` ends it. */
async function start() {
  if (!fs.existsSync(BINARY)) {
    throw new Error(`${BINARY} does not exist: run \`cargo test\` (tests/run does) first`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "guichet-e2e-"));
  const maildir = path.join(dir, "mail");
  const smtpPort = await freePort();
  const port = await freePort();
  const smtp = spawn("python3", ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${smtpPort}`, "-c", "aiosmtpd.handlers.Mailbox", maildir], { stdio: "ignore" });
  await waitFor(() => portAnswers(smtpPort), "the SMTP server");

  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("GUICHET_"))),
    GUICHET_DATABASE_URL: `sqlite://${dir}/guichet.sqlite`,
    GUICHET_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    GUICHET_BASE_DOMAIN: "localhost",
    GUICHET_PORT: String(port),
    GUICHET_PUBLIC_SCHEME: "http",
    GUICHET_PUBLIC_PORT: String(port),
    GUICHET_SECRET_KEY: Buffer.from("guichet-e2e-secret-key-32-bytes!").toString("base64"),
    GUICHET_THEMES_DIR: path.join(ROOT, "themes"),
    // One cache for every test file: each would otherwise compile the
    // first-party modules again at its start (files are named by content
    // and engine, signed with this key, written atomically).
    GUICHET_MODULE_CACHE_DIR: path.join(ROOT, "target", "e2e-module-cache"),
    GUICHET_MAIL_RETRY_SECONDS: "1",
    GUICHET_LOG: "warn",
  };
  const run = (args) => execFileSync(BINARY, args, { cwd: dir, env, encoding: "utf8" });
  // From the repository: the demo reads its towns from tenants/.
  const server = spawn(BINARY, ["demo", "--port", String(port)], { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
  let serverLog = "";
  server.stderr.on("data", (chunk) => { serverLog += chunk; });
  await waitFor(() => portAnswers(port), "guichet demo", 60000);

  return {
    port,
    dir,
    env,
    maildir,
    run,
    url: (town, pathname = "/") => `http://${town}.localhost:${port}${pathname}`,
    /** `guichet account create` for a town; the activation mail follows. */
    createResident(town, { email, firstName, lastName, civility = "M" }) {
      return run(["account", "create", "--tenant", town, "--email", email, "--first-name", firstName, "--last-name", lastName, "--civility", civility]);
    },
    log: () => serverLog,
    async stop() {
      server.kill("SIGTERM");
      smtp.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 200));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { start, waitFor, ROOT };
