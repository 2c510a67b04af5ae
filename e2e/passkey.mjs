// Passkeys in the browser (issue 21's WebAuthn flows, crates/keycard-demo/tests/passkeys/): a passkey added
// from the profile on the account's passkeys page (the recovery codes of a first second factor shown
// once), "Sign in with a passkey" with no email typed, the passkey as the second step of a password sign-in,
// the same passkey offered by the browser's autofill on the sign-in page, the list showing its last use,
// and the passkey removed. Imported by run.mjs, whose helpers (`t`) it uses:
// each step goes through `t.step`, each page through `t.visit`/`t.clickThrough` (axe-core, the 375 px
// overflow check, no inline script), so the screenshots number on from run.mjs's.
//
// The authenticator is Chromium's own virtual one (the DevTools protocol's WebAuthn domain, over a CDP
// session from playwright-core): CTAP2, built in ("internal"), with discoverable credentials and user
// verification that always succeeds, so `navigator.credentials.create` and `.get` answer with no dialog.
//
// WebAuthn needs a secure context and a relying party id that is the page's host: on a loopback address
// the demo's relying party is `localhost` (http://localhost:PORT, never an IP address), so these pages are
// opened at http://localhost:PORT, not at the 127.0.0.1 address the rest of the run uses (cookies differ by
// host: this flow's browsers are contexts of their own). On an account of its own (registered here).

const EMAIL = 'dave@example.com';
const PASSWORD = 'dave has a passkey 7';
const NAME = 'This laptop';

/**
 * The passkey steps, on an account of their own, in a browser context of their own.
 *
 * `t`: { browser, BASE, DESKTOP, ACTION_TIMEOUT_MS, Watch, step, visit, clickThrough, signIn, assert,
 *        assertText, assertNoText, pathOf }
 */
export async function passkeyFlows(t) {
  const { step, visit, clickThrough, assert, assertText, assertNoText, pathOf } = t;
  const base = new URL(t.BASE);
  base.hostname = 'localhost';
  const LOCAL = base.origin;

  const context = await t.browser.newContext({ viewport: t.DESKTOP });
  context.setDefaultTimeout(t.ACTION_TIMEOUT_MS);
  const page = await context.newPage();
  const watch = new t.Watch(page, 'passkey: laptop');
  try {
    // The virtual authenticator lives in this page's target: every navigation of the page keeps it.
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    });
    const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;

    // The sign-in page also offers the passkeys in the browser's autofill (a conditional WebAuthn request
    // made as the page loads). Chromium's virtual authenticator answers such a request at once with the
    // passkey it holds, where a person would first pick it from the email field's suggestions: so on
    // every visit here the page would sign in by itself. The autofill is hidden from the page (as in a
    // browser without it) except in the one step that checks it, which turns it on in localStorage.
    await page.addInitScript(() => {
      let on = false;
      try { on = localStorage.getItem('e2e-passkey-autofill') === 'on'; } catch (e) { /* about:blank */ }
      if (window.PublicKeyCredential && !on) {
        Object.defineProperty(PublicKeyCredential, 'isConditionalMediationAvailable', { value: undefined });
      }
    });
    const autofill = (on) => page.evaluate((v) => localStorage.setItem('e2e-passkey-autofill', v), on ? 'on' : 'off');

    /** `GET /me` by the page's own `fetch` (its cookies): the body of a 200. */
    async function me() {
      const res = await page.evaluate(async () => {
        const r = await fetch('/me', { headers: { Accept: 'application/json' }, cache: 'no-store' });
        return { status: r.status, body: await r.json() };
      });
      assert(res.status === 200, `GET /me from ${pathOf(page)}: status ${res.status}`);
      return res.body;
    }
    const signOut = () => clickThrough(page, page.getByRole('button', { name: 'Sign out', exact: true }));

    await step('passkey-sign-up', [watch], page, async () => {
      await visit(page, watch, `${LOCAL}/registration/new`);
      await page.getByLabel('Email').fill(EMAIL);
      await page.getByLabel(/^Password/).fill(PASSWORD);
      await page.getByLabel('Confirm password').fill(PASSWORD);
      await clickThrough(page, page.getByRole('button', { name: 'Create account' }));
      assert(pathOf(page) === '/profile', `after sign-up: ${page.url()}`);
      const shown = (await page.locator('#factor-passkey').innerText()).trim();
      assert(shown === 'none', `a new account has no passkey, not ${JSON.stringify(shown)}`);
    });

    await step('passkey-page-empty', [watch], page, async () => {
      await clickThrough(page, page.getByRole('link', { name: 'Add a passkey' }));
      assert(pathOf(page) === '/account/passkeys', `the profile's link leads to ${page.url()}`);
      await assertText(page, 'You have no passkeys.');
    });

    // Sudo mode is fresh after registering: the form runs the ceremony at once.
    await step('passkey-added-recovery-codes', [watch], page, async () => {
      await page.getByLabel(/^Name/).fill(NAME);
      await clickThrough(page, page.getByRole('button', { name: 'Add a passkey' }));
      await assertText(page, 'Passkey added. It is now your second step after your password.');
      const codes = await page.locator('#recovery-codes code').count();
      assert(codes === 10, `ten recovery codes with the first second factor, not ${codes}`);
      const held = await credentials();
      assert(held.length === 1, `the authenticator holds ${held.length} credentials, not 1`);
      assert(held[0].isResidentCredential, 'the passkey is discoverable (a resident credential)');
      assert(held[0].rpId === 'localhost', `the passkey is bound to ${held[0].rpId}, not localhost`);
    });

    await step('passkey-listed', [watch], page, async () => {
      await visit(page, watch, `${LOCAL}/account/passkeys`);
      const row = page.locator('#passkeys tbody tr');
      assert((await row.count()) === 1, 'one passkey in the list');
      assert((await row.locator('.passkey-name').innerText()).trim() === NAME, 'listed under its name');
      assert((await row.locator('td[data-label="Last used"]').innerText()).trim() === 'never', 'not used yet');
      const body = await me();
      assert(JSON.stringify(body.factors) === '["passkey"]', `/me says factors ${JSON.stringify(body.factors)}`);
    });

    // Signed out, "Sign in with a passkey": no email typed, no second step.
    await step('passkey-sign-in', [watch], page, async () => {
      await signOut();
      await visit(page, watch, `${LOCAL}/session/new`);
      await clickThrough(page, page.getByRole('button', { name: 'Sign in with a passkey' }));
      assert(pathOf(page) === '/profile', `the passkey signs in to ${page.url()}`);
      await assertText(page, `Welcome back, ${EMAIL}. Signed in with a passkey.`);
      await assertText(page, `Signed in as ${EMAIL}`);
      assert((await me()).email === EMAIL, `/me is ${EMAIL}`);
    });

    // The same passkey from the browser's autofill: the page asks for it as it loads (the virtual
    // authenticator picks it at once), and the answer signs in as the button's does.
    await step('passkey-autofill-signs-in', [watch], page, async () => {
      await signOut();
      await autofill(true);
      try {
        await page.goto(`${LOCAL}/session/new`);
        await page.waitForURL((url) => url.pathname === '/profile');
      } finally {
        await autofill(false);
      }
      await assertText(page, `Welcome back, ${EMAIL}. Signed in with a passkey.`);
      assert((await me()).email === EMAIL, `/me is ${EMAIL}`);
    });

    // The password alone is not enough any more: the passkey answers the second step.
    await step('passkey-second-step-page', [watch], page, async () => {
      await signOut();
      await visit(page, watch, `${LOCAL}/session/new`);
      await t.signIn(page, EMAIL, PASSWORD);
      assert(pathOf(page) === '/session/two-factor', `the password leads to ${page.url()}`);
      await assertNoText(page, 'Signed in as');
      // A passkey is this account's only second factor: the page leads with it, a recovery code after.
      await assertText(page, 'Or use a recovery code');
      const first = await page.locator('main form').first().getAttribute('action');
      assert(first === '/session/two-factor/passkey', `the page's first form posts to ${first}`);
    });

    await step('passkey-second-step-signs-in', [watch], page, async () => {
      await clickThrough(page, page.getByRole('button', { name: 'Use a passkey' }));
      assert(pathOf(page) === '/profile', `the passkey finishes the sign-in on ${page.url()}`);
      await assertText(page, `Welcome back, ${EMAIL}.`);
      const shown = (await page.locator('#factor-passkey').innerText()).trim();
      assert(shown === 'on', `the profile says the passkey is on, not ${JSON.stringify(shown)}`);
    });

    await step('passkey-list-last-used', [watch], page, async () => {
      await visit(page, watch, `${LOCAL}/account/passkeys`);
      const used = (await page.locator('#passkeys td[data-label="Last used"]').innerText()).trim();
      assert(used === 'just now', `last used ${JSON.stringify(used)}`);
    });

    // Sudo mode is fresh: the second step was just completed.
    await step('passkey-removed', [watch], page, async () => {
      await clickThrough(page, page.getByRole('button', { name: `Remove passkey ${NAME}` }));
      assert(pathOf(page) === '/account/passkeys', `after removing: ${page.url()}`);
      await assertText(page, 'Passkey removed. Your other sessions were signed out.');
      await assertText(page, 'You have no passkeys.');
      const body = await me();
      assert(JSON.stringify(body.factors) === '[]', `/me says factors ${JSON.stringify(body.factors)}`);
    });
  } finally {
    await context.close().catch(() => {});
  }
}
