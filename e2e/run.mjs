// The keycard demo in a real browser: Playwright (playwright-core) driving Debian's Chromium against a demo
// process that scripts/e2e.sh started. Every flow of issue 14, "Remember me" (e2e/remember.mjs) and accounts
// by email (e2e/email.mjs: the confirmation link, a password reset, sign-in by link and by code, each read
// from the mail the demo sent to the script's SMTP sink), the authenticator app (e2e/totp.mjs: set up from
// the key the page shows, the second step of a sign-in by its code and by a recovery code, turned off),
// passkeys (e2e/passkey.mjs: added, signed in with, the second step, removed; Chromium's virtual
// authenticator over the DevTools protocol), sign-in with an OpenID provider (e2e/oidc.mjs: through the
// real provider scripts/e2e.sh started, signed up, the linked accounts page, signed in again), a
// screenshot per step, axe-core and a 375 px overflow check on every page, and a failure on any console
// error, page error, failed request or unexpected HTTP error status. Tokens of emailed links never reach
// the output (`redact`), nor setup keys and codes (totp.mjs's `hide`).
//
//   scripts/e2e.sh            (builds and starts the demo, installs what is missing, then runs this)
//
// Environment (set by scripts/e2e.sh):
//   E2E_BASE_URL      http://127.0.0.1:PORT of the running demo
//   E2E_SCREENSHOTS   where the screenshots go (emptied first)
//   E2E_DEMO_BIN      the keycard-demo binary, for `users set-plan` (the CLI step)
//   E2E_DEMO_DIR      the demo's working directory; E2E_DATABASE_URL its database
//   E2E_MAIL_DIR      where the SMTP sink the demo sends its mail to saves each message (NNNNNN.env/.eml)
//   E2E_CHROMIUM      the Chromium binary (default /usr/bin/chromium)
//   E2E_TIMEOUT_SECS  the whole run's budget; past it the run fails (default 240)
//   E2E_PID_FILE      where to write Chromium's pid, so the script can kill it if this process dies

import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

import { emailFlows } from './email.mjs';
import { rememberMeFlows } from './remember.mjs';
import { oidcFlows } from './oidc.mjs';
import { passkeyFlows } from './passkey.mjs';
import { totpFlows } from './totp.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const BASE = need('E2E_BASE_URL');
const SHOTS = need('E2E_SCREENSHOTS');
const DEMO_BIN = need('E2E_DEMO_BIN');
const DEMO_DIR = need('E2E_DEMO_DIR');
const DATABASE_URL = need('E2E_DATABASE_URL');
const MAIL_DIR = need('E2E_MAIL_DIR');
const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_SECS = Number(process.env.E2E_TIMEOUT_SECS || 240);
const MOBILE = { width: 375, height: 740 };
const DESKTOP = { width: 1280, height: 860 };
// Playwright's own waits: generous for a loaded 2-core machine, far below the global budget.
const ACTION_TIMEOUT_MS = 20_000;

const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a new password 42';
const SESSION_ENDED = 'Your session has ended: you were signed out on another device, it expired, or your password was changed.';

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`e2e: ${name} is not set (run scripts/e2e.sh)`);
    process.exit(2);
  }
  return v;
}

/** `text` with the token of every emailed link's path replaced by `<token>`: what this run prints (steps'
 * errors, page paths in reports) never holds a live token. */
function redact(text) {
  return String(text).replace(
    /\/(password\/reset|session\/link|confirm|account\/email)\/(?!sent\b)[^/?#\s"'<>]+/g,
    '/$1/<token>',
  );
}

// ----- bookkeeping: steps, screenshots, problems -----

const screenshots = [];
const axeReport = []; // { page, serious, other }
const overflowReport = []; // { page, width }
let stepNo = 0;
let browser;
let server;

/** Everything that must not happen on a page: console errors, page errors, failed requests, HTTP errors. */
class Watch {
  constructor(page, label) {
    this.label = label;
    this.problems = [];
    this.expected = new Set(); // "STATUS PATH" the current step expects (a 403 page, a 401 sign-in, …)
    this.seen = [];
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const m = /status of (\d{3})/.exec(msg.text());
      const url = msg.location()?.url;
      if (m && url && this.isExpected(Number(m[1]), url)) return;
      this.problems.push(redact(`console error: ${msg.text()} (${url || 'no location'})`));
    });
    page.on('pageerror', (err) => this.problems.push(redact(`page error: ${err.message}`)));
    page.on('requestfailed', (req) => {
      // Requests a page makes after its load event are aborted when the next navigation follows at once, by
      // design: the profile page's server-sent-events stream (long-lived) and the browser's own fetch of the
      // page's icon (it starts after load; a step that navigates on load aborts it now and then).
      const late = ['/events', '/static/favicon.svg'].includes(new URL(req.url()).pathname);
      if (late && req.failure()?.errorText === 'net::ERR_ABORTED') return;
      this.problems.push(redact(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`));
    });
    page.on('response', (res) => {
      const status = res.status();
      if (status >= 400 && !this.isExpected(status, res.url())) {
        this.problems.push(redact(`unexpected HTTP ${status}: ${res.request().method()} ${res.url()}`));
      }
    });
  }

  isExpected(status, url) {
    return this.expected.has(`${status} ${new URL(url).pathname}`);
  }

  expect(status, path) {
    this.expected.add(`${status} ${path}`);
  }

  /** Throw if anything went wrong since the last check. */
  check() {
    this.expected.clear();
    if (this.problems.length) {
      const list = this.problems.splice(0);
      throw new Error(`${this.label}: ${list.join('; ')}`);
    }
  }
}

async function screenshot(page, name) {
  stepNo += 1;
  const file = join(SHOTS, `${String(stepNo).padStart(2, '0')}-${name}.png`);
  // The whole page, cropped to its content (no blank viewport below a short page).
  await page.locator('body').screenshot({ path: file });
  screenshots.push(file);
}

/** One step: run it, check its page(s) had no problem, screenshot `shoot` (the page the step ends on). */
async function step(name, watches, shoot, body) {
  const started = Date.now();
  try {
    await body();
    for (const w of watches) w.check();
    await screenshot(shoot, name);
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    // The first line of what went wrong beside the step's name (the whole error follows the report).
    console.log(`FAIL ${name} (${Date.now() - started} ms): ${redact(String(err.message ?? err).split('\n')[0])}`);
    try {
      await screenshot(shoot, `${name}-FAILED`);
    } catch {
      // The page may be gone; the error below says why.
    }
    throw err;
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function textOf(page) {
  return page.locator('body').innerText();
}

async function assertText(page, text) {
  const body = await textOf(page);
  assert(body.includes(text), `${redact(page.url())}: expected the text ${JSON.stringify(text)}; the page says:\n${body}`);
}

async function assertNoText(page, text) {
  const body = await textOf(page);
  assert(!body.includes(text), `${redact(page.url())}: did not expect ${JSON.stringify(text)}; the page says:\n${body}`);
}

/** The page's path (an emailed link's token redacted). */
function pathOf(page) {
  return redact(new URL(page.url()).pathname);
}

// ----- per-page checks: axe-core, 375 px overflow -----

/** axe-core on the page; violations of impact serious/critical fail, others are reported. */
async function axe(page) {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ['violations'] }),
  );
  const where = `${pathOf(page)} (${page.viewportSize().width} px)`;
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const other = results.violations.filter((v) => !serious.includes(v));
  axeReport.push({ page: where, serious: serious.length, other: other.map((v) => `${v.id} (${v.impact})`) });
  if (serious.length) {
    const detail = serious
      .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`)
      .join('\n  ');
    throw new Error(`axe: ${where} has ${serious.length} serious/critical violation(s):\n  ${detail}`);
  }
}

/** The page at 375 px is no wider than the viewport (the viewport is restored afterwards). */
async function noOverflowAt375(page) {
  const original = page.viewportSize();
  if (original.width !== MOBILE.width) await page.setViewportSize(MOBILE);
  try {
    const { width, viewport, culprits } = await page.evaluate(() => {
      const root = document.documentElement;
      const limit = root.clientWidth;
      const culprits = [...document.body.querySelectorAll('*')]
        .filter((el) => el.getBoundingClientRect().right > limit + 1)
        .slice(0, 5)
        .map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className ? '.' + String(el.className).replace(/ /g, '.') : ''}`);
      return { width: root.scrollWidth, viewport: limit, culprits };
    });
    overflowReport.push({ page: pathOf(page), width, viewport });
    assert(
      width <= viewport,
      `${pathOf(page)} is ${width} px wide at a ${viewport} px viewport; too wide: ${culprits.join(', ')}`,
    );
  } finally {
    if (original.width !== MOBILE.width) await page.setViewportSize(original);
  }
}

/** No inline script or style (a strict CSP forbids them), and keyboard focus is visible: the first Tab
 * lands on the skip link, which shows itself with an outline. */
async function plainAndKeyboardFriendly(page) {
  const inline = await page.evaluate(() => document.querySelectorAll('script:not([src]), style, [style]').length);
  assert(inline === 0, `${pathOf(page)} has ${inline} inline script/style element(s) or style= attribute(s)`);
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press('Tab');
  const focus = await page.evaluate(() => {
    const el = document.activeElement;
    const css = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return {
      text: el.textContent.trim(),
      outline: parseFloat(css.outlineWidth) || 0,
      style: css.outlineStyle,
      onScreen: box.top >= 0 && box.bottom <= window.innerHeight && box.width > 0,
    };
  });
  assert(
    focus.text === 'Skip to content' && focus.onScreen && focus.style !== 'none' && focus.outline >= 2,
    `${pathOf(page)}: the first Tab should show the skip link with a visible focus outline: ${JSON.stringify(focus)}`,
  );
  await page.evaluate(() => document.activeElement?.blur());
}

/** Every page the suite lands on goes through here. */
async function checkPage(page) {
  await plainAndKeyboardFriendly(page);
  await noOverflowAt375(page);
  await axe(page);
}

// ----- navigation -----

/** Go to `path` (on BASE, or a whole URL: the passkey flow's http://localhost:PORT); the final response
 * must have `status` (its path is then allowed that status). */
async function visit(page, watch, path, status = 200) {
  if (status >= 400) watch.expect(status, new URL(path, BASE).pathname);
  const res = await page.goto(new URL(path, BASE).href);
  assert(res, `no response for ${redact(path)}`);
  assert(res.status() === status, `GET ${redact(path)}: status ${res.status()}, expected ${status}`);
  await checkPage(page);
  return res;
}

/** Click `locator` (a submit button or link) and wait for the page it leads to; check its status. */
async function clickThrough(page, locator, status = 200) {
  const nav = page.waitForNavigation({ waitUntil: 'load' });
  await locator.click();
  const res = await nav;
  assert(res, `no response after clicking ${locator}`);
  assert(res.status() === status, `${res.request().method()} ${pathOf(page)}: status ${res.status()}, expected ${status}`);
  await checkPage(page);
  return res;
}

async function sessionCookie(context) {
  const cookies = await context.cookies(BASE);
  return cookies.find((c) => c.name === 'keycard_session' || c.name === '__Host-keycard_session')?.value;
}

/** The sign-in page's password form (the page also has the "Sign in without a password" form, with an
 * Email field of its own). */
function passwordForm(page) {
  return page.locator('form[action="/session"]');
}

async function signIn(page, email, password, status = 200) {
  const form = passwordForm(page);
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password', { exact: true }).fill(password);
  return clickThrough(page, form.getByRole('button', { name: 'Sign in' }), status);
}

const run = promisify(execFile);

/** `keycard-demo users set-plan EMAIL PLAN` against the running demo's database (memory cache: the running
 * server's cached copy cannot be reached, so the cached plan and the database's now disagree). */
async function cliSetPlan(email, plan) {
  const { stdout } = await run(DEMO_BIN, ['users', 'set-plan', email, plan], {
    cwd: DEMO_DIR,
    timeout: 60_000,
    env: { PATH: process.env.PATH, DATABASE_URL, CACHE_URL: 'memory', RUST_LOG: 'warn' },
  });
  assert(stdout.includes(`plan is now ${plan}`), `set-plan said: ${stdout}`);
  return stdout;
}

// ----- the flows -----

async function main() {
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  // A browser server (its process is ours to name: scripts/e2e.sh kills it by pid if this process dies),
  // with a fresh profile directory that Playwright makes and removes.
  server = await chromium.launchServer({
    executablePath: CHROMIUM,
    headless: true,
    // No network but loopback: these keep Chromium from calling home (refused here, and slow).
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  if (process.env.E2E_PID_FILE && server.process()?.pid) {
    writeFileSync(process.env.E2E_PID_FILE, String(server.process().pid));
  }
  browser = await chromium.connect(server.wsEndpoint());
  console.log(`e2e: ${browser.version()} against ${BASE}`);

  // Two devices of one user: a laptop (desktop width) and a phone (375 px).
  const laptopCtx = await browser.newContext({ viewport: DESKTOP });
  const phoneCtx = await browser.newContext({ viewport: MOBILE });
  for (const ctx of [laptopCtx, phoneCtx]) ctx.setDefaultTimeout(ACTION_TIMEOUT_MS);
  const laptop = await laptopCtx.newPage();
  const phone = await phoneCtx.newPage();
  const lw = new Watch(laptop, 'laptop');
  const pw = new Watch(phone, 'phone');

  await step('home', [lw], laptop, async () => {
    await visit(laptop, lw, '/');
    await assertText(laptop, "The Pow guide's app, on keycard");
  });

  await step('sign-up', [lw], laptop, async () => {
    await visit(laptop, lw, '/registration/new');
    await laptop.getByLabel('Email').fill(EMAIL);
    await laptop.getByLabel(/^Password/).fill(PASSWORD);
    await laptop.getByLabel('Confirm password').fill(PASSWORD);
    await clickThrough(laptop, laptop.getByRole('button', { name: 'Create account' }));
    assert(pathOf(laptop) === '/profile', `after sign-up: ${laptop.url()}`);
    await assertText(laptop, `Welcome to the keycard demo, ${EMAIL}!`);
  });

  await step('profile-cached-plan', [lw], laptop, async () => {
    await visit(laptop, lw, '/profile');
    assert((await laptop.locator('#plan').innerText()) === 'free', 'the cached plan is free');
    await assertText(laptop, 'cached copy');
    assert(
      (await laptop.getByRole('link', { name: 'Profile' }).getAttribute('aria-current')) === 'page',
      'the nav marks Profile as the current page',
    );
  });

  await step('pro-denied', [lw], laptop, async () => {
    await visit(laptop, lw, '/pro', 403);
    await assertText(laptop, 'the database says your plan is free');
  });

  await step('plan-change', [lw], laptop, async () => {
    await visit(laptop, lw, '/plan/edit');
    const before = await sessionCookie(laptopCtx);
    assert(before, 'signed in: a session cookie');
    await laptop.getByLabel('Pro', { exact: true }).check();
    await clickThrough(laptop, laptop.getByRole('button', { name: 'Update plan' }));
    await assertText(laptop, 'Plan updated successfully.');
    assert((await laptop.locator('#plan').innerText()) === 'pro', 'the cached plan is pro');
    const after = await sessionCookie(laptopCtx);
    assert(after && after !== before, 'the plan change (a sync) rotated the session cookie');
  });

  await step('pro-allowed', [lw], laptop, async () => {
    await visit(laptop, lw, '/pro');
    await assertText(laptop, `Welcome, ${EMAIL}: your plan is pro.`);
  });

  await step('second-device-sign-in', [pw], phone, async () => {
    await visit(phone, pw, '/session/new');
    await signIn(phone, EMAIL, PASSWORD);
    assert(pathOf(phone) === '/profile', `phone after sign-in: ${phone.url()}`);
    await assertText(phone, `Welcome back, ${EMAIL}.`);
    assert((await phone.locator('#plan').innerText()) === 'pro', 'one cached user: the phone sees pro too');
  });

  await step('sessions-list', [lw], laptop, async () => {
    await visit(laptop, lw, '/sessions');
    const rows = laptop.locator('table.sessions tbody tr');
    assert((await rows.count()) === 2, `two sessions listed, not ${await rows.count()}`);
    await assertText(laptop, 'This session');
    await assertText(laptop, 'Chrome on Linux');
    const time = laptop.locator('table.sessions time').first();
    assert(/ UTC$/.test(await time.getAttribute('title')), 'the exact time on hover');
    assert(/(just now|minutes? ago)/.test(await time.innerText()), 'a relative time');
  });

  await step('sessions-list-375px', [pw], phone, async () => {
    await visit(phone, pw, '/sessions');
    // At 375 px the table is a list of cards: one block per session, no header row in sight.
    const display = await phone.locator('table.sessions tbody tr').first().evaluate((tr) => getComputedStyle(tr).display);
    assert(display === 'block', `sessions at 375 px are cards, not table rows (display: ${display})`);
  });

  await step('phone-profile-listens', [pw], phone, async () => {
    await visit(phone, pw, '/profile');
    assert(await phone.locator('#session-ended').isHidden(), 'no "signed out" notice while signed in');
  });

  await step('revoke-other-session', [lw], laptop, async () => {
    await visit(laptop, lw, '/sessions');
    const other = laptop.locator('table.sessions tbody tr:not(.current)');
    await clickThrough(laptop, other.getByRole('button', { name: /^End session/ }));
    await assertText(laptop, 'Session ended.');
    assert((await laptop.locator('table.sessions tbody tr').count()) === 1, 'one session left');
  });

  await step('revoked-device-is-told-at-once', [pw], phone, async () => {
    // No reload: the page's /events stream said `ended`.
    await phone.locator('#session-ended').waitFor({ state: 'visible', timeout: 15000 });
    await assertText(phone, 'You were signed out on another device');
  });

  await step('revoked-device-is-told-why', [pw], phone, async () => {
    await visit(phone, pw, '/profile');
    assert(pathOf(phone) === '/session/new', `the revoked phone is sent to sign in, not ${phone.url()}`);
    await assertText(phone, SESSION_ENDED);
    await assertNoText(phone, 'Signed in as');
  });

  await step('phone-signs-in-again', [pw], phone, async () => {
    await signIn(phone, EMAIL, PASSWORD);
    assert(pathOf(phone) === '/profile', `phone after sign-in: ${phone.url()}`);
  });

  for (const path of ['/profile', '/plan/edit', '/pro', '/sessions']) {
    await step(`phone-375px${path.replace(/\//g, '-')}`, [pw], phone, async () => {
      await visit(phone, pw, path);
      await assertText(phone, `Signed in as ${EMAIL}`);
    });
  }

  await step('password-change', [lw], laptop, async () => {
    await visit(laptop, lw, '/profile');
    await laptop.getByLabel('Current password').fill(PASSWORD);
    await laptop.getByLabel(/^New password/).fill(NEW_PASSWORD);
    await laptop.getByLabel('Confirm new password').fill(NEW_PASSWORD);
    await clickThrough(laptop, laptop.getByRole('button', { name: 'Change password' }));
    await assertText(laptop, 'Password changed. Your other sessions have been signed out.');
  });

  await step('password-change-ended-the-other-device', [pw], phone, async () => {
    await visit(phone, pw, '/sessions');
    assert(pathOf(phone) === '/session/new', `the phone is signed out, not on ${phone.url()}`);
    await assertText(phone, SESSION_ENDED);
  });

  await step('cache-and-database-disagree', [lw], laptop, async () => {
    await cliSetPlan(EMAIL, 'free');
    await visit(laptop, lw, '/profile');
    assert((await laptop.locator('#plan').innerText()) === 'pro', 'the cached copy still says pro');
    await visit(laptop, lw, '/pro', 403);
    await assertText(laptop, 'the database says your plan is free');
    await assertText(laptop, 'Why your profile says pro');
  });

  await step('refresh-the-cached-copy', [lw], laptop, async () => {
    await clickThrough(laptop, laptop.getByRole('button', { name: 'Refresh the cached copy' }));
    assert(pathOf(laptop) === '/profile', `after refresh: ${laptop.url()}`);
    await assertText(laptop, 'Your account was refreshed from the database: your plan is free.');
    assert((await laptop.locator('#plan').innerText()) === 'free', 'the cached copy caught up');
  });

  await step('not-found-keeps-the-navigation', [lw], laptop, async () => {
    await visit(laptop, lw, '/no-such-page', 404);
    await assertText(laptop, 'There is no page at this address.');
    await assertText(laptop, `Signed in as ${EMAIL}`);
  });

  await step('csrf-refusal', [lw], laptop, async () => {
    await visit(laptop, lw, '/plan/edit');
    // The form's token is not this session's (a stale or forged form): keycard-axum's CsrfLayer refuses it.
    await laptop
      .locator('form[action="/plan"] input[name="_csrf_token"]')
      .evaluate((input) => { input.value = 'not-this-sessions-token'; });
    lw.expect(403, '/plan');
    await laptop.getByLabel('Pro', { exact: true }).check();
    await clickThrough(laptop, laptop.getByRole('button', { name: 'Update plan' }), 403);
    await assertText(laptop, 'Request refused');
    await assertText(laptop, `Signed in as ${EMAIL}`);
  });

  await step('sign-out', [lw], laptop, async () => {
    await clickThrough(laptop, laptop.getByRole('button', { name: 'Sign out' }));
    assert(pathOf(laptop) === '/', `after sign-out: ${laptop.url()}`);
    await assertText(laptop, 'You have been signed out.');
    await assertNoText(laptop, 'Signed in as');
    assert(!(await sessionCookie(laptopCtx)), 'the session cookie is gone');
  });

  // "Remember me" (e2e/remember.mjs): browsers of their own, before the throttle below locks the account.
  await rememberMeFlows({
    browser, BASE, DESKTOP, MOBILE, ACTION_TIMEOUT_MS, SESSION_ENDED, Watch, step, visit, clickThrough,
    assert, assertText, assertNoText, pathOf, sessionCookie, email: EMAIL, password: NEW_PASSWORD,
  });

  // Accounts by email (e2e/email.mjs): an account and browsers of their own, the mail read from the sink.
  await emailFlows({
    browser, BASE, DESKTOP, MOBILE, ACTION_TIMEOUT_MS, SESSION_ENDED, MAIL_DIR, Watch, step, visit,
    clickThrough, signIn, assert, assertText, assertNoText, pathOf, redact,
  });

  // The authenticator app and recovery codes (e2e/totp.mjs): an account and browsers of their own, each
  // code computed from the setup key the page shows.
  await totpFlows({
    browser, BASE, DESKTOP, MOBILE, ACTION_TIMEOUT_MS, Watch, step, visit, clickThrough, signIn, assert,
    assertText, assertNoText, pathOf, sessionCookie, redact,
  });

  // Passkeys (e2e/passkey.mjs): an account and a browser of their own at http://localhost:PORT (the demo's
  // relying party), Chromium's virtual authenticator over the DevTools protocol.
  await passkeyFlows({
    browser, BASE, DESKTOP, ACTION_TIMEOUT_MS, Watch, step, visit, clickThrough, signIn, assert, assertText,
    assertNoText, pathOf,
  });

  // Sign in with an OpenID provider (e2e/oidc.mjs): the provider scripts/e2e.sh started, browsers of
  // their own, an account the provider makes.
  await oidcFlows({
    browser, BASE, DESKTOP, ACTION_TIMEOUT_MS, Watch, step, visit, clickThrough, assert, assertText,
    assertNoText, pathOf,
  });

  await step('throttle-after-five-wrong-passwords', [lw], laptop, async () => {
    await visit(laptop, lw, '/session/new');
    for (let i = 1; i <= 5; i++) {
      lw.expect(401, '/session');
      await signIn(laptop, EMAIL, `wrong password ${i}`, 401);
      await assertText(laptop, 'Invalid email or password.');
    }
    lw.expect(429, '/session');
    await signIn(laptop, EMAIL, NEW_PASSWORD, 429);
    await assertText(laptop, 'Too many failed sign-in attempts.');
  });

  for (const [path, status] of [['/', 200], ['/registration/new', 200], ['/session/new', 200], ['/no-such-page', 404]]) {
    await step(`visitor-375px${path === '/' ? '-home' : path.replace(/\//g, '-')}`, [pw], phone, async () => {
      await visit(phone, pw, path, status);
      await assertNoText(phone, 'Signed in as');
    });
  }

  await browser.close();
  await server.close();
}

async function closeAll() {
  await browser?.close().catch(() => {});
  await server?.close().catch(() => {});
}

function report() {
  console.log(`\naxe-core: ${axeReport.length} page checks, ${axeReport.reduce((n, r) => n + r.serious, 0)} serious/critical`);
  const minor = axeReport.filter((r) => r.other.length);
  for (const r of minor) console.log(`  (moderate/minor) ${r.page}: ${r.other.join(', ')}`);
  const widest = overflowReport.reduce((m, r) => Math.max(m, r.width), 0);
  console.log(`375 px overflow: ${overflowReport.length} page checks, widest page ${widest} px`);
  console.log(`screenshots (${screenshots.length}):`);
  for (const s of screenshots) console.log(`  ${s}`);
}

const budget = setTimeout(() => {
  console.error(`e2e: FAILED: the run took longer than E2E_TIMEOUT_SECS=${TIMEOUT_SECS}`);
  report();
  // Killing the browser may hang too: exit after 5 s regardless; scripts/e2e.sh kills what is left.
  const exit = () => process.exit(1);
  setTimeout(exit, 5000).unref();
  (server ? server.kill() : Promise.resolve()).catch(() => {}).finally(exit);
}, TIMEOUT_SECS * 1000);

const started = Date.now();
try {
  await main();
  clearTimeout(budget);
  report();
  console.log(`\ne2e: passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (err) {
  clearTimeout(budget);
  report();
  console.error(`\ne2e: FAILED: ${redact(err.stack || err)}`);
  await closeAll();
  process.exit(1);
}
