// The authenticator app in the browser (issue 21's TOTP flows, crates/keycard-demo/tests/factors/): setting
// it up from the profile (the setup key read from the page, the first code computed here, the recovery codes
// shown once), a password sign-in stopping at the second step (`GET /me` 401 until then, a wrong code
// refused) and finished by the app's code, another browser finishing it with a recovery code, and turning
// the app off. Imported by run.mjs, whose helpers (`t`) it uses: each step goes through `t.step`, each page
// through `t.visit`/`t.clickThrough` (axe-core, the 375 px overflow check), so the screenshots number on from
// run.mjs's.
//
// On an account of its own (registered here), so the rest of the run keeps its accounts and passwords.
// The codes are computed as the user's phone would (RFC 6238 with node:crypto, from the key the page
// shows), on the real clock the demo runs on: a time step is accepted once, so each code waits, at most one
// step, until a step later than the last accepted one has begun. The setup key, its URI, codes and
// recovery codes are never printed: every step's error goes through `hide` (and `t.redact`).

import { createHmac } from 'node:crypto';

const EMAIL = 'carol@example.com';
const PASSWORD = 'carol keeps a phone 3';
// RFC 6238 as the demo configures it (keycard-totp's TotpConfig; the page's otpauth URI is checked to agree):
// HMAC-SHA1, six digits, 30-second steps from the Unix epoch.
const STEP_MS = 30_000;
const DIGITS = 6;
// After a new step begins, this much more before its code is computed: the demo reads the same clock, so
// a few milliseconds would do.
const STEP_MARGIN_MS = 250;
const RECOVERY_CODE = /^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$/;

const WRONG_CODE = 'That code is not right. Type the code your app shows now, or one of your recovery codes.';
const TURNED_OFF = 'Authenticator app turned off. Your other sessions were signed out.';

// ----- RFC 6238 (TOTP) over RFC 4226 (HOTP), as an authenticator app computes it -----

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (upper or lower case, `=` padding and spaces ignored) to bytes. */
export function base32Decode(text) {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const c of clean) {
    const index = BASE32.indexOf(c);
    if (index < 0) throw new Error('the setup key is not base32');
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** The code of time step `step` for `key`: HMAC-SHA1 over the 8-byte big-endian counter, dynamic
 * truncation (RFC 4226 §5.3), the last DIGITS decimal digits. */
export function totpAt(key, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** DIGITS).padStart(DIGITS, '0');
}

/** The time step of `ms` (milliseconds since the epoch). */
function stepAt(ms) {
  return Math.floor(ms / STEP_MS);
}

// RFC 6238 appendix B's SHA-1 vectors (their last six digits): a wrong code here would fail the flow below
// for the wrong reason.
const RFC_KEY = Buffer.from('12345678901234567890');
for (const [secs, code] of [[59, '287082'], [1111111109, '081804'], [1234567890, '005924'], [20000000000, '353130']]) {
  if (totpAt(RFC_KEY, stepAt(secs * 1000)) !== code) throw new Error(`TOTP at ${secs} s does not match RFC 6238`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ----- the steps -----

/**
 * The authenticator-app steps, on an account of their own, each browser a context of its own.
 *
 * `t`: { browser, BASE, DESKTOP, MOBILE, ACTION_TIMEOUT_MS, Watch, step, visit, clickThrough, signIn,
 *        assert, assertText, assertNoText, pathOf, sessionCookie, redact }
 */
export async function totpFlows(t) {
  const { visit, clickThrough, assert, assertText, assertNoText, pathOf } = t;
  const contexts = [];

  // What this flow must never print, each with what stands in for it.
  const secrets = new Map();
  function keep(value, label) {
    if (value) secrets.set(value, label);
    return value;
  }
  /** `text` with every secret of this flow (and every emailed token, `t.redact`) replaced; longest first,
   * so the setup key inside its URI goes with the URI. */
  function hide(text) {
    let out = String(text);
    for (const [value, label] of [...secrets].sort((a, b) => b[0].length - a[0].length)) {
      out = out.split(value).join(label);
    }
    return t.redact(out);
  }
  /** `t.step` whose error (printed by run.mjs: the step's failure, the page text assertText quotes) has
   * every secret hidden: these pages show the setup key and the recovery codes. */
  async function step(name, watches, shoot, body) {
    await t.step(name, watches, shoot, async () => {
      try {
        await body();
      } catch (err) {
        if (err instanceof Error) {
          err.message = hide(err.message);
          err.stack = hide(err.stack);
          throw err;
        }
        throw new Error(hide(err));
      }
    });
  }

  async function device(viewport, label) {
    const context = await t.browser.newContext({ viewport });
    context.setDefaultTimeout(t.ACTION_TIMEOUT_MS);
    contexts.push(context);
    const page = await context.newPage();
    return { context, page, watch: new t.Watch(page, label) };
  }

  async function pendingCookie(context) {
    return (await context.cookies(t.BASE)).find((c) => c.name === 'keycard_pending' || c.name === '__Host-keycard_pending');
  }

  /** `GET /me` by the page's own `fetch` (its cookies): `{ status, body }`; a 401 is expected when `status` is. */
  async function me(d, status) {
    // Chromium logs an error status as a console error ("Failed to load resource"), before the fetch
    // returns; waited for (at most 2 s) all the same, so it never reaches the next step's watch.
    let logged;
    if (status >= 400) {
      d.watch.expect(status, '/me');
      logged = d.page
        .waitForEvent('console', {
          predicate: (msg) => msg.type() === 'error' && new URL(msg.location()?.url || t.BASE).pathname === '/me',
          timeout: 2000,
        })
        .catch(() => {});
    }
    const res = await d.page.evaluate(async () => {
      const r = await fetch('/me', { headers: { Accept: 'application/json' }, cache: 'no-store' });
      return { status: r.status, body: await r.json() };
    });
    await logged;
    assert(res.status === status, `GET /me from ${pathOf(d.page)}: status ${res.status}, expected ${status}`);
    return res;
  }

  // The phone's authenticator app: the key from the setup page, the last step a code of it was accepted for.
  let key;
  let lastStep;

  /** The code the app shows once a step later than the last accepted one has begun: wait for it (at most
   * one step; computed, not guessed) and say how long. */
  async function nextCode() {
    const wait = lastStep === undefined ? 0 : (lastStep + 1) * STEP_MS - Date.now();
    if (wait > 0) {
      assert(wait <= STEP_MS, `the last accepted step is ${Math.ceil(wait / 1000)} s in the future: clock trouble`);
      console.log(`     (waiting ${((wait + STEP_MARGIN_MS) / 1000).toFixed(1)} s for the next time step: a step's code counts once)`);
      await sleep(wait + STEP_MARGIN_MS);
    }
    const step = stepAt(Date.now());
    assert(lastStep === undefined || step > lastStep, `still in time step ${step} after waiting`);
    return { step, code: keep(totpAt(key, step), '<code>') };
  }

  /** A six-digit code the demo refuses: none of the app's codes two steps either side of now. */
  function wrongCode() {
    const now = stepAt(Date.now());
    const near = new Set([-2, -1, 0, 1, 2].map((d) => totpAt(key, now + d)));
    let n = (Number(totpAt(key, now)) + 500_000) % 10 ** DIGITS;
    while (near.has(String(n).padStart(DIGITS, '0'))) n = (n + 1) % 10 ** DIGITS;
    return String(n).padStart(DIGITS, '0');
  }

  const factorTotp = async (page) => (await page.locator('#factor-totp').innerText()).trim();
  // The second step's one field: the app's code or a recovery code.
  const codeField = (page) => page.getByLabel('Code from your authenticator app, or a recovery code');
  const signOut = (d) => clickThrough(d.page, d.page.getByRole('button', { name: 'Sign out', exact: true }));

  // A laptop registers and sets the app up from its profile: sudo mode is fresh after registering.
  const laptop = await device(t.DESKTOP, 'totp: laptop');
  await step('totp-sign-up', [laptop.watch], laptop.page, async () => {
    await visit(laptop.page, laptop.watch, '/registration/new');
    await laptop.page.getByLabel('Email').fill(EMAIL);
    await laptop.page.getByLabel(/^Password/).fill(PASSWORD);
    await laptop.page.getByLabel('Confirm password').fill(PASSWORD);
    await clickThrough(laptop.page, laptop.page.getByRole('button', { name: 'Create account' }));
    assert(pathOf(laptop.page) === '/profile', `after sign-up: ${laptop.page.url()}`);
    const totp = await factorTotp(laptop.page);
    assert(totp === 'off', `a new account's authenticator app is off, not ${JSON.stringify(totp)}`);
  });

  await step('totp-setup-page', [laptop.watch], laptop.page, async () => {
    await clickThrough(laptop.page, laptop.page.getByRole('link', { name: 'Set up an authenticator app' }));
    assert(pathOf(laptop.page) === '/account/totp', `the profile's link leads to ${laptop.page.url()}`);
    const secret = keep((await laptop.page.locator('#totp-secret').innerText()).trim(), '<setup key>');
    const uri = keep((await laptop.page.locator('#totp-uri').innerText()).trim(), '<otpauth URI>');
    assert(/^[A-Z2-7]+=*$/.test(secret), 'the setup key is base32 (A-Z, 2-7)');
    key = base32Decode(secret);
    assert(key.length >= 16, `the setup key is ${key.length * 8} bits, not 128 or more`);
    // What the phone would scan: the same key, and the parameters computed with here.
    assert(uri.startsWith('otpauth://totp/'), 'the setup link is an otpauth://totp/ URI');
    const params = new URL(uri).searchParams;
    assert(params.get('secret')?.replace(/=+$/, '') === secret.replace(/=+$/, ''), 'the URI holds the shown key');
    for (const [name, value] of [['algorithm', 'SHA1'], ['digits', String(DIGITS)], ['period', String(STEP_MS / 1000)]]) {
      const got = params.get(name);
      assert(got === null || got.toUpperCase() === value, `the URI says ${name}=${got}; this run computes ${value}`);
    }
    const qr = await laptop.page.locator('figure.qr svg').boundingBox();
    assert(qr && qr.width >= 100 && qr.height >= 100, `a QR code of some size: ${JSON.stringify(qr)}`);
  });

  let recoveryCodes;
  await step('totp-turned-on-recovery-codes', [laptop.watch], laptop.page, async () => {
    const { step: s, code } = await nextCode();
    await laptop.page.getByLabel('Code from the app').fill(code);
    await clickThrough(laptop.page, laptop.page.getByRole('button', { name: 'Turn on' }));
    lastStep = s;
    assert(pathOf(laptop.page) === '/account/totp', `the codes are shown at once, not on ${laptop.page.url()}`);
    await assertText(laptop.page, 'Authenticator app turned on.');
    recoveryCodes = (await laptop.page.locator('#recovery-codes code').allInnerTexts()).map((c) => c.trim());
    recoveryCodes.forEach((c, i) => keep(c, `<recovery code ${i + 1}>`));
    assert(recoveryCodes.length === 10, `ten recovery codes, not ${recoveryCodes.length}`);
    assert(new Set(recoveryCodes).size === 10, 'the recovery codes are distinct');
    assert(recoveryCodes.every((c) => RECOVERY_CODE.test(c)), 'each recovery code is xxxxx-xxxxx');
  });

  await step('totp-profile-on', [laptop.watch], laptop.page, async () => {
    await clickThrough(laptop.page, laptop.page.getByRole('link', { name: 'Done' }));
    assert(pathOf(laptop.page) === '/profile', `"Done" leads to ${laptop.page.url()}`);
    const totp = await factorTotp(laptop.page);
    assert(totp === 'on', `the profile says the authenticator app is on, not ${JSON.stringify(totp)}`);
    const { body } = await me(laptop, 200);
    assert(JSON.stringify(body.factors) === '["totp"]', `/me says factors ${JSON.stringify(body.factors)}`);
    await assertText(laptop.page, 'Manage the authenticator app');
  });

  // Signed out, the password alone is not enough: the second step, whose page signs nobody in.
  await step('totp-password-leads-to-second-step', [laptop.watch], laptop.page, async () => {
    await signOut(laptop);
    assert(pathOf(laptop.page) === '/', `after sign-out: ${laptop.page.url()}`);
    await visit(laptop.page, laptop.watch, '/session/new');
    await t.signIn(laptop.page, EMAIL, PASSWORD);
    assert(pathOf(laptop.page) === '/session/two-factor', `the password leads to ${laptop.page.url()}`);
    await assertText(laptop.page, 'Two-factor authentication');
    await assertNoText(laptop.page, 'Signed in as');
    assert(await pendingCookie(laptop.context), 'a pending-login cookie');
    assert(!(await t.sessionCookie(laptop.context)), 'no session cookie while the second step is to come');
    const { body } = await me(laptop, 401);
    assert(body.error === 'not signed in', `/me while pending: ${JSON.stringify(body)}`);
  });

  await step('totp-wrong-code', [laptop.watch], laptop.page, async () => {
    laptop.watch.expect(401, '/session/two-factor');
    await codeField(laptop.page).fill(wrongCode());
    await clickThrough(laptop.page, laptop.page.getByRole('button', { name: 'Verify' }), 401);
    assert(pathOf(laptop.page) === '/session/two-factor', `a wrong code stays on the step, not ${laptop.page.url()}`);
    const alert = laptop.page.getByRole('alert');
    assert((await alert.innerText()).trim() === WRONG_CODE, `the error: ${await alert.innerText()}`);
    await me(laptop, 401);
  });

  await step('totp-right-code-signs-in', [laptop.watch], laptop.page, async () => {
    const { step: s, code } = await nextCode();
    await codeField(laptop.page).fill(code);
    await clickThrough(laptop.page, laptop.page.getByRole('button', { name: 'Verify' }));
    lastStep = s;
    assert(pathOf(laptop.page) === '/profile', `after the right code: ${laptop.page.url()}`);
    await assertText(laptop.page, `Welcome back, ${EMAIL}.`);
    await assertText(laptop.page, `Signed in as ${EMAIL}`);
    assert(!(await pendingCookie(laptop.context)), 'the pending-login cookie is cleared');
    const { body } = await me(laptop, 200);
    assert(body.email === EMAIL, `/me is ${EMAIL}`);
    assert(JSON.stringify(body.factors) === '["totp"]', `/me says factors ${JSON.stringify(body.factors)}`);
  });

  // The laptop signs out; a phone-sized browser signs in with a recovery code in place of the app's code.
  const phone = await device(t.MOBILE, 'totp: phone');
  await step('totp-recovery-code-second-step', [laptop.watch, phone.watch], phone.page, async () => {
    await signOut(laptop);
    assert(pathOf(laptop.page) === '/', `the laptop after sign-out: ${laptop.page.url()}`);
    await visit(phone.page, phone.watch, '/session/new');
    await t.signIn(phone.page, EMAIL, PASSWORD);
    assert(pathOf(phone.page) === '/session/two-factor', `the password leads to ${phone.page.url()}`);
    await me(phone, 401);
  });

  await step('totp-recovery-code-signs-in', [phone.watch], phone.page, async () => {
    await codeField(phone.page).fill(recoveryCodes[0]);
    await clickThrough(phone.page, phone.page.getByRole('button', { name: 'Verify' }));
    assert(pathOf(phone.page) === '/profile', `after a recovery code: ${phone.page.url()}`);
    await assertText(phone.page, 'Signed in with a recovery code; 9 left.');
    await assertText(phone.page, `Signed in as ${EMAIL}`);
    const { body } = await me(phone, 200);
    assert(JSON.stringify(body.factors) === '["totp"]', `/me says factors ${JSON.stringify(body.factors)}`);
  });

  // Off again, from the setup page (sudo is fresh: the second step was just completed).
  await step('totp-manage-page', [phone.watch], phone.page, async () => {
    await clickThrough(phone.page, phone.page.getByRole('link', { name: 'Manage the authenticator app' }));
    assert(pathOf(phone.page) === '/account/totp', `the profile's link leads to ${phone.page.url()}`);
    // The page begins a new setup too: its key and URI stay unprinted like the first ones.
    keep((await phone.page.locator('#totp-secret').innerText()).trim(), '<another setup key>');
    keep((await phone.page.locator('#totp-uri').innerText()).trim(), '<another otpauth URI>');
    await assertText(phone.page, 'An authenticator app is on for your account (9 recovery codes left).');
  });

  await step('totp-turned-off', [phone.watch], phone.page, async () => {
    await clickThrough(phone.page, phone.page.getByRole('button', { name: 'Turn off the authenticator app' }));
    assert(pathOf(phone.page) === '/profile', `after turning it off: ${phone.page.url()}`);
    await assertText(phone.page, TURNED_OFF);
    const totp = await factorTotp(phone.page);
    assert(totp === 'off', `the profile says the authenticator app is off, not ${JSON.stringify(totp)}`);
    const { body } = await me(phone, 200);
    assert(JSON.stringify(body.factors) === '[]', `/me says factors ${JSON.stringify(body.factors)}`);
  });

  await step('totp-off-password-alone-signs-in', [laptop.watch], laptop.page, async () => {
    await visit(laptop.page, laptop.watch, '/session/new');
    await t.signIn(laptop.page, EMAIL, PASSWORD);
    assert(pathOf(laptop.page) === '/profile', `the password alone signs in again, not ${laptop.page.url()}`);
    await assertText(laptop.page, `Welcome back, ${EMAIL}.`);
    assert(!(await pendingCookie(laptop.context)), 'no pending-login cookie');
    const totp = await factorTotp(laptop.page);
    assert(totp === 'off', `the profile says off, not ${JSON.stringify(totp)}`);
  });

  for (const context of contexts) await context.close().catch(() => {});
}
