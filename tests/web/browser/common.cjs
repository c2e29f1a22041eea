// What the browser halves of the portal tests share (portal.cjs, officer.cjs): the environment,
// checks that count failures, TOTP codes from oathtool, axe-core, the 360 px rule, screenshots,
// the browser itself and the sign-in form.
'use strict';
const path = require('path');
const { execFileSync } = require('child_process');
const modules = process.env.WEB_NODE_MODULES;
const { chromium } = require(path.join(modules, 'playwright-core'));
const axePath = path.join(modules, 'axe-core', 'axe.min.js');

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

const state = { failures: 0 };
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) state.failures++;
}

// totp: the code oathtool computes for a base32 secret, `offset` seconds from now.
function totp(secret, offset = 0) {
  const args = ['--totp', '--base32'];
  if (offset) args.push('--now', new Date(Date.now() + offset * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC');
  args.push(secret);
  return execFileSync('oathtool', args, { encoding: 'utf8' }).trim();
}

async function axeCheck(page, name) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  const v = result.violations.map((x) => `${x.id}: ${x.help} (${x.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  check(v.length === 0, `axe-core finds no violation on the ${name} page${v.length ? ': ' + v.join('; ') : ''}`);
}

async function fitsNarrowScreen(page, name) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 360, `the ${name} page fits 360 px without scrolling sideways (scrollWidth ${width})`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(env('ARTIFACTS'), `${name}.png`), fullPage: true });
}

// launch: Debian's chromium, headless; contexts 360 px wide. bypassCSP only so that axe-core can
// be injected; the CSP header itself is checked by the tests.
async function launch() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
  });
  const contextOptions = { ignoreHTTPSErrors: true, viewport: { width: 360, height: 740 }, bypassCSP: true };
  return { browser, contextOptions };
}

async function signIn(page, base, account, pass, code) {
  await page.goto(`${base}/sign-in`);
  await page.fill('#account', account);
  await page.fill('#password', pass);
  await page.fill('#code', code);
  const [response] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  return response;
}

// enrol: sets the account's password through its one-time enrolment link.
async function enrol(page, url, password) {
  await page.goto(url);
  await page.fill('#password', password);
  await page.fill('#repeat', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

// main: runs a script's checks, body({ browser, context, contextOptions, page }), in a fresh
// chromium with a first page; an exception is a failed check (the run ended early). Then it closes
// the browser and exits with the number of failed checks (0: all passed).
function main(body) {
  (async () => {
    const { browser, contextOptions } = await launch();
    const context = await browser.newContext(contextOptions);
    const page = await context.newPage();
    try {
      await body({ browser, context, contextOptions, page });
    } catch (e) {
      check(false, `the browser run ended early: ${e.stack || e}`);
    } finally {
      await browser.close();
    }
    process.exit(state.failures);
  })();
}

// archiveMembers: the member names of a .tar.gz, and the text of one member.
function archiveMembers(file) {
  return execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
}
function archiveMember(file, member) {
  return execFileSync('tar', ['-xzOf', file, member], { encoding: 'utf8' });
}

// decryptExport: opens an encrypted export (.tar.gz.gpg) as its client would, with the stock gpg and
// the passphrase, in a GNUPGHOME of its own; returns the path of the clear .tar.gz. Throws if gpg fails.
function decryptExport(file, passphrase) {
  const fs = require('fs');
  const os = require('os');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bastion-gpg-'));
  fs.chmodSync(home, 0o700);
  const out = path.join(home, 'export.tar.gz');
  const gpgEnv = { ...process.env, GNUPGHOME: home };
  try {
    execFileSync('gpg', ['--batch', '--no-symkey-cache', '--pinentry-mode', 'loopback', '--passphrase-fd', '0',
                         '--output', out, '--decrypt', file], { input: passphrase + '\n', env: gpgEnv, stdio: ['pipe', 'ignore', 'pipe'] });
  } finally {
    try { execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: gpgEnv }); } catch (e) { /* no agent started */ }
  }
  return out;
}

module.exports = { env, state, check, totp, axeCheck, fitsNarrowScreen, shot, launch, main, signIn, enrol, archiveMembers,
                   archiveMember, decryptExport };
