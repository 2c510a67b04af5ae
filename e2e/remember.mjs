// "Remember me" in the browser (issue 12's flows, crates/keycard-demo/tests/remember.rs): the sign-in form's
// checkbox, a browser restart signed back in by the remember-me cookie alone, the sessions page's
// "Remembered browsers" table and its "Forget" button, and sign-out clearing the cookie. Imported by run.mjs,
// whose helpers (`t`) it uses: each step goes through `t.step`, each page through `t.visit`/`t.clickThrough`
// (axe-core, the 375 px overflow check), so the screenshots number on from run.mjs's.

const REMEMBER_COOKIE = 'keycard_remember';
const THIRTY_DAYS_SECS = 30 * 24 * 60 * 60;

/**
 * The remember-me steps, for `t.email` whose password is now `t.password`, each browser a context of its own.
 *
 * `t`: { browser, BASE, DESKTOP, MOBILE, ACTION_TIMEOUT_MS, Watch, step, visit, clickThrough, assert,
 *        assertText, assertNoText, pathOf, sessionCookie, email, password }
 */
export async function rememberMeFlows(t) {
  const { step, visit, clickThrough, assert, assertText, assertNoText, pathOf, sessionCookie } = t;
  const contexts = [];

  async function device(viewport, label, cookies = []) {
    const context = await t.browser.newContext({ viewport });
    context.setDefaultTimeout(t.ACTION_TIMEOUT_MS);
    if (cookies.length) await context.addCookies(cookies);
    contexts.push(context);
    const page = await context.newPage();
    return { context, page, watch: new t.Watch(page, label) };
  }

  async function rememberCookie(context) {
    return (await context.cookies(t.BASE)).find((c) => c.name === REMEMBER_COOKIE);
  }

  /** A persistent cookie for REMEMBER_SECS (30 days by default): its expiry, give or take 10 minutes. */
  function assertThirtyDays(cookie, what) {
    const expected = Date.now() / 1000 + THIRTY_DAYS_SECS;
    assert(
      cookie.expires > 0 && Math.abs(cookie.expires - expected) < 600,
      `${what}: expires ${new Date(cookie.expires * 1000).toISOString()}, not ~30 days from now`,
    );
  }

  async function signInRemembered(page) {
    // The password form (the page's "Sign in without a password" form has an Email field too).
    const form = page.locator('form[action="/session"]');
    await form.getByLabel('Email').fill(t.email);
    await form.getByLabel('Password', { exact: true }).fill(t.password);
    // The label, not the box: its `for` must tick the checkbox.
    await form.locator('label', { hasText: 'Remember me' }).click();
    assert(await form.getByLabel('Remember me').isChecked(), 'clicking the "Remember me" label ticks the box');
    return clickThrough(page, form.getByRole('button', { name: 'Sign in' }));
  }

  const first = await device(t.DESKTOP, 'remembered laptop');
  let cookie;
  await step('remember-me-sign-in', [first.watch], first.page, async () => {
    await visit(first.page, first.watch, '/session/new');
    await signInRemembered(first.page);
    assert(pathOf(first.page) === '/profile', `after a remembered sign-in: ${first.page.url()}`);
    cookie = await rememberCookie(first.context);
    assert(cookie, `a ${REMEMBER_COOKIE} cookie`);
    assert(cookie.httpOnly, `${REMEMBER_COOKIE} is HttpOnly`);
    assert(cookie.sameSite === 'Lax', `${REMEMBER_COOKIE} is SameSite=Lax, not ${cookie.sameSite}`);
    assertThirtyDays(cookie, REMEMBER_COOKIE);
  });

  // The browser closes: of its cookies only the persistent remember-me one survives the restart.
  await first.context.close();
  const restarted = await device(t.DESKTOP, 'restarted laptop', [cookie]);
  let rotated;
  await step('remember-me-browser-restart', [restarted.watch], restarted.page, async () => {
    const names = (await restarted.context.cookies(t.BASE)).map((c) => c.name);
    assert(names.join() === REMEMBER_COOKIE, `the restarted browser has only ${REMEMBER_COOKIE}: ${names}`);
    await visit(restarted.page, restarted.watch, '/profile');
    assert(pathOf(restarted.page) === '/profile', `signed back in, not sent to ${restarted.page.url()}`);
    await assertText(restarted.page, `Signed in as ${t.email}`);
    assert(await sessionCookie(restarted.context), 'signed back in: a new session cookie');
    rotated = await rememberCookie(restarted.context);
    assert(rotated && rotated.value !== cookie.value, 'the remember-me cookie rotated');
    assert(rotated.httpOnly, `the rotated ${REMEMBER_COOKIE} is HttpOnly`);
    assertThirtyDays(rotated, `the rotated ${REMEMBER_COOKIE}`);
  });

  const phone = await device(t.MOBILE, 'remembered phone');
  await step('remember-me-second-browser', [phone.watch], phone.page, async () => {
    await visit(phone.page, phone.watch, '/session/new');
    await signInRemembered(phone.page);
    assert(pathOf(phone.page) === '/profile', `phone after a remembered sign-in: ${phone.page.url()}`);
    assert(await rememberCookie(phone.context), `the phone has a ${REMEMBER_COOKIE} cookie`);
  });

  const seriesRows = (page) => page.locator('tr[id^="series-"]');
  await step('remembered-browsers-listed', [restarted.watch], restarted.page, async () => {
    await visit(restarted.page, restarted.watch, '/sessions');
    await assertText(restarted.page, 'Remembered browsers');
    const rows = seriesRows(restarted.page);
    assert((await rows.count()) === 2, `two remembered browsers listed, not ${await rows.count()}`);
    const current = restarted.page.locator('tr[id^="series-"].current');
    assert((await current.count()) === 1, 'one remembered browser is this one');
    assert((await current.innerText()).includes('This browser'), 'the current one says "This browser"');
    await assertText(restarted.page, '2 remembered browsers');
    const tagged = restarted.page.locator('tr[id^="session-"] .tag', { hasText: 'Remembered' });
    assert((await tagged.count()) >= 2, 'the sessions of both remembered browsers are tagged "Remembered"');
  });

  await step('remembered-browsers-375px', [phone.watch], phone.page, async () => {
    await visit(phone.page, phone.watch, '/sessions');
    const display = await seriesRows(phone.page).first().evaluate((tr) => getComputedStyle(tr).display);
    assert(display === 'block', `remembered browsers at 375 px are cards, not table rows (display: ${display})`);
  });

  await step('forget-the-other-browser', [restarted.watch], restarted.page, async () => {
    const other = restarted.page.locator('tr[id^="series-"]:not(.current)');
    // A browser signed back in by its cookie has no fresh password proof: forgetting another browser asks
    // for the password first (sudo mode, issue 18 W11), then comes back to the list.
    await clickThrough(restarted.page, other.getByRole('button', { name: /^Forget/ }));
    assert(pathOf(restarted.page) === '/session/confirm', `forgetting asks for the password: ${restarted.page.url()}`);
    await restarted.page.getByLabel('Password', { exact: true }).fill(t.password);
    await clickThrough(restarted.page, restarted.page.getByRole('button', { name: 'Confirm' }));
    assert(pathOf(restarted.page) === '/sessions', `back to the list: ${restarted.page.url()}`);
    await clickThrough(restarted.page, other.getByRole('button', { name: /^Forget/ }));
    assert(pathOf(restarted.page) === '/sessions', `after forgetting: ${restarted.page.url()}`);
    await assertText(restarted.page, 'That browser is forgotten and signed out.');
    assert((await seriesRows(restarted.page).count()) === 1, 'one remembered browser left');
    await assertText(restarted.page, `Signed in as ${t.email}`);
  });

  await step('forgotten-browser-is-signed-out', [phone.watch], phone.page, async () => {
    await visit(phone.page, phone.watch, '/profile');
    assert(pathOf(phone.page) === '/session/new', `the forgotten phone is sent to sign in, not ${phone.page.url()}`);
    await assertText(phone.page, t.SESSION_ENDED);
    await assertNoText(phone.page, 'Signed in as');
    assert(!(await rememberCookie(phone.context)), `the forgotten phone's ${REMEMBER_COOKIE} cookie is cleared`);
  });

  let last;
  await step('remember-me-sign-out', [restarted.watch], restarted.page, async () => {
    await visit(restarted.page, restarted.watch, '/profile');
    last = await rememberCookie(restarted.context);
    assert(last, `still remembered before signing out: a ${REMEMBER_COOKIE} cookie`);
    await clickThrough(restarted.page, restarted.page.getByRole('button', { name: 'Sign out', exact: true }));
    assert(pathOf(restarted.page) === '/', `after sign-out: ${restarted.page.url()}`);
    await assertText(restarted.page, 'You have been signed out.');
    assert(!(await rememberCookie(restarted.context)), `sign-out cleared the ${REMEMBER_COOKIE} cookie`);
    assert(!(await sessionCookie(restarted.context)), 'and the session cookie');
  });

  // A copy of the cookie kept from before sign-out opens nothing: the series ended with it.
  const copy = await device(t.DESKTOP, 'signed-out copy', [last]);
  await step('signed-out-remember-cookie-is-dead', [copy.watch], copy.page, async () => {
    await visit(copy.page, copy.watch, '/profile');
    assert(pathOf(copy.page) === '/session/new', `a signed-out series signs nobody in: ${copy.page.url()}`);
    await assertNoText(copy.page, 'Signed in as');
  });

  for (const context of contexts) await context.close().catch(() => {});
}
