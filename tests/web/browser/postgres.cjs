// The browser half of WebPortalOnPostgres (postgres_browser_test.cc): the essentials of the portal
// on a bastion whose database is PostgreSQL — enrolment, a sign-in with password and TOTP, a
// session bastiond recorded listed and opened, its recording downloaded and played, a request
// approved. Only what the database serves; the pages' own rules (CSP, axe-core, 360 px, CSRF…)
// are portal.cjs's on SQLite. The exit status is the number of failed checks (0: all passed).
'use strict';
const c = require('./common.cjs');
const { env, check, shot } = c;

const base = env('PORTAL_URL');
const account = env('ACCOUNT');
const secret = env('TOTP_SECRET');
const session = env('SESSION');
const request = env('REQUEST');
const password = 'postgres holds the truth';

c.main(async ({ browser, context, contextOptions, page }) => {
  // Enrolment writes the password hash; the sign-in reads it and uses the code once (both in PostgreSQL).
  await c.enrol(page, env('ENROL_URL'), password);
  check(page.url().startsWith(`${base}/sign-in`), `the enrolment leads to the sign-in page (${page.url()})`);
  const code = c.totp(secret);
  await c.signIn(page, base, account, password, code);
  check(page.url() === `${base}/sessions`, `password and code sign in (${page.url()})`);
  const other = await browser.newContext(contextOptions);
  const again = await c.signIn(await other.newPage(), base, account, password, code);
  check(again.status() === 401, `the same code a second time is refused (${again.status()})`);
  await other.close();

  // The session bastiond recorded, listed and opened, its digest checked against the chain.
  check(await page.locator(`a[href="/sessions/${session}"]`).count() === 1, `session ${session} is listed`);
  await shot(page, 'sessions');
  await page.goto(`${base}/sessions/${session}`);
  const detail = await page.textContent('main');
  check(detail.includes('web1') && detail.includes('verified against the audit chain') && !detail.includes('NOT verified'),
        'the session page names web1 and says its recording is verified against the chain');

  // Its recording: downloaded (decrypted under acme's data key, read from PostgreSQL), then played.
  const href = await page.getAttribute('a[href*="/recordings/"]:not([href$="/view"])', 'href');
  const download = await page.request.get(`${base}${href}`);
  const cast = await download.text();
  check(download.status() === 200 && cast.includes('through-postgresql-42') && cast.includes('"version"'),
        `the recording downloads with what was shown (${download.status()}, ${cast.length} bytes)`);
  await Promise.all([page.waitForNavigation(), page.click('a[href$="/view"]')]);
  const started = await page.waitForSelector('#player .ap-player', { timeout: 15000 }).then(() => true, () => false);
  check(started, 'the player page loads the player');
  // Played, the player fetches the cast from the portal and shows the command's output.
  await page.click('#player .ap-playback-button');
  const played = await page.waitForFunction(
    () => document.querySelector('#player .ap-term-text').textContent.includes('through-postgresql-42'), null,
    { timeout: 15000 }).then(() => true, () => false);
  check(played, 'the player plays the recording: the command\'s output (through-postgresql-42) appears');
  await shot(page, 'player');

  // A request waiting for acme: approved through the portal (the command set writes the decision).
  await page.goto(`${base}/requests`);
  check((await page.textContent('main')).includes('ticket 314'), 'the waiting request is listed with its reason');
  await page.fill(`#note-${request}`, 'fine by acme');
  await Promise.all([page.waitForNavigation(), page.click(`button:has-text("Approve request ${request}")`)]);
  check((await page.textContent('main')).includes(`Request ${request} approved.`), `request ${request} is approved`);
  await shot(page, 'requests');
});
