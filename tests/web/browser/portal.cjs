// The browser half of WebPortal.ReviewerSignsIn… (portal_browser_test.cc): Debian's chromium,
// headless, driven by playwright-core; accessibility checked by axe-core. Every check that fails
// is printed; the exit status is the number of failures (0: all passed).
'use strict';
const c = require('./common.cjs');
const { env, check, axeCheck, fitsNarrowScreen, shot } = c;

const base = env('PORTAL_URL');
const enrolUrl = env('ENROL_URL');
const account = env('ACCOUNT');
const secret = env('TOTP_SECRET');
const ownSession = env('OWN_SESSION');
const otherSession = env('OTHER_SESSION');
const execSession = env('EXEC_SESSION');
const reqApprove = env('REQ_APPROVE');
const reqDeny = env('REQ_DENY');
const password = 'correct horse battery staple';
const totp = (offset = 0) => c.totp(secret, offset);
const signIn = (page, pass, code) => c.signIn(page, base, account, pass, code);

// wideShot: a screenshot at 1024 px too (docs/ shows these), then back to 360 px.
async function wideShot(page, name) {
  await page.setViewportSize({ width: 1024, height: 700 });
  await shot(page, name);
  await page.setViewportSize({ width: 360, height: 740 });
}

c.main(async ({ browser, context, contextOptions, page }) => {
  // Enrolment: the one-time link sets the password; a short one is refused first.
  await page.goto(enrolUrl);
  await shot(page, 'enrol');
  await axeCheck(page, 'enrolment');
  await page.fill('#password', 'too-short');
  await page.fill('#repeat', 'too-short');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  check((await page.textContent('main')).includes('at least 12 characters'), 'a password under 12 characters is refused');
  await page.fill('#password', password);
  await page.fill('#repeat', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  check(page.url().startsWith(`${base}/sign-in`), `the enrolment leads to the sign-in page (${page.url()})`);
  const reuse = await page.goto(enrolUrl);
  check(reuse.status() === 410, `the enrolment link works once (second use: ${reuse.status()})`);

  // Refusals: wrong password, wrong code.
  let r = await signIn(page, 'not the password at all', totp());
  check(r.status() === 401 && page.url().endsWith('/sign-in'), `a wrong password is refused (${r.status()})`);
  await shot(page, 'sign-in');
  await axeCheck(page, 'sign-in');
  await fitsNarrowScreen(page, 'sign-in');
  r = await signIn(page, password, totp(600));
  check(r.status() === 401 && (await page.textContent('main')).includes('wrong or expired'),
        `a wrong code is refused (${r.status()})`);

  // Success, then the same code again in another browser is refused.
  const code = totp();
  r = await signIn(page, password, code);
  check(page.url() === `${base}/sessions`, `password and code sign in (${page.url()})`);
  const other = await browser.newContext(contextOptions);
  const otherPage = await other.newPage();
  r = await signIn(otherPage, password, code);
  check(r.status() === 401 && (await otherPage.textContent('main')).includes('already used'),
        `a code used once is refused the second time (${r.status()})`);
  await other.close();

  // Cookie flags and headers.
  const cookie = (await context.cookies()).find((c) => c.name === '__Host-bastion');
  check(cookie && cookie.secure && cookie.httpOnly && cookie.sameSite === 'Strict',
        `the session cookie is Secure, HttpOnly, SameSite=Strict (${JSON.stringify(cookie)})`);
  const list = await page.goto(`${base}/sessions`);
  const h = list.headers();
  const csp = h['content-security-policy'] || '';
  check(csp.includes("default-src 'none'") && csp.includes("frame-ancestors 'none'") && !csp.includes('unsafe-inline'),
        `the CSP allows no inline script and no framing (${csp})`);
  check((h['strict-transport-security'] || '').includes('max-age='), 'HSTS is sent');
  check((h['cache-control'] || '').includes('no-store'), 'data pages are no-store');
  check((await page.locator('script').count()) === 0, 'the page holds no script');

  // The list: own client's sessions only.
  await shot(page, 'sessions');
  await wideShot(page, 'sessions-wide');
  await axeCheck(page, 'sessions list');
  await fitsNarrowScreen(page, 'sessions list');
  const body = await page.textContent('main');
  check(await page.locator(`a[href="/sessions/${ownSession}"]`).count() === 1, `acme's session ${ownSession} is listed`);
  check(await page.locator(`a[href="/sessions/${otherSession}"]`).count() === 0 && !body.includes('web2'),
        `globex's session ${otherSession} (server web2) is not listed`);
  await page.goto(`${base}/sessions?server=web1&status=closed`);
  check(await page.locator(`a[href="/sessions/${ownSession}"]`).count() === 1, 'the server and status filters keep it');
  await page.goto(`${base}/sessions?status=live`);
  check(await page.locator(`a[href="/sessions/${ownSession}"]`).count() === 0, 'the status filter "live" drops it');

  // One session, its evidence and its recording.
  await page.goto(`${base}/sessions/${ownSession}`);
  const detail = await page.textContent('main');
  check(detail.includes('verified against the audit chain') && !detail.includes('NOT verified'),
        'the session page says its recording digest is verified against the chain');
  check(detail.includes('web1') && detail.includes('Grant'), 'the session page names the server and the grant');
  await shot(page, 'session');
  await axeCheck(page, 'session');
  await fitsNarrowScreen(page, 'session');
  const href = await page.getAttribute('a[href*="/recordings/"]:not([href$="/view"])', 'href');
  const download = await page.request.get(`${base}${href}`);
  const cast = await download.text();
  check(download.status() === 200 && cast.includes('portal-42') && cast.includes('"version"'),
        `the raw asciicast recording downloads with what was shown (${download.status()}, ${cast.length} bytes)`);
  check((download.headers()['content-disposition'] || '').includes('attachment'), 'the recording comes as an attachment');

  // The player: served by the portal, started by play.js; the typed line is a marker to jump to.
  await page.goto(`${base}/sessions/${ownSession}`);
  await Promise.all([page.waitForNavigation(), page.click('a[href$="/view"]')]);
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const marker = page.locator('#commands button', { hasText: 'echo portal-$((6*7))' });
  check(await marker.count() === 1, 'the typed line "echo portal-$((6*7))" is listed as a marker');
  await page.waitForSelector('#player .ap-player', { timeout: 15000 });
  await marker.click();
  await page.waitForFunction(() => document.getElementById('player').dataset.marker === '0', null, { timeout: 10000 });
  // The test's session was typed ahead of the remote shell (the keys precede its prompt), so the
  // screen at the marker is still blank; played on from the marker, the command's output appears.
  await page.click('#player .ap-playback-button');
  const played = await page.waitForFunction(
    () => document.querySelector('#player .ap-term-text').textContent.includes('portal-42'), null, { timeout: 15000 })
    .then(() => true, () => false);
  check(played, 'played on from the marker, the player shows the command\'s output (portal-42)');
  check((await page.textContent('#player-status')).includes('echo portal-$((6*7))'), 'the status line names the line jumped to');
  check(errors.length === 0, `the player page runs without errors under its CSP (${errors.join('; ')})`);
  const playerCsp = (await page.request.get(page.url())).headers()['content-security-policy'] || '';
  check(playerCsp.includes("script-src 'self'") && !playerCsp.includes('unsafe-inline'),
        `the player page allows same-origin script files only (${playerCsp})`);
  await shot(page, 'player');
  await wideShot(page, 'player-wide');
  await axeCheck(page, 'player');

  // An exec recording reads as its three streams; its session ran under a break-glass grant,
  // which the page flags for the reviewer.
  await page.goto(`${base}/sessions/${execSession}`);
  const execDetail = await page.textContent('main');
  check(execDetail.includes('Emergency') && execDetail.includes('outage 77'),
        'the session page flags the emergency grant and its reason');
  await Promise.all([page.waitForNavigation(), page.click('a[href$="/view"]')]);
  const stdoutText = await page.textContent('section[aria-labelledby="stdout-h"]');
  const stderrText = await page.textContent('section[aria-labelledby="stderr-h"]');
  check(stdoutText.includes('exec-out-7') && !stdoutText.includes('exec-err'), `the exec page shows standard output (${stdoutText})`);
  check(stderrText.includes('exec-err'), `the exec page shows standard error apart (${stderrText})`);
  await shot(page, 'exec');
  await axeCheck(page, 'exec recording');
  await fitsNarrowScreen(page, 'exec recording');

  // The access report of this month: acme's sessions with totals, as a page and as CSV.
  await page.goto(`${base}/report`);
  const report = await page.textContent('main');
  check(report.includes('web1') && !report.includes('web2') && report.includes('Total'),
        'the access report lists acme\'s server with totals and not globex\'s');
  await axeCheck(page, 'access report');
  await fitsNarrowScreen(page, 'access report');
  await shot(page, 'report');
  const csvHref = await page.getAttribute('a[href^="/report.csv"]', 'href');
  const csv = await page.request.get(`${base}${csvHref}`);
  const csvText = await csv.text();
  check(csv.status() === 200 && csvText.startsWith('session,operator,server') && csvText.includes(`${ownSession},`) &&
        !csvText.includes('web2'), `the report downloads as CSV, scoped to acme (${csvText.slice(0, 300)})`);
  const media = await page.request.get(`${base}/static/style.css`);
  check((await media.text()).includes('@media print'), 'the style sheet has a print layout');

  // Requests waiting for acme: approve one, deny one (a deny needs its reason).
  await page.goto(`${base}/requests`);
  check((await page.textContent('main')).includes('ticket 101'), 'the waiting request is listed with its reason');
  await axeCheck(page, 'requests');
  await fitsNarrowScreen(page, 'requests');
  const forgedDecision = await page.request.post(`${base}/requests/${reqApprove}/decide`, { form: { decision: 'approve' } });
  check(forgedDecision.status() === 403, `a decision without the CSRF token is refused (${forgedDecision.status()})`);
  await page.fill(`#note-${reqApprove}`, 'fine by acme');
  await Promise.all([page.waitForNavigation(), page.click(`button:has-text("Approve request ${reqApprove}")`)]);
  check((await page.textContent('main')).includes(`Request ${reqApprove} approved.`), `request ${reqApprove} is approved (${(await page.textContent('main')).slice(0, 200)})`);
  await Promise.all([page.waitForNavigation(), page.click(`button:has-text("Deny request ${reqDeny}")`)]);
  check((await page.textContent('main')).includes('not denied'), 'a deny without a reason is refused by the command\'s own rule');
  await page.goto(`${base}/requests`);
  await page.fill(`#note-${reqDeny}`, 'not this week');
  await Promise.all([page.waitForNavigation(), page.click(`button:has-text("Deny request ${reqDeny}")`)]);
  const decided = await page.textContent('main');
  check(decided.includes(`Request ${reqDeny} denied.`) && decided.includes('not this week'), `request ${reqDeny} is denied and listed as decided`);
  await shot(page, 'requests');
  // The confirmation comes from a fixed set of codes: a crafted link cannot make the page say anything else.
  await page.goto(`${base}/requests?done=${encodeURIComponent('Your data was deleted')}&id=1`);
  const crafted = await page.textContent('main');
  check(!crafted.includes('deleted') && (await page.locator('[role=status]').count()) === 0,
        'a ?done= text that is not one of the codes shows nothing');

  // Live sessions and grants of acme, read only: a client reviewer cannot end a session.
  await page.goto(`${base}/live`);
  check((await page.textContent('main')).includes('Only the hosting company') &&
        (await page.locator('a[href$="/end"]').count()) === 0, 'the live page offers a reviewer no end button');
  await axeCheck(page, 'live sessions (reviewer)');
  await fitsNarrowScreen(page, 'live sessions (reviewer)');
  const csrf = await page.getAttribute('form.sign-out input[name=csrf]', 'value');
  const end = await page.request.post(`${base}/live/${ownSession}/end`, { form: { csrf } });
  check(end.status() === 403 && (await end.text()).includes('officer command'),
        `a reviewer's POST to end a session is refused by the command set's role rule (${end.status()})`);
  await page.goto(`${base}/grants`);
  const grants = await page.textContent('main');
  check(grants.includes('web1') && !grants.includes('web2'), 'the grants page lists acme\'s grants only');
  await axeCheck(page, 'grants');
  await fitsNarrowScreen(page, 'grants');
  await shot(page, 'grants');

  // "Export our data": acme's archive, recorded, with acme's sessions and nothing of globex.
  await page.goto(`${base}/export`);
  await axeCheck(page, 'export');
  await fitsNarrowScreen(page, 'export');
  await shot(page, 'export');
  const forgedExport = await page.request.post(`${base}/export`, { form: { client: 'acme' } });
  check(forgedExport.status() === 403, `an export without the CSRF token is refused (${forgedExport.status()})`);
  const otherExport = await page.request.post(`${base}/export`, { form: { csrf, client: 'globex' } });
  check(otherExport.status() === 403 && (await otherExport.text()).includes('own client'),
        `another client's export is refused (${otherExport.status()})`);
  check((await page.textContent('main')).includes('gpg -d'), 'the export page says how to open the archive (gpg -d)');
  const passphrase = 'acme takes it away 2026';
  const noPassphrase = await page.request.post(`${base}/export`, { form: { csrf } });
  check(noPassphrase.status() === 403 && (await noPassphrase.text()).includes('too short'),
        `an export without a passphrase is refused (${noPassphrase.status()})`);
  const mismatch = await page.request.post(`${base}/export`, { form: { csrf, passphrase, confirm: passphrase + '!' } });
  check(mismatch.status() === 403 && (await mismatch.text()).includes('differ'),
        `an export whose two passphrases differ is refused (${mismatch.status()})`);
  const direct = await page.request.post(`${base}/export`, { form: { csrf, passphrase, confirm: passphrase } });
  const dh = direct.headers();
  const sent = await direct.body();
  check(direct.status() === 200 && dh['content-type'] === 'application/pgp-encrypted' &&
        Number(dh['content-length']) === sent.length && sent[0] === 0xc3 &&
        (dh['content-disposition'] || '').startsWith('attachment') && (dh['cache-control'] || '').includes('no-store'),
        `the encrypted archive is sent with its length, as an attachment, no-store (${direct.status()}, ${JSON.stringify(dh)})`);
  await page.fill('#passphrase', passphrase);
  await page.fill('#confirm', passphrase);
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Download the encrypted archive")')]);
  check(/^acme-export-\d{4}-\d\d-\d\d\.tar\.gz\.gpg$/.test(dl.suggestedFilename()),
        `the encrypted archive is named for acme (${dl.suggestedFilename()})`);
  const file = c.decryptExport(await dl.path(), passphrase);
  const members = c.archiveMembers(file);
  check(members.includes('sessions.json') && members.includes('events.json') &&
        members.some((m) => m.startsWith(`recordings/${ownSession}/`)),
        `the archive gpg opens holds sessions, events and the recordings of session ${ownSession} (${members.join(', ')})`);
  const exported = JSON.parse(c.archiveMember(file, 'sessions.json'));
  check(exported.some((s) => s.id === Number(ownSession)) && exported.every((s) => s.server !== 'web2'),
        'the archive\'s sessions are acme\'s only');

  // Another client's session by its id: 404, nothing shown.
  const foreign = await page.goto(`${base}/sessions/${otherSession}`);
  check(foreign.status() === 404 && !(await page.textContent('main')).includes('globex'),
        `another client's session by URL gives 404 (${foreign.status()})`);
  await shot(page, 'not-found');
  const foreignRec = await page.request.get(`${base}/sessions/${otherSession}/recordings/1`);
  check(foreignRec.status() === 404, `another client's recording by URL gives 404 (${foreignRec.status()})`);

  // A forged POST (no CSRF token) is refused and leaves the session signed in.
  // Sent from the portal's own origin with the session cookie, so that only the token is missing.
  await page.goto(`${base}/sessions`);
  const [forged] = await Promise.all([
    page.waitForNavigation(),
    page.evaluate(() => {
      const f = document.createElement('form');
      f.method = 'post';
      f.action = '/sign-out';
      document.body.appendChild(f);
      f.submit();
    }),
  ]);
  check(forged.status() === 403 && (await page.textContent('main')).includes('no valid CSRF token'),
        `a POST without the CSRF token is refused (${forged.status()})`);
  const wrongToken = await page.request.post(`${base}/sign-out`, { form: { csrf: '0'.repeat(64) } });
  check(wrongToken.status() === 403, `a POST with a wrong CSRF token is refused (${wrongToken.status()})`);
  const still = await page.goto(`${base}/sessions`);
  check(page.url() === `${base}/sessions` && still.status() === 200, 'the forged POST did not sign the reviewer out');

  // Signing out through the page's own form works and ends the session.
  await Promise.all([page.waitForNavigation(), page.click('form.sign-out button')]);
  await page.goto(`${base}/sessions`);
  check(page.url().startsWith(`${base}/sign-in`), `after signing out the list asks to sign in (${page.url()})`);
});
