// A local server that speaks the protocol of the DGFiP's PayFiP web service,
// for the integration tests, the fault suite and `guichet demo`: the SOAP
// service (creerPaiementSecurise, recupererDetailPaiementSecurise,
// recupererDetailClient), the payment page the person is sent to, and the
// notification PayFiP posts to the town once the person has answered.
//
// Usage: PORT=0 CLIENTS='[{"numcli":"123456","libelle":"REGIE …"}]' node server.mjs
// It prints "ready http://127.0.0.1:<port>" once it listens (PORT=0: a free
// port). Without CLIENTS, any six-digit numcli is a known contract.
// With PAYFIP_TEST_CONTROLS=1, the /test/... endpoints (JSON) let a test
// answer in the person's place, forge the detail, age or forget a payment,
// and make the service unavailable. Everything lives in memory.
//
// No npm dependency: the requests are small and of one known shape, so a
// strict little XML reader is enough, and the server runs wherever Node.js
// 20 does, without `npm ci`.

import crypto from "node:crypto";
import dns from "node:dns";
import http from "node:http";
import https from "node:https";

// Whoever started us may stop reading once we are ready: a closed pipe is
// no reason to stop serving.
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});

const NS_SERVICE =
  "http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/contrat_paiement_securise/PaiementSecuriseService";
const NS_REPONSE = "http://securite.service.tpa.cp.finances.gouv.fr/reponse";
const NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/";
const EXCEPTIONS = "fr.gouv.finances.cp.tpa.webservice.exceptions";
const SOAP_PATH = "/tpa/services/securite";
const PAGE_PATH = "/tpa/paiementws.web";
const SITE = "PayFiP (serveur local de test)";
const TITLE = `Paiement de votre facture – ${SITE}`;
/** A payment page not answered within this time is expired, as at PayFiP. */
const LIFETIME_MS = 15 * 60 * 1000;
const NOTIFY_TIMEOUT_MS = 15 * 1000;
const BODY_LIMIT = 64 * 1024;
const CONTROLS = process.env.PAYFIP_TEST_CONTROLS === "1";

/** The town contracts, numcli → libellé; empty means "any six digits". */
const clients = new Map();
try {
  for (const client of JSON.parse(process.env.CLIENTS || "[]")) {
    clients.set(String(client.numcli), String(client.libelle ?? ""));
  }
} catch (error) {
  console.error(`CLIENTS illisible (un tableau JSON est attendu) : ${error.message}`);
  process.exit(1);
}
const libelleOf = (numcli) =>
  clients.size === 0 ? (/^[0-9]{6}$/.test(numcli) ? "REGIE DE TEST" : undefined) : clients.get(numcli);

/** idOp → payment. */
const payments = new Map();
let unavailable = false;

// ---------------------------------------------------------------------------
// Text helpers

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

/** DDMMYYYY and HHMM in Paris time: PayFiP's dattrans and heurtrans. */
const PARIS = new Intl.DateTimeFormat("fr-FR", {
  timeZone: "Europe/Paris",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});
function parisStamp(date) {
  const part = Object.fromEntries(PARIS.formatToParts(date).map((p) => [p.type, p.value]));
  return { dattrans: `${part.day}${part.month}${part.year}`, heurtrans: `${part.hour}${part.minute}` };
}

/** Cents as French writes euros: "1 234,50 €" (narrow no-break spaces). */
function euros(cents) {
  const whole = String(Math.floor(cents / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
  return `${whole},${String(cents % 100).padStart(2, "0")}\u00a0€`;
}

// ---------------------------------------------------------------------------
// A strict little XML reader. It keeps what a SOAP request needs (elements by
// local name, their text) and refuses the rest: a DOCTYPE (so no entity
// expansion), unbalanced tags, stray text outside the root, unknown entities.

class Malformed extends Error {}

const NAMED = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);|&/g, (whole, ref) => {
    if (ref === undefined) throw new Malformed("« & » isolé");
    if (ref[0] !== "#") {
      if (!(ref in NAMED)) throw new Malformed(`entité inconnue &${ref};`);
      return NAMED[ref];
    }
    const code = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    const allowed =
      code === 0x9 || code === 0xa || code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
    if (!allowed) throw new Malformed(`caractère interdit ${whole}`);
    return String.fromCodePoint(code);
  });
}

const localName = (qname) => qname.slice(qname.indexOf(":") + 1);

/** The root element: { name, local, children: (element | string)[] }. */
function parseXml(source) {
  const text = source.replace(/^\uFEFF/, "");
  const document = { name: "#document", local: "#document", children: [] };
  const stack = [document];
  const token =
    /<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<\?[\s\S]*?\?>|(<!)|<\/([^\s<>/]+)\s*>|<([^\s<>/!?]+)((?:\s+[^\s<>=/]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|([^<]+)|(<)/gy;
  let match;
  while (token.lastIndex < text.length && (match = token.exec(text))) {
    const [, cdata, declaration, closing, opening, , selfClosing, chars, stray] = match;
    const top = stack[stack.length - 1];
    if (declaration !== undefined || stray !== undefined) {
      throw new Malformed("balise illisible ou DOCTYPE");
    } else if (closing !== undefined) {
      if (stack.length === 1 || top.name !== closing) throw new Malformed(`fermeture inattendue </${closing}>`);
      stack.pop();
    } else if (opening !== undefined) {
      if (stack.length === 1 && document.children.length > 0) throw new Malformed("plusieurs éléments racine");
      const element = { name: opening, local: localName(opening), children: [] };
      top.children.push(element);
      if (!selfClosing) stack.push(element);
    } else if (cdata !== undefined || chars !== undefined) {
      const value = cdata ?? decodeEntities(chars);
      if (stack.length === 1) {
        if (value.trim() !== "") throw new Malformed("texte hors de l'élément racine");
      } else {
        top.children.push(value);
      }
    }
  }
  if (stack.length !== 1) throw new Malformed(`élément <${stack[stack.length - 1].name}> non fermé`);
  const root = document.children[0];
  if (!root) throw new Malformed("document vide");
  return root;
}

const elements = (node) => node.children.filter((child) => typeof child !== "string");
const child = (node, local) => elements(node).find((element) => element.local === local);
const textOf = (node) => node.children.filter((c) => typeof c === "string").join("");

/** The operation's local name and its arg0 fields (local name → text). */
function readSoapRequest(body) {
  const envelope = parseXml(body);
  if (envelope.local !== "Envelope") throw new Malformed("l'élément racine n'est pas une enveloppe SOAP");
  const soapBody = child(envelope, "Body");
  if (!soapBody) throw new Malformed("enveloppe SOAP sans Body");
  const operation = elements(soapBody)[0];
  if (!operation) throw new Malformed("Body SOAP vide");
  const fields = new Map();
  const arg0 = child(operation, "arg0");
  for (const field of arg0 ? elements(arg0) : []) {
    if (!fields.has(field.local)) fields.set(field.local, textOf(field));
  }
  return { operation: operation.local, fields };
}

// ---------------------------------------------------------------------------
// SOAP answers

function envelope(content) {
  return `<soap:Envelope xmlns:soap="${NS_SOAP}"><soap:Body>${content}</soap:Body></soap:Envelope>`;
}

function sendXml(response, status, xml) {
  response.writeHead(status, { "Content-Type": "text/xml; charset=utf-8", "Cache-Control": "no-store" });
  response.end(xml);
}

/** A SOAP fault as PayFiP's: the exception's class as faultstring, its fields in detail. */
function sendFault(response, kind, code, libelle, descriptif = libelle) {
  const severite = kind === "FonctionnelleErreur" ? "2" : "3";
  sendXml(
    response,
    500,
    envelope(
      `<soap:Fault><faultcode>soap:Server</faultcode><faultstring>${EXCEPTIONS}.${kind}</faultstring>` +
        `<detail><ns2:${kind} xmlns:ns2="${NS_REPONSE}"><code>${escape(code)}</code>` +
        `<descriptif>${escape(descriptif)}</descriptif><libelle>${escape(libelle)}</libelle>` +
        `<severite>${severite}</severite></ns2:${kind}></detail></soap:Fault>`,
    ),
  );
}

class Refusal {
  constructor(code, libelle, descriptif) {
    Object.assign(this, { code, libelle, descriptif });
  }
}

/** Checks of creerPaiementSecurise's arguments, in this order; the first one that fails is answered. */
const CHECKS = [
  ["numcli", "R1", (v) => /^[0-9]{6}$/.test(v), "numcli : six chiffres attendus"],
  ["numcli", "R2", (v) => libelleOf(v) !== undefined, "numcli : aucun contrat PayFiP sous ce numéro", false, "Paramètre numcli inconnu"],
  ["exer", "R3", (v) => /^[0-9]{4}$/.test(v), "exer : une année sur quatre chiffres attendue"],
  ["refdet", "R4", (v) => /^[A-Za-z0-9]{1,30}$/.test(v), "refdet : 1 à 30 lettres ou chiffres, sans accent ni signe"],
  ["objet", "R5", (v) => /^[A-Za-z0-9 ]{0,100}$/.test(v), "objet : 100 lettres, chiffres ou espaces au plus, sans accent ni signe", true],
  ["montant", "R6", (v) => /^[0-9]{1,9}$/.test(v) && Number(v) >= 100 && Number(v) <= 10000000,
    "montant : un nombre entier de centimes entre 100 (1 €) et 10000000 (100 000 €)"],
  ["mel", "R7", (v) => v.length >= 6 && v.length <= 80 && /^[^\s@]+@[^\s@]+$/.test(v),
    "mel : une adresse électronique de 6 à 80 caractères"],
  ["saisie", "R8", (v) => ["T", "X", "W"].includes(v), "saisie : T, X ou W attendu"],
  ["urlnotif", "R9", (v) => isWebUrl(v), "urlnotif : une adresse http ou https absolue attendue"],
  ["urlredirect", "R10", (v) => isWebUrl(v), "urlredirect : une adresse http ou https absolue attendue"],
];

function isWebUrl(value) {
  if (/\s/.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

function creerPaiementSecurise(fields) {
  for (const [name, code, valid, explanation, optional, libelle = `Paramètre ${name} incorrect`] of CHECKS) {
    const value = fields.get(name);
    if (value === undefined ? !optional : !valid(value)) {
      throw new Refusal(code, libelle, value === undefined ? `${name} : paramètre absent` : explanation);
    }
  }
  const idOp = crypto.randomUUID();
  const get = (name) => fields.get(name);
  payments.set(idOp, {
    idOp,
    numcli: get("numcli"),
    exer: get("exer"),
    refdet: get("refdet"),
    objet: get("objet") ?? null,
    montant: Number(get("montant")),
    mel: get("mel"),
    saisie: get("saisie"),
    urlnotif: get("urlnotif"),
    urlredirect: get("urlredirect"),
    created: Date.now(),
    forgotten: false,
    tamper: {},
    result: null,
    notifications: [],
  });
  console.error(`paiement créé ${idOp} : numcli=${get("numcli")} refdet=${get("refdet")} montant=${get("montant")}`);
  return `<ns2:creerPaiementSecuriseResponse xmlns:ns2="${NS_SERVICE}"><return><idOp xmlns="${NS_REPONSE}">${escape(idOp)}</idOp></return></ns2:creerPaiementSecuriseResponse>`;
}

function recupererDetailPaiementSecurise(fields) {
  const payment = payments.get(fields.get("idOp") ?? "");
  if (!payment || payment.forgotten) throw new Refusal("P1", "IdOp incorrect", "Aucune opération de paiement sous cet identifiant");
  if (!payment.result) {
    throw new Refusal("P5", "Résultat de la transaction non connu", "L'usager n'a pas encore répondu sur la page de paiement");
  }
  // What /test/tamper forged wins over what was stored.
  const seen = { ...payment, ...payment.result, ...payment.tamper };
  const names = ["dattrans", "exer", "heurtrans", "idOp", "mel", "montant", "numauto", "numcli", "objet", "refdet", "resultrans", "saisie"];
  const values = names.map((name) => `<r:${name}>${escape(seen[name] ?? "")}</r:${name}>`).join("");
  return `<ns2:recupererDetailPaiementSecuriseResponse xmlns:ns2="${NS_SERVICE}"><return xmlns:r="${NS_REPONSE}">${values}</return></ns2:recupererDetailPaiementSecuriseResponse>`;
}

function recupererDetailClient(fields) {
  const numcli = fields.get("numCli") ?? "";
  const libelle = libelleOf(numcli);
  if (libelle === undefined) throw new Refusal("C1", "Client inconnu", "numCli : aucun contrat PayFiP sous ce numéro");
  return (
    `<ns2:recupererDetailClientResponse xmlns:ns2="${NS_SERVICE}"><return xmlns:r="${NS_REPONSE}">` +
    `<r:libelleN1>${escape(libelle)}</r:libelleN1><r:libelleN2></r:libelleN2><r:libelleN3></r:libelleN3>` +
    `<r:numcli>${escape(numcli)}</r:numcli></return></ns2:recupererDetailClientResponse>`
  );
}

const OPERATIONS = { creerPaiementSecurise, recupererDetailPaiementSecurise, recupererDetailClient };

function soap(response, body) {
  // Unavailability comes before reading: a service that is down reads nothing.
  if (unavailable) {
    sendFault(response, "TechIndisponibiliteErreur", "I1", "Service PayFiP momentanément indisponible");
    return;
  }
  let request;
  try {
    request = readSoapRequest(body);
  } catch (error) {
    if (!(error instanceof Malformed)) throw error;
    sendFault(response, "TechProtocolaireErreur", "T1", "Requête SOAP illisible", error.message);
    return;
  }
  const operation = Object.hasOwn(OPERATIONS, request.operation) ? OPERATIONS[request.operation] : undefined;
  if (!operation) {
    sendFault(response, "TechProtocolaireErreur", "T2", "Opération inconnue", `Opération ${request.operation} inconnue`);
    return;
  }
  try {
    sendXml(response, 200, envelope(operation(request.fields)));
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    sendFault(response, "FonctionnelleErreur", error.code, error.libelle, error.descriptif);
  }
}

// ---------------------------------------------------------------------------
// The notification: `idOp=<idOp>` posted to urlnotif, once, nothing signed.

// Browsers take every *.localhost name for this machine (RFC 6761) and the
// demo's towns live there, but the system resolver does not always agree.
function lookup(hostname, options, callback) {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) {
    if (options.all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
    else callback(null, "127.0.0.1", 4);
    return;
  }
  dns.lookup(hostname, options, callback);
}

/** Posts the notification and settles with { status, error }; never rejects. */
function notify(idop, url, field, payment) {
  return new Promise((resolve) => {
    const started = new Date();
    const body = new URLSearchParams({ [field]: idop }).toString();
    let timer;
    let request;
    let settled = false;
    const finish = (status, error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const outcome = { status, error };
      payment?.notifications.push({ at: started.toISOString(), url, field, ...outcome, ms: Date.now() - started.getTime() });
      console.error(`notification ${field}=${idop} → ${url} : ${error ? `échec (${error})` : `HTTP ${status}`}`);
      resolve(outcome);
      request?.destroy();
    };
    try {
      const target = new URL(url);
      const transport = target.protocol === "https:" ? https : target.protocol === "http:" ? http : null;
      if (!transport) throw new Error(`adresse non http(s) : ${url}`);
      request = transport.request(target, {
        method: "POST",
        agent: false,
        lookup,
        headers: { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": Buffer.byteLength(body) },
      });
    } catch (error) {
      finish(null, error.message);
      return;
    }
    timer = setTimeout(() => finish(null, `pas de réponse en ${NOTIFY_TIMEOUT_MS / 1000} s`), NOTIFY_TIMEOUT_MS);
    request.on("error", (error) => finish(null, error.message || error.code || String(error)));
    request.on("response", (answer) => {
      // The status alone matters; the body is read so the exchange completes.
      answer.resume();
      answer.on("end", () => finish(answer.statusCode, null));
      answer.on("error", (error) => finish(answer.statusCode, error.message));
      answer.on("close", () => finish(answer.statusCode, answer.complete ? null : "réponse interrompue"));
    });
    request.end(body);
  });
}

/** Records the person's answer as the payment page does. */
function answer(payment, resultrans, now = new Date()) {
  const paid = resultrans === "P" || resultrans === "V";
  payment.result = {
    resultrans,
    ...parisStamp(now),
    numauto: paid ? String(crypto.randomInt(0, 1000000)).padStart(6, "0") : "",
    at: now.toISOString(),
  };
  console.error(`résultat ${resultrans} pour ${payment.idOp}`);
}

// ---------------------------------------------------------------------------
// The payment page

const STYLE = `body{font-family:system-ui,sans-serif;margin:0;background:#f6f6f6;color:#161616}
main{max-width:40rem;margin:2rem auto;padding:1.5rem;background:#fff;border:1px solid #ddd}
h1{font-size:1.4rem;color:#000091}dl{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem}
dt{font-weight:bold}dd{margin:0}fieldset{border:1px solid #ccc;padding:1rem}
button{display:block;width:100%;margin:.5rem 0;padding:.6rem;font-size:1rem;cursor:pointer}
button:focus-visible,a:focus-visible{outline:3px solid #000091;outline-offset:2px}
.avertissement{background:#fff4d6;padding:.6rem;border-left:4px solid #b34000}`;

function sendPage(response, status, title, body) {
  response.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
  response.end(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title><style>${STYLE}</style></head>
<body><main><h1>${escape(TITLE)}</h1>
${body}
</main></body></html>`);
}

const OUTCOMES = [
  ["payer-carte", "P", "Payer par carte bancaire"],
  ["payer-prelevement", "V", "Payer par prélèvement"],
  ["refus-carte", "R", "Simuler un refus de la carte"],
  ["refus-prelevement", "Z", "Simuler un refus du prélèvement"],
  ["annuler", "A", "Annuler le paiement"],
  ["quitter", "", "Quitter sans répondre"],
];

/** The payment behind `idop` if the person may still answer, else the refusal page (and undefined). */
function payable(response, idop) {
  const payment = payments.get(idop ?? "");
  if (!payment || payment.forgotten) {
    sendPage(response, 404, `Opération de paiement inconnue – ${SITE}`,
      `<p>Opération de paiement inconnue.</p><p>Retournez sur le site de votre commune pour recommencer le paiement.</p>`);
    return undefined;
  }
  const back = `<p><a href="${escape(payment.urlredirect)}">Retourner sur le site de la commune</a></p>`;
  if (payment.result) {
    sendPage(response, 409, `Opération terminée – ${SITE}`, `<p>Cette opération de paiement est terminée.</p>${back}`);
    return undefined;
  }
  if (Date.now() - payment.created > LIFETIME_MS) {
    sendPage(response, 410, `Opération expirée – ${SITE}`, `<p>Cette opération de paiement a expiré.</p>${back}`);
    return undefined;
  }
  return payment;
}

function paymentPage(response, idop) {
  const payment = payable(response, idop);
  if (!payment) return;
  const buttons = OUTCOMES.map(
    ([id, value, label]) => `<button type="submit" id="${id}" name="resultrans" value="${value}">${escape(label)}</button>`,
  ).join("\n");
  sendPage(response, 200, TITLE, `<p class="avertissement">Serveur local de test : aucune somme n'est débitée et aucune donnée bancaire n'est demandée.</p>
<dl>
<dt>Créancier</dt><dd>${escape(libelleOf(payment.numcli) ?? "")}</dd>
<dt>Objet</dt><dd>${escape(payment.objet || "(aucun)")}</dd>
<dt>Montant</dt><dd>${escape(euros(payment.montant))}</dd>
<dt>Référence</dt><dd>${escape(payment.refdet)}</dd>
<dt>Adresse électronique</dt><dd>${escape(payment.mel)}</dd>
</dl>
<form method="post" action="${PAGE_PATH}">
<input type="hidden" name="idop" value="${escape(payment.idOp)}">
<fieldset><legend>Choisissez l'issue du paiement</legend>
${buttons}
</fieldset>
</form>`);
}

function paymentAnswer(response, form) {
  const payment = payable(response, form.get("idop"));
  if (!payment) return;
  const resultrans = form.get("resultrans") ?? "";
  if (resultrans !== "") {
    if (!["P", "V", "R", "Z", "A"].includes(resultrans)) {
      sendPage(response, 400, `Réponse invalide – ${SITE}`, `<p>Cette réponse n'est pas prévue.</p>`);
      return;
    }
    answer(payment, resultrans);
    // PayFiP sends the person back at once; the notification runs on its own.
    notify(payment.idOp, payment.urlnotif, "idOp", payment);
  }
  // Empty: the person left; nothing is recorded nor notified.
  response.writeHead(303, { Location: payment.urlredirect, "Cache-Control": "no-store" });
  response.end();
}

// ---------------------------------------------------------------------------
// Test controls (PAYFIP_TEST_CONTROLS=1)

function sendJson(response, status, value) {
  response.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" });
  response.end(JSON.stringify(value));
}

class BadControl extends Error {}

const describe = (payment) => ({
  ...payment,
  created: new Date(payment.created).toISOString(),
  expired: !payment.result && Date.now() - payment.created > LIFETIME_MS,
});

async function control(response, name, method, body) {
  if (name === "payments" && method === "GET") {
    sendJson(response, 200, [...payments.values()].map(describe));
    return;
  }
  if (method !== "POST") {
    sendJson(response, 404, { error: "contrôle inconnu" });
    return;
  }
  let input;
  try {
    input = JSON.parse(body || "{}");
  } catch {
    throw new BadControl("JSON illisible");
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new BadControl("un objet JSON est attendu");
  const payment = typeof input.idop === "string" ? payments.get(input.idop) : undefined;
  const needPayment = () => {
    if (typeof input.idop !== "string") throw new BadControl("idop (texte) attendu");
    if (!payment) {
      sendJson(response, 404, { error: "idop inconnu" });
      return false;
    }
    return true;
  };
  const notified = ({ status, error }) => ({ notified: error === null, status, error });
  switch (name) {
    case "outcome": {
      if (!needPayment()) return;
      if (!["P", "V", "R", "Z", "A"].includes(input.resultrans)) throw new BadControl("resultrans : P, V, R, Z ou A attendu");
      answer(payment, input.resultrans);
      if (input.notify === false) {
        sendJson(response, 200, { notified: false, status: null, error: null });
        return;
      }
      sendJson(response, 200, notified(await notify(payment.idOp, payment.urlnotif, "idOp", payment)));
      return;
    }
    case "notify": {
      if (typeof input.idop !== "string") throw new BadControl("idop (texte) attendu");
      const field = input.field ?? "idOp";
      if (field !== "idOp" && field !== "idop") throw new BadControl("field : idOp ou idop attendu");
      // An unknown idop has no urlnotif of its own: the one given, else the latest payment's.
      const latest = [...payments.values()].at(-1);
      const url = input.url ?? payment?.urlnotif ?? latest?.urlnotif;
      if (typeof url !== "string") throw new BadControl("url attendue : aucun paiement connu ne donne d'urlnotif");
      sendJson(response, 200, notified(await notify(input.idop, url, field, payment)));
      return;
    }
    case "forget": {
      if (!needPayment()) return;
      payment.forgotten = true;
      sendJson(response, 200, { forgotten: true });
      return;
    }
    case "unavailable": {
      if (typeof input.on !== "boolean") throw new BadControl("on (booléen) attendu");
      unavailable = input.on;
      sendJson(response, 200, { unavailable });
      return;
    }
    case "tamper": {
      if (!needPayment()) return;
      if (input.montant !== undefined && !Number.isFinite(input.montant)) throw new BadControl("montant : nombre attendu");
      for (const key of ["refdet", "numcli"]) {
        if (input[key] !== undefined && typeof input[key] !== "string") throw new BadControl(`${key} : texte attendu`);
      }
      for (const key of ["montant", "refdet", "numcli"]) {
        if (input[key] !== undefined) payment.tamper[key] = input[key];
      }
      sendJson(response, 200, { tamper: payment.tamper });
      return;
    }
    case "age": {
      if (!needPayment()) return;
      if (!Number.isFinite(input.minutes)) throw new BadControl("minutes : nombre attendu");
      payment.created -= input.minutes * 60 * 1000;
      sendJson(response, 200, describe(payment));
      return;
    }
    default:
      sendJson(response, 404, { error: "contrôle inconnu" });
  }
}

// ---------------------------------------------------------------------------
// HTTP

class TooLarge extends Error {}

async function readBody(request) {
  const chunks = [];
  let size = 0;
  for await (const chunk of request) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new TooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const server = http.createServer(async (request, response) => {
  const url = new URL(request.url, "http://127.0.0.1");
  const path = url.pathname;
  const method = request.method;
  try {
    if (path === SOAP_PATH && method === "POST") {
      try {
        soap(response, await readBody(request));
      } catch (error) {
        if (error instanceof TooLarge) throw error;
        console.error(error);
        sendFault(response, "TechDysfonctionnementErreur", "D1", "Dysfonctionnement du service", error.message);
      }
    } else if (path === PAGE_PATH && method === "GET") {
      paymentPage(response, url.searchParams.get("idop"));
    } else if (path === PAGE_PATH && method === "POST") {
      paymentAnswer(response, new URLSearchParams(await readBody(request)));
    } else if (CONTROLS && path.startsWith("/test/")) {
      try {
        await control(response, path.slice("/test/".length), method, method === "POST" ? await readBody(request) : "");
      } catch (error) {
        if (!(error instanceof BadControl)) throw error;
        sendJson(response, 400, { error: error.message });
      }
    } else {
      response.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("introuvable\n");
    }
  } catch (error) {
    if (response.headersSent) {
      response.destroy();
    } else if (error instanceof TooLarge) {
      // The rest of the body is not read: the connection goes with the answer.
      response.writeHead(413, { "Content-Type": "text/plain; charset=utf-8", Connection: "close" });
      response.end("requête trop grande (64 Kio au plus)\n");
    } else {
      console.error(error);
      response.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" }).end("erreur du serveur PayFiP local\n");
    }
  }
});
await new Promise((resolve) => server.listen(Number(process.env.PORT || 0), "127.0.0.1", resolve));
console.log(`ready http://127.0.0.1:${server.address().port}`);
