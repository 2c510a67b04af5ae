// A real OpenID provider on loopback for keycard's tests: panva's oidc-provider (OpenID Certified), pinned by
// package.json / package-lock.json beside this file. Started by crates/keycard-demo/tests/oidc/ and e2e/oidc.mjs
// (through scripts/oidc-provider.sh, which installs it when missing).
//
//   node scripts/oidc-provider/provider.mjs [PORT]      (PORT 0 or none: a free port)
//
// Prints one JSON line on stdout once it listens: {"issuer":"http://127.0.0.1:PORT"}. Exits when its stdin
// closes (the test process that started it is gone; not with OIDC_PROVIDER_KEEP_STDIN=1, for a script that
// kills it by pid), on SIGTERM, or on SIGINT.
//
// Clients (static; `application_type: native`, so any loopback port matches the registered redirect URI, as
// RFC 8252 section 7.3 says):
//   keycard-demo / keycard-demo-secret   redirect URIs http://{127.0.0.1,localhost}/auth/oidc/{NAME}/callback for
//                                        NAME in test, other, third
//   other-app / other-app-secret         http://127.0.0.1/other/callback (the "ID token for another client")
//
// The interaction (what a person does at the provider), driven over HTTP by the tests:
//   GET  /interaction/:uid   an HTML form: sub, email, email_verified, name; "Continue" or "Cancel"
//   POST /interaction/:uid   form fields sub, email, email_verified (true/false), name, decision
//                            (allow | deny | error): allow signs the account in and grants openid email profile;
//                            deny answers access_denied; error answers temporarily_unavailable
// Dev hooks (loopback only, JSON bodies), for the attacks the tests make:
//   POST /dev/tamper {"sub", "mode"}  the next token response with an ID token for `sub` is changed:
//        foreign_aud (audience other-app), nonce (another nonce), unknown_key (signed by a key not in the JWKS),
//        issuer (another issuer), expired (exp an hour ago), token_error (the token endpoint answers
//        500 server_error). The changed tokens are signed with the provider's real key unless said otherwise.
//   POST /dev/rotate                  a new signing key: published in the JWKS and used for every ID token from
//                                     now on (clients holding the old JWKS see an unknown kid).
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair } from 'jose';

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const NAMES = ['test', 'other', 'third'];

async function newKey() {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, privateJwk, publicJwk };
}

const original = await newKey();
let signing = original; // the key ID tokens are (re)signed with
const published = [];   // keys published in the JWKS besides the provider's own
const accounts = new Map(); // sub -> claims
const tampers = new Map();  // sub -> mode

const server = createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const redirects = NAMES.flatMap((n) => [
  `http://127.0.0.1/auth/oidc/${n}/callback`,
  `http://localhost/auth/oidc/${n}/callback`,
]);

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'keycard-demo',
      client_secret: 'keycard-demo-secret',
      application_type: 'native',
      redirect_uris: redirects,
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'other-app',
      client_secret: 'other-app-secret',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/other/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [original.privateJwk] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // The scopes' claims in the ID token itself (not only at the userinfo endpoint).
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  cookies: { keys: [randomUUID()] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const claims = accounts.get(sub) ?? { sub };
    return { accountId: sub, async claims() { return claims; } };
  },
  ttl: { Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 120, IdToken: 600, AccessToken: 600 },
});

function form(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; if (body.length > 65536) reject(new Error('too big')); });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

const page = (uid, client) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Test provider: sign in</title></head><body><main><h1>Test provider</h1>
<p>Sign in to continue to ${client}.</p>
<form method="post" action="/interaction/${uid}">
<label>Subject <input name="sub" required></label>
<label>Email <input name="email" type="email"></label>
<label><input type="checkbox" name="email_verified" value="true" checked> Email verified</label>
<label>Name <input name="name"></label>
<button name="decision" value="allow">Continue</button>
<button name="decision" value="deny">Cancel</button>
</form></main></body></html>`;

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page(uid, details.params.client_id));
    return;
  }
  const f = new URLSearchParams(await form(req));
  const decision = f.get('decision') ?? 'allow';
  if (decision === 'deny') {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user declined' }, { mergeWithLastSubmission: false });
    return;
  }
  if (decision === 'error') {
    await provider.interactionFinished(req, res, { error: 'temporarily_unavailable', error_description: 'try later' }, { mergeWithLastSubmission: false });
    return;
  }
  const sub = f.get('sub');
  if (!sub) throw new Error('no sub');
  const claims = { sub };
  if (f.get('email')) {
    claims.email = f.get('email');
    claims.email_verified = f.get('email_verified') === 'true';
  }
  if (f.get('name')) claims.name = f.get('name');
  accounts.set(sub, claims);
  const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id });
  grant.addOIDCScope('openid email profile');
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId: sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

async function resign(token, change) {
  const claims = { ...decodeJwt(token) };
  let key = signing;
  if (change === 'foreign_aud') claims.aud = 'other-app';
  if (change === 'nonce') claims.nonce = 'swapped-' + randomUUID();
  if (change === 'issuer') claims.iss = `${issuer}/evil`;
  if (change === 'expired') { claims.iat = Math.floor(Date.now() / 1000) - 7200; claims.exp = claims.iat + 3600; }
  if (change === 'unknown_key') key = await newKey();
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

// The token and JWKS responses, changed where a test asked.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/jwks' && ctx.body && Array.isArray(ctx.body.keys)) {
    ctx.body = { keys: [...ctx.body.keys, ...published] };
  }
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body && ctx.body.id_token) {
    const sub = decodeJwt(ctx.body.id_token).sub;
    const mode = tampers.get(sub);
    tampers.delete(sub);
    if (mode === 'token_error') {
      ctx.status = 500;
      ctx.body = { error: 'server_error', error_description: 'the test asked for it' };
      return;
    }
    if (mode || signing !== original) {
      ctx.body = { ...ctx.body, id_token: await resign(ctx.body.id_token, mode) };
    }
  }
});

async function json(req) {
  const text = await form(req);
  return text ? JSON.parse(text) : {};
}

server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/favicon.ico') {
      res.statusCode = 204;
      return res.end();
    }
    const m = url.pathname.match(/^\/interaction\/([\w-]+)$/);
    if (m) return await interaction(req, res, m[1]);
    if (req.method === 'POST' && url.pathname === '/dev/tamper') {
      const { sub, mode } = await json(req);
      tampers.set(sub, mode);
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ ok: true }));
    }
    if (req.method === 'POST' && url.pathname === '/dev/rotate') {
      signing = await newKey();
      published.push(signing.publicJwk);
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ kid: signing.kid }));
    }
    return provider.callback()(req, res);
  } catch (e) {
    res.statusCode = 500;
    res.end(`test provider: ${e.message}`);
  }
});

process.stdout.write(JSON.stringify({ issuer }) + '\n');
const stop = () => { server.close(); process.exit(0); };
if (process.env.OIDC_PROVIDER_KEEP_STDIN !== '1') {
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
