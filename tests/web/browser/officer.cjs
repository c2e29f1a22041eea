// The browser half of WebPortal.OfficerEndsALiveSession… (portal_browser_test.cc): an officer
// signs in, ends a running SSH session from the live list (after its confirmation page), reads the
// grants and downloads a client's export. The exit status is the number of failed checks.
'use strict';
const c = require('./common.cjs');
const { env, check, axeCheck, fitsNarrowScreen, shot } = c;

const base = env('PORTAL_URL');
const account = env('ACCOUNT');
const secret = env('TOTP_SECRET');
const live = env('LIVE_SESSION');
const password = 'officer passphrase 2026';

c.main(async ({ browser, context, contextOptions, page }) => {
  await c.enrol(page, env('ENROL_URL'), password);
  await c.signIn(page, base, account, password, c.totp(secret));
  check(page.url() === `${base}/sessions`, `the officer signs in (${page.url()})`);

  // The live list: the running session, with its end link.
  await page.goto(`${base}/live`);
  const endLink = page.locator(`a[href="/live/${live}/end"]`);
  check(await endLink.count() === 1, `live session ${live} is listed with an end link`);
  await axeCheck(page, 'live sessions');
  await fitsNarrowScreen(page, 'live sessions');
  await shot(page, 'live');

  // A forged POST (no CSRF token) ends nothing.
  const forged = await page.request.post(`${base}/live/${live}/end`, { form: {} });
  check(forged.status() === 403, `ending a session without the CSRF token is refused (${forged.status()})`);

  // The confirmation step, then the end.
  await Promise.all([page.waitForNavigation(), endLink.click()]);
  check((await page.textContent('main')).includes('End this session now?'), 'ending asks for a confirmation first');
  await axeCheck(page, 'end confirmation');
  await fitsNarrowScreen(page, 'end confirmation');
  await shot(page, 'end-confirm');
  await Promise.all([page.waitForNavigation(), page.click(`button:has-text("End session ${live} now")`)]);
  check(page.url().startsWith(`${base}/live?done=kill-requested`) &&
        (await page.textContent('main')).includes(`Session ${live} is being ended`),
        `the live page confirms the end (${page.url()})`);
  // The session's own process cuts it: it leaves the live list.
  let gone = false;
  for (let i = 0; i < 30 && !gone; i++) {
    await page.waitForTimeout(500);
    await page.goto(`${base}/live`);
    gone = (await page.locator(`a[href="/sessions/${live}"]`).count()) === 0;
  }
  check(gone, `session ${live} is no longer live within 15 s`);

  // Grants of every client.
  await page.goto(`${base}/grants`);
  const grants = await page.textContent('main');
  check(grants.includes('web1') && grants.includes('every client'), 'the grants page lists every client\'s grants');
  await axeCheck(page, 'grants (officer)');
  await fitsNarrowScreen(page, 'grants (officer)');

  // An officer exports any client: acme, chosen in the form.
  await page.goto(`${base}/export`);
  await axeCheck(page, 'export (officer)');
  await fitsNarrowScreen(page, 'export (officer)');
  await shot(page, 'export-officer');
  await page.selectOption('#client', 'acme');
  await page.fill('#passphrase', 'olga hands acme its data');
  await page.fill('#confirm', 'olga hands acme its data');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Download the encrypted archive")')]);
  const members = c.archiveMembers(c.decryptExport(await dl.path(), 'olga hands acme its data'));
  check(members.includes('sessions.json') && members.some((m) => m.startsWith(`recordings/${live}/`)),
        `the officer's export of acme holds the ended session's recording (${members.join(', ')})`);
});
