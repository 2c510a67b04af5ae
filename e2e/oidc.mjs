// Sign in with an OpenID provider in the browser (issue 22, crates/keycard-demo/tests/oidc/): "Sign in with
// Test" on the sign-in page, through the real provider scripts/e2e.sh started (panva's oidc-provider, from
// scripts/oidc-provider/: its sign-in form filled as a person would), back to the demo signed in as a new
// account; the account's "Linked accounts" page; signed out, then in again in another browser as the same
// account. Imported by run.mjs, whose helpers (`t`) it uses: each demo page goes through `t.visit` (axe-core,
// the 375 px overflow check); the provider's own pages are not checked (they are not the demo's).
//
// The demo runs with OIDC_NAME=Test, OIDC_TRUST_EMAIL=on: a verified email from the provider makes an account.

const EMAIL = 'erin@example.com';
const SUBJECT = 'erin-at-the-provider';

/**
 * The provider steps, on an account the provider makes, in browser contexts of their own.
 *
 * `t`: { browser, BASE, DESKTOP, ACTION_TIMEOUT_MS, Watch, step, visit, clickThrough, assert, assertText,
 *        assertNoText, pathOf }
 */
export async function oidcFlows(t) {
  const { step, visit, clickThrough, assert, assertText, pathOf } = t;
  const contexts = [];

  async function device(label) {
    const context = await t.browser.newContext({ viewport: t.DESKTOP });
    context.setDefaultTimeout(t.ACTION_TIMEOUT_MS);
    contexts.push(context);
    const page = await context.newPage();
    return { page, watch: new t.Watch(page, label) };
  }

  /** From the sign-in page, through the provider's form, back to the demo's profile. */
  async function signInWithProvider(page, watch) {
    await visit(page, watch, '/session/new');
    const atProvider = page.waitForURL((u) => u.pathname.startsWith('/interaction/'));
    await page.getByRole('link', { name: 'Sign in with Test' }).click();
    await atProvider;
    assert(!page.url().startsWith(t.BASE), 'at the provider');
    await page.getByLabel('Subject').fill(SUBJECT);
    await page.getByLabel('Email', { exact: true }).fill(EMAIL);
    const back = page.waitForURL((u) => u.href.startsWith(t.BASE) && u.pathname === '/profile', { waitUntil: 'load' });
    await page.getByRole('button', { name: 'Continue' }).click();
    await back;
    assert(pathOf(page) === '/profile', `back at ${pathOf(page)}`);
  }

  try {
    const first = await device('oidc: laptop');
    await step('oidc-sign-up-with-provider', [first.watch], first.page, async () => {
      await signInWithProvider(first.page, first.watch);
      await assertText(first.page, 'Signed in with Test');
      await visit(first.page, first.watch, '/profile');
      await assertText(first.page, EMAIL);
    });

    await step('oidc-linked-accounts', [first.watch], first.page, async () => {
      await visit(first.page, first.watch, '/account/identities');
      await assertText(first.page, 'Linked accounts');
      await assertText(first.page, 'Your only way to sign in');
      await assertText(first.page, EMAIL);
    });

    await step('oidc-sign-in-again', [first.watch], first.page, async () => {
      await clickThrough(first.page, first.page.getByRole('button', { name: 'Sign out', exact: true }));
      const second = await device('oidc: phone');
      await signInWithProvider(second.page, second.watch);
      await visit(second.page, second.watch, '/profile');
      await assertText(second.page, EMAIL);
      second.watch.check();
    });
  } finally {
    for (const c of contexts) await c.close().catch(() => {});
  }
}
