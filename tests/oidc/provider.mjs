// A local OpenID provider in FranceConnect v2's shape, for the demo and the
// tests: npm oidc-provider, issuer path /api/v2, acr_values eidas1, ES256
// signatures for the id_token and for userinfo (a signed JWT), the claims
// FranceConnect gives (given_name, family_name, email, birthdate),
// client_secret_post, and logout at /session/end.
//
// Usage: PORT=0 CLIENTS='[{"client_id":…,"client_secret":…,"redirect_uris":[…],
//        "post_logout_redirect_uris":[…]}]' node provider.mjs
// It prints "ready <issuer>" once it listens (PORT=0: a free port).
//
// Its login page lists the people of PROFILES below: choosing one logs in
// with acr eidas1 (the form's `acr` field can ask for none, for tests of
// a provider that does not vouch eidas1). "Annuler" answers access_denied.
// With OIDC_TEST_CONTROLS=1, `POST /test/forge-jwks` makes the published
// key set lie (same kid, another key), for tests of bad signatures.

import crypto from "node:crypto";
import http from "node:http";
import Provider from "oidc-provider";
import { exportJWK, generateKeyPair } from "jose";

const PREFIX = "/api/v2";
// Whoever started us may stop reading once we are ready: a closed pipe is
// no reason to stop serving.
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});
const clients = JSON.parse(process.env.CLIENTS || "[]").map((client) => ({
  token_endpoint_auth_method: "client_secret_post",
  id_token_signed_response_alg: "ES256",
  userinfo_signed_response_alg: "ES256",
  grant_types: ["authorization_code"],
  response_types: ["code"],
  ...client,
}));

/** The people of this provider, by login (their `sub` is stable). */
const PROFILES = {
  "marie.dupont": { sub: "fc-sub-marie-dupont-0001", given_name: "Marie", family_name: "Dupont", email: "marie.dupont@example.org", birthdate: "1985-04-12" },
  "michel.arpege": { sub: "fc-sub-michel-arpege-0002", given_name: "Michel", family_name: "Arpège", email: "michel.arpege@example.org", birthdate: "1978-02-28" },
  "jeanne.martin": { sub: "fc-sub-jeanne-martin-0003", given_name: "Jeanne", family_name: "Martin", email: "jeanne.martin@example.org", birthdate: "1990-11-03" },
};

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const page = (title, body) => `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} – FranceConnect (fournisseur local)</title></head>
<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;

async function readForm(request) {
  let body = "";
  for await (const chunk of request) {
    body += chunk;
    if (body.length > 65536) break;
  }
  return new URLSearchParams(body);
}

const { privateKey } = await generateKeyPair("ES256", { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: "fc-es256", alg: "ES256", use: "sig" };
const { publicKey: otherKey } = await generateKeyPair("ES256", { extractable: true });
const forgedKeys = { keys: [{ ...(await exportJWK(otherKey)), kid: "fc-es256", alg: "ES256", use: "sig" }] };
let forgeKeys = false;

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.PORT || 0), "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}${PREFIX}`;

const provider = new Provider(issuer, {
  clients,
  cookies: { keys: [crypto.randomUUID(), crypto.randomUUID()] },
  jwks: { keys: [signingKey] },
  acrValues: ["eidas1"],
  scopes: ["openid", "given_name", "family_name", "email", "birthdate"],
  claims: {
    openid: ["sub"],
    given_name: ["given_name"],
    family_name: ["family_name"],
    email: ["email"],
    birthdate: ["birthdate"],
  },
  routes: {
    authorization: "/authorize",
    token: "/token",
    userinfo: "/userinfo",
    jwks: "/jwks",
    end_session: "/session/end",
  },
  interactions: {
    url: (_ctx, interaction) => `${PREFIX}/interaction/${interaction.uid}`,
  },
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page(
          "Déconnexion de FranceConnect",
          `${form}<p>Vous quittez FranceConnect et revenez sur le site de votre mairie.</p>
           <button type="submit" form="op.logoutForm" name="logout" value="yes">Se déconnecter</button>`,
        );
      },
    },
  },
  pkce: { required: () => false },
  async findAccount(_ctx, id) {
    const profile = PROFILES[id];
    if (!profile) {
      return undefined;
    }
    return {
      accountId: id,
      async claims() {
        return { ...profile };
      },
    };
  },
});
provider.on("server_error", (_ctx, error) => console.error(error));

/** The login page, the choice of a person, "Annuler", and consent (given at once). */
async function interaction(request, response, uid, action) {
  const details = await provider.interactionDetails(request, response);
  if (details.uid !== uid) {
    response.writeHead(400).end("interaction inconnue");
    return;
  }
  if (action === "abort") {
    await provider.interactionFinished(
      request,
      response,
      { error: "access_denied", error_description: "L'usager a annulé la connexion." },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  if (details.prompt.name === "login") {
    if (action === "login" && request.method === "POST") {
      const form = await readForm(request);
      const login = form.get("login");
      if (!PROFILES[login]) {
        response.writeHead(400).end("identité inconnue");
        return;
      }
      const acr = form.get("acr") === "none" ? undefined : "eidas1";
      await provider.interactionFinished(
        request,
        response,
        { login: { accountId: login, acr, amr: ["pwd"] } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const choices = Object.entries(PROFILES)
      .map(
        ([login, p]) => `<li><form method="post" action="${PREFIX}/interaction/${uid}/login">
          <input type="hidden" name="login" value="${escape(login)}">
          <input type="hidden" name="acr" value="eidas1">
          <button type="submit">${escape(p.given_name)} ${escape(p.family_name)}</button></form></li>`,
      )
      .join("");
    response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    response.end(
      page(
        "Connexion avec FranceConnect",
        `<p>Fournisseur d'identité local de démonstration. Choisissez une identité :</p>
         <ul>${choices}</ul>
         <form method="post" action="${PREFIX}/interaction/${uid}/abort"><button type="submit">Annuler</button></form>`,
      ),
    );
    return;
  }
  // Consent: what the client asked for is granted.
  const { prompt, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(" "));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  if (prompt.details.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(" "));
    }
  }
  const grantId = await grant.save();
  await provider.interactionFinished(request, response, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
server.on("request", async (request, response) => {
  try {
    const path = request.url.split("?")[0];
    if (process.env.OIDC_TEST_CONTROLS === "1" && path === "/test/forge-jwks" && request.method === "POST") {
      forgeKeys = true;
      response.writeHead(204).end();
      return;
    }
    if (forgeKeys && path === `${PREFIX}/jwks`) {
      response.writeHead(200, { "Content-Type": "application/jwk-set+json" });
      response.end(JSON.stringify(forgedKeys));
      return;
    }
    const step = path.match(/^\/api\/v2\/interaction\/([\w-]+)(?:\/(login|abort))?$/);
    if (step) {
      await interaction(request, response, step[1], step[2]);
      return;
    }
    if (!path.startsWith(PREFIX)) {
      response.writeHead(404).end();
      return;
    }
    // The provider derives its mount path from originalUrl − url.
    request.originalUrl = request.url;
    request.url = request.url.slice(PREFIX.length) || "/";
    callback(request, response);
  } catch (error) {
    console.error(error);
    if (!response.headersSent) {
      response.writeHead(500).end("erreur du fournisseur");
    }
  }
});
console.log(`ready ${issuer}`);
