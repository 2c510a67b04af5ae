// Accounts by email in the browser (issue 20's flows, crates/keycard-demo/tests/email/): the confirmation link
// of a registration, a password reset, and signing in without a password by the link and by the code, each
// link read from the mail the demo sent to the SMTP sink scripts/e2e.sh started (E2E_MAIL_DIR: one
// NNNNNN.env, NNNNNN.eml pair per message). Imported by run.mjs, whose helpers (`t`) it uses: each step goes
// through `t.step`, each page through `t.visit`/`t.clickThrough` (axe-core, the 375 px overflow check), so
// the screenshots number on from run.mjs's.
//
// On an account of its own (registered here), so the rest of the run keeps its account and password.
// Tokens and codes are never printed: messages name a link by its path with the token replaced (`t.redact`).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const EMAIL = 'bob@example.com';
const PASSWORD = 'bob first password 1';
const RESET_PASSWORD = 'bob chose another one 2';
// How long a message may take to arrive: the demo sends from a background task, through its queue, to the
// sink on loopback; on a loaded 2-core machine this can take seconds, never this long.
const MAIL_DEADLINE_MS = 30_000;
const MAIL_POLL_MS = 100;

const RESET_SENT = 'If an account exists for that address, we sent it a link to choose a new password.';
const RESET_DONE =
  'Your password is changed and every session of your account has ended. Sign in with the new password.';

// ----- a small RFC 5322 / MIME reader: enough for the demo's messages (lettre's), and a little more -----

/** Split a message (or a MIME part) into its unfolded headers (lower-case names) and its body. */
function splitHeaders(raw) {
  const text = raw.replace(/\r\n/g, '\n');
  const end = text.indexOf('\n\n');
  const head = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end + 2);
  const headers = new Map();
  let last;
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && last) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`); // a folded line continues the previous one
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      last = line.slice(0, colon).trim().toLowerCase();
      // The first occurrence wins (a message has one Subject, one Content-Type).
      if (!headers.has(last)) headers.set(last, line.slice(colon + 1).trim());
      else last = undefined;
    }
  }
  return { headers, body };
}

/** `type/subtype; a=b; c="d"` → { type: 'type/subtype', params: { a: 'b', c: 'd' } }. */
function contentType(value) {
  const [type, ...rest] = (value || 'text/plain').split(';');
  const params = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return { type: type.trim().toLowerCase(), params };
}

/** Bytes as text in `charset` (UTF-8 unless said otherwise; Node knows latin1 and a few more). */
function decodeBytes(bytes, charset = 'utf-8') {
  try {
    return new TextDecoder(charset.toLowerCase()).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/** Undo quoted-printable (on a byte string: one char a byte): soft line breaks (`=` at a line's end)
 * joined, `=XX` to its byte. */
function quotedPrintable(body) {
  const joined = body.replace(/=[ \t]*\n/g, '');
  const bytes = [];
  for (let i = 0; i < joined.length; i++) {
    const c = joined[i];
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(joined.slice(i + 1, i + 3))) {
      bytes.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c.charCodeAt(0) & 0xff);
    }
  }
  return Uint8Array.from(bytes);
}

/** A part's body (a byte string) decoded by its Content-Transfer-Encoding and charset. */
function decodeBody(headers, body) {
  const encoding = (headers.get('content-transfer-encoding') || '7bit').toLowerCase();
  const charset = contentType(headers.get('content-type')).params.charset;
  if (encoding === 'quoted-printable') return decodeBytes(quotedPrintable(body), charset);
  if (encoding === 'base64') return decodeBytes(Buffer.from(body.replace(/\s+/g, ''), 'base64'), charset);
  return decodeBytes(Buffer.from(body, 'latin1'), charset); // 7bit, 8bit, binary: the bytes as they are
}

/** The first text/plain part of a (possibly multipart) entity, decoded; undefined if it has none. */
function textPart(headers, body) {
  const { type, params } = contentType(headers.get('content-type'));
  if (type.startsWith('multipart/')) {
    if (!params.boundary) return undefined;
    const delimiter = `--${params.boundary}`;
    const parts = [];
    let current;
    for (const line of body.split('\n')) {
      if (line.trimEnd() === `${delimiter}--`) break;
      if (line.trimEnd() === delimiter) {
        if (current) parts.push(current);
        current = [];
      } else if (current) {
        current.push(line);
      }
    }
    if (current) parts.push(current);
    for (const lines of parts) {
      // The line break before a delimiter belongs to the delimiter: the part ends without it.
      const part = splitHeaders(lines.join('\n'));
      const text = textPart(part.headers, part.body);
      if (text !== undefined) return text;
    }
    return undefined;
  }
  if (type !== 'text/plain') return undefined;
  return decodeBody(headers, body);
}

/** Decode RFC 2047 encoded words (`=?utf-8?B?…?=`, `=?utf-8?Q?…?=`) in a header value. */
function decodeWords(value) {
  return value
    .replace(/\?=\s+=\?/g, '?==?') // white space between two encoded words is not part of the text
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, charset, enc, data) =>
      enc.toUpperCase() === 'B'
        ? decodeBytes(Buffer.from(data, 'base64'), charset)
        : decodeBytes(quotedPrintable(data.replace(/_/g, ' ')), charset),
    );
}

/** One saved message: its number, envelope recipients, Subject, To and text part. */
function readMessage(dir, stem) {
  const envelope = readFileSync(join(dir, `${stem}.env`), 'utf8').split('\n').filter(Boolean);
  // As a byte string (latin1: one char a byte): headers are ASCII (or encoded words), and each text part's
  // bytes are decoded by its own charset.
  const { headers, body } = splitHeaders(readFileSync(join(dir, `${stem}.eml`), 'latin1'));
  return {
    no: Number(stem),
    rcptTo: envelope.slice(1).map((a) => a.toLowerCase()),
    to: (headers.get('to') || '').toLowerCase(),
    subject: decodeWords(headers.get('subject') || ''),
    text: textPart(headers, body),
  };
}

/** The numbers of the messages saved so far (the sink renames NNNNNN.eml into place whole, after .env). */
function messageNumbers(dir) {
  return readdirSync(dir)
    .filter((name) => /^\d+\.eml$/.test(name))
    .map((name) => Number(name.slice(0, -4)))
    .sort((a, b) => a - b);
}

/** The number of the newest message saved so far (0: none): a request's message comes after it. */
export function lastMessageNo(dir) {
  return messageNumbers(dir).at(-1) ?? 0;
}

/**
 * Wait (polling, at most MAIL_DEADLINE_MS) for a message to `address` with `subject` numbered after `after`;
 * the newest such message.
 */
export async function waitForMail(dir, address, subject, after = 0) {
  const deadline = Date.now() + MAIL_DEADLINE_MS;
  const who = address.toLowerCase();
  for (;;) {
    const found = messageNumbers(dir)
      .filter((no) => no > after)
      .map((no) => readMessage(dir, String(no).padStart(6, '0')))
      .filter((m) => (m.rcptTo.includes(who) || m.to.includes(who)) && m.subject === subject);
    if (found.length) return found.at(-1);
    if (Date.now() > deadline) {
      throw new Error(
        `no message "${subject}" to ${address} reached the SMTP sink within ${MAIL_DEADLINE_MS / 1000} s ` +
          `(${messageNumbers(dir).length} message(s) in ${dir})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, MAIL_POLL_MS));
  }
}

// ----- the steps -----

/**
 * The accounts-by-email steps, on an account of their own, each browser a context of its own.
 *
 * `t`: { browser, BASE, DESKTOP, MOBILE, ACTION_TIMEOUT_MS, SESSION_ENDED, MAIL_DIR, Watch, step, visit,
 *        clickThrough, signIn, assert, assertText, assertNoText, pathOf, redact }
 */
export async function emailFlows(t) {
  const { step, visit, clickThrough, assert, assertText, assertNoText, pathOf } = t;
  const contexts = [];

  async function device(viewport, label) {
    const context = await t.browser.newContext({ viewport });
    context.setDefaultTimeout(t.ACTION_TIMEOUT_MS);
    contexts.push(context);
    const page = await context.newPage();
    return { context, page, watch: new t.Watch(page, label) };
  }

  /** The path of the message's action link: its line of its own, an absolute URL on the demo's origin. */
  function linkPath(mail, prefix) {
    assert(mail.text !== undefined, `"${mail.subject}" has no text/plain part`);
    const line = mail.text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.startsWith(`${t.BASE}${prefix}`));
    assert(line, `"${mail.subject}": no line of its own with a link starting ${t.BASE}${prefix}<token>`);
    const url = new URL(line);
    const token = url.pathname.slice(prefix.length);
    assert(
      url.origin === t.BASE && /^[A-Za-z0-9_-]{16,}$/.test(token) && !url.search && !url.hash,
      `"${mail.subject}": the link ${t.redact(line)} is not ${t.BASE}${prefix}<URL-safe token>`,
    );
    return url.pathname;
  }

  /** The six-digit code of a sign-in message: a line of its own. */
  function codeOf(mail) {
    const code = mail.text
      ?.split('\n')
      .map((l) => l.trim())
      .find((l) => /^\d{6}$/.test(l));
    assert(code, `"${mail.subject}" has no line with a six-digit code`);
    return code;
  }

  const profileUser = (page) => page.locator('#email-status');

  // A visitor registers: the confirmation link is mailed, the profile says "unconfirmed" meanwhile.
  const home = await device(t.DESKTOP, 'email: registering laptop');
  await step('email-sign-up-unconfirmed', [home.watch], home.page, async () => {
    await visit(home.page, home.watch, '/registration/new');
    await home.page.getByLabel('Email').fill(EMAIL);
    await home.page.getByLabel(/^Password/).fill(PASSWORD);
    await home.page.getByLabel('Confirm password').fill(PASSWORD);
    await clickThrough(home.page, home.page.getByRole('button', { name: 'Create account' }));
    assert(pathOf(home.page) === '/profile', `after sign-up: ${home.page.url()}`);
    const status = (await profileUser(home.page).innerText()).trim();
    assert(status === 'unconfirmed', `a new account's email is unconfirmed, not ${JSON.stringify(status)}`);
    assert(
      await home.page.getByRole('button', { name: 'Send the confirmation link again' }).isVisible(),
      'the profile offers to send the confirmation link again',
    );
  });

  await step('email-confirmation-link', [home.watch], home.page, async () => {
    const mail = await waitForMail(t.MAIL_DIR, EMAIL, 'Confirm your email address');
    // Opening the link (a GET) confirms nothing: it shows one button.
    await visit(home.page, home.watch, linkPath(mail, '/confirm/'));
    await assertText(home.page, 'Press the button to confirm the email address of your account.');
  });

  await step('email-confirmed', [home.watch], home.page, async () => {
    await clickThrough(home.page, home.page.getByRole('button', { name: 'Confirm my email' }));
    assert(pathOf(home.page) === '/profile', `after confirming: ${t.redact(home.page.url())}`);
    await assertText(home.page, 'Your email address is confirmed. Thank you.');
    const status = (await profileUser(home.page).innerText()).trim();
    assert(status === 'confirmed', `the profile says confirmed, not ${JSON.stringify(status)}`);
    await assertNoText(home.page, 'Your email address is not confirmed yet.');
  });

  // Another browser, signed out: "Forgot your password?".
  const lost = await device(t.DESKTOP, 'email: password reset');
  let resetLink;
  await step('password-reset-request', [lost.watch], lost.page, async () => {
    await visit(lost.page, lost.watch, '/session/new');
    await clickThrough(lost.page, lost.page.getByRole('link', { name: 'Forgot your password?' }));
    assert(pathOf(lost.page) === '/password/reset', `"Forgot your password?" leads to ${lost.page.url()}`);
    const before = lastMessageNo(t.MAIL_DIR);
    await lost.page.getByLabel('Email').fill(EMAIL);
    await clickThrough(lost.page, lost.page.getByRole('button', { name: 'Send me a reset link' }));
    assert(pathOf(lost.page) === '/password/reset', `after asking: ${lost.page.url()}`);
    await assertText(lost.page, RESET_SENT);
    resetLink = linkPath(await waitForMail(t.MAIL_DIR, EMAIL, 'Reset your password', before), '/password/reset/');
  });

  await step('password-reset-link', [lost.watch], lost.page, async () => {
    await visit(lost.page, lost.watch, resetLink);
    await assertText(lost.page, 'Choose a new password');
    await assertText(lost.page, `For ${EMAIL}.`);
  });

  await step('password-reset-new-password', [lost.watch], lost.page, async () => {
    await lost.page.getByLabel(/^New password/).fill(RESET_PASSWORD);
    await lost.page.getByLabel('Confirm new password').fill(RESET_PASSWORD);
    await clickThrough(lost.page, lost.page.getByRole('button', { name: 'Set my new password' }));
    assert(pathOf(lost.page) === '/session/new', `after the reset: ${t.redact(lost.page.url())}`);
    await assertText(lost.page, RESET_DONE);
    await assertNoText(lost.page, 'Signed in as');
  });

  await step('password-reset-sign-in', [lost.watch], lost.page, async () => {
    await t.signIn(lost.page, EMAIL, RESET_PASSWORD);
    assert(pathOf(lost.page) === '/profile', `after signing in with the new password: ${lost.page.url()}`);
    await assertText(lost.page, `Welcome back, ${EMAIL}.`);
    await assertText(lost.page, `Signed in as ${EMAIL}`);
  });

  await step('password-reset-ended-the-other-session', [home.watch], home.page, async () => {
    await visit(home.page, home.watch, '/profile');
    assert(pathOf(home.page) === '/session/new', `the registering laptop is signed out, not on ${home.page.url()}`);
    await assertText(home.page, t.SESSION_ENDED);
  });

  await step('password-reset-link-works-once', [lost.watch], lost.page, async () => {
    await visit(lost.page, lost.watch, resetLink, 404);
    await assertText(lost.page, 'This link is no longer valid');
    assert(
      await lost.page.getByRole('link', { name: 'Send me a new link' }).isVisible(),
      'the used link offers to send a new one',
    );
  });

  // Signing in without a password: the link of the message, in a browser of its own.
  const linked = await device(t.DESKTOP, 'email: sign-in link');
  let signInLink;
  await step('magic-link-request', [linked.watch], linked.page, async () => {
    await visit(linked.page, linked.watch, '/session/new');
    const form = linked.page.locator('form[action="/session/link"]');
    const before = lastMessageNo(t.MAIL_DIR);
    await form.getByLabel('Email').fill(EMAIL);
    await clickThrough(linked.page, form.getByRole('button', { name: 'Email me a sign-in link' }));
    assert(pathOf(linked.page) === '/session/link/sent', `after asking for a link: ${linked.page.url()}`);
    await assertText(linked.page, 'Check your inbox');
    signInLink = linkPath(await waitForMail(t.MAIL_DIR, EMAIL, 'Your sign-in link', before), '/session/link/');
  });

  await step('magic-link-open', [linked.watch], linked.page, async () => {
    await visit(linked.page, linked.watch, signInLink);
    // A GET signs nobody in (mail scanners open links): the page has one button.
    await assertText(linked.page, `Sign in as ${EMAIL}.`);
    await assertNoText(linked.page, 'Signed in as');
  });

  await step('magic-link-sign-in', [linked.watch], linked.page, async () => {
    await clickThrough(linked.page, linked.page.getByRole('button', { name: 'Sign in', exact: true }));
    assert(pathOf(linked.page) === '/profile', `after the sign-in link: ${t.redact(linked.page.url())}`);
    await assertText(linked.page, `Welcome back, ${EMAIL}.`);
    await assertText(linked.page, `Signed in as ${EMAIL}`);
  });

  // And by the code of the message, typed on the code page of another browser (a phone).
  const coded = await device(t.MOBILE, 'email: sign-in code');
  let code;
  await step('sign-in-code-request', [coded.watch], coded.page, async () => {
    await visit(coded.page, coded.watch, '/session/new');
    const before = lastMessageNo(t.MAIL_DIR);
    const ask = coded.page.locator('form[action="/session/link"]');
    await ask.getByLabel('Email').fill(EMAIL);
    await clickThrough(coded.page, ask.getByRole('button', { name: 'Email me a sign-in link' }));
    assert(pathOf(coded.page) === '/session/link/sent', `after asking for a code: ${coded.page.url()}`);
    await assertText(coded.page, 'Check your inbox');
    code = codeOf(await waitForMail(t.MAIL_DIR, EMAIL, 'Your sign-in link', before));
  });

  await step('sign-in-code', [coded.watch], coded.page, async () => {
    const form = coded.page.locator('form[action="/session/code"]');
    await form.getByLabel('Email').fill(EMAIL);
    await form.getByLabel('Code').fill(code);
    await clickThrough(coded.page, form.getByRole('button', { name: 'Sign in', exact: true }));
    assert(pathOf(coded.page) === '/profile', `after the code: ${coded.page.url()}`);
    await assertText(coded.page, `Welcome back, ${EMAIL}.`);
    await assertText(coded.page, `Signed in as ${EMAIL}`);
  });

  for (const context of contexts) await context.close().catch(() => {});
}
