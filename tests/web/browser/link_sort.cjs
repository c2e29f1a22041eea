// The browser half of WebPortal.ReviewerSignsInWithAWebLoginLinkFromSsh… (portal_browser_test.cc):
// the link `ssh carol@bastion web-login` printed signs carol in once (a second use gets a page that
// says so); then the sessions list sorted by its column headings. The exit status is the number of
// failed checks.
'use strict';
const c = require('./common.cjs');
const { env, check, axeCheck, fitsNarrowScreen, shot } = c;

const base = env('PORTAL_URL');
const link = env('LOGIN_URL');
const longOne = env('LONG_SESSION');
const onWeb9 = env('WEB9_SESSION');
const last = env('LAST_SESSION');

// rows: the id and server of each row of the sessions table, in page order.
async function rows(page) {
  return page.$$eval('main tbody tr', (trs) => trs.map((tr) => {
    const td = tr.querySelectorAll('td');
    return { id: td[0] ? td[0].textContent.trim() : '', server: td[2] ? td[2].textContent.trim() : '' };
  }));
}

// sortBy: follows the link of a column heading, as a person clicks it.
async function sortBy(page, label) {
  const name = label.toLowerCase();
  await Promise.all([page.waitForNavigation(), page.click(`main thead th a[href^="/sessions?sort=${name}&"]`)]);
}

c.main(async ({ browser, context, contextOptions, page }) => {
  // The link's page: a button, so that a link previewer fetching the URL uses nothing.
  const first = await page.goto(link);
  check(first.status() === 200 && (await page.textContent('main')).includes('once, within 2'),
        `the link opens a sign-in page (${first.status()})`);
  await axeCheck(page, 'sign-in link');
  await fitsNarrowScreen(page, 'sign-in link');
  await shot(page, 'login-link');
  const forged = await page.request.post(link, { form: {} });
  check(forged.status() === 403, `the link's POST without the CSRF token is refused (${forged.status()})`);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]:has-text("Sign in")')]);
  check(page.url().startsWith(`${base}/sessions`), `the link signs carol in (${page.url()})`);
  check((await page.textContent('header')).includes('carol'), 'the portal names carol as signed in');
  const cookie = (await context.cookies()).find((x) => x.name === '__Host-bastion');
  check(cookie && cookie.secure && cookie.httpOnly && cookie.sameSite === 'Strict',
        `the session cookie is the password sign-in's: Secure, HttpOnly, SameSite=Strict (${JSON.stringify(cookie)})`);

  // A second use, in another browser: refused with a page that says why.
  const other = await browser.newContext(contextOptions);
  const otherPage = await other.newPage();
  const again = await otherPage.goto(link);
  const text = await otherPage.textContent('main');
  check(again.status() === 410 && text.includes('already used') && text.includes('web-login'),
        `a second use of the link is refused with a page saying so (${again.status()}: ${text.trim().slice(0, 160)})`);
  await axeCheck(otherPage, 'used sign-in link');
  await shot(otherPage, 'login-link-reused');
  // Even the form of a tab opened before the first use signs nobody in now.
  await otherPage.goto(`${base}/sign-in`);
  const csrf = await otherPage.inputValue('input[name=csrf]');
  const late = await otherPage.request.post(link, { form: { csrf } });
  check(late.status() === 410, `posting the used link is refused (${late.status()})`);
  check(!(await other.cookies()).some((x) => x.name === '__Host-bastion'), 'the second browser got no session');
  await other.close();

  // Sorting. Default: newest start first, ids descending.
  await page.goto(`${base}/sessions`);
  let r = await rows(page);
  check(r.length >= 3 && r[0].id === last, `by default the newest session comes first (${JSON.stringify(r)})`);
  await sortBy(page, 'Duration');
  r = await rows(page);
  check(r[0].id === longOne, `sorted by duration, the 3-second session is first (${JSON.stringify(r)})`);
  check(await page.getAttribute('th[aria-sort]', 'aria-sort') === 'descending' &&
        (await page.textContent('th[aria-sort]')).includes('Duration'), 'the Duration heading says it sorts, descending');
  await axeCheck(page, 'sessions sorted by duration');
  await fitsNarrowScreen(page, 'sessions sorted by duration');
  await shot(page, 'sessions-by-duration');
  await sortBy(page, 'Duration');
  r = await rows(page);
  check(r[r.length - 1].id === longOne && page.url().includes('dir=asc'),
        `the same heading again sorts the other way: the long session last (${JSON.stringify(r)})`);

  await sortBy(page, 'Server');
  r = await rows(page);
  const servers = r.map((x) => x.server);
  const web1Ids = r.filter((x) => x.server === 'web1').map((x) => Number(x.id));
  check(JSON.stringify(servers) === JSON.stringify([...servers].sort()) && servers[servers.length - 1] === 'web9',
        `sorted by server, A to Z (${servers.join(', ')})`);
  check(web1Ids.every((id, i) => i === 0 || id > web1Ids[i - 1]), `ties keep session order, stable (${web1Ids})`);
  await shot(page, 'sessions-by-server');
  await sortBy(page, 'Server');
  r = await rows(page);
  check(r[0].id === onWeb9, `Z to A puts web9's session first (${JSON.stringify(r)})`);

  await sortBy(page, 'Start');
  r = await rows(page);
  const ids = r.map((x) => Number(x.id));
  check(ids.every((id, i) => i === 0 || id < ids[i - 1]), `by start, newest first (${ids})`);
  await sortBy(page, 'Start');
  r = await rows(page);
  check(r[0].id === longOne, `by start, oldest first (${JSON.stringify(r)})`);

  await sortBy(page, 'Operator');
  check(page.url().includes('sort=operator'), `the Operator heading sorts by operator (${page.url()})`);
  await sortBy(page, 'End');
  check(page.url().includes('sort=end'), `the End heading sorts by end (${page.url()})`);

  // A filter keeps the sort, and the sort keeps the filter.
  await page.goto(`${base}/sessions?sort=duration&dir=desc&server=web1`);
  r = await rows(page);
  check(r.length >= 2 && r.every((x) => x.server === 'web1') && r[0].id === longOne, 'filter and sort together');
  check((await page.inputValue('input[name=sort]')) === 'duration', 'the filter form carries the sort');

  // Anything else in the URL is no column: the default order, no error.
  const odd = await page.goto(`${base}/sessions?sort=${encodeURIComponent('id; DROP TABLE sessions')}&dir=sideways`);
  r = await rows(page);
  check(odd.status() === 200 && r[0].id === last, `an unknown sort falls back to newest first (${odd.status()})`);
});
