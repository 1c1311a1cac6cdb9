// Drives the web client's Files and Send views (www/js/views/files.js,
// send.js) and the public share page (www/share.html) in Debian's chromium
// (headless, through playwright-core), and prints one JSON object with what
// it saw. Used by tests/integration/test_07_web_files.py, which makes the
// users and the files and asserts on the output.
//
//   node web_files.mjs --case files --base URL --file PATH --session JSON [--out DIR]
//   node web_files.mjs --case send --base URL --file PATH --session JSON
//        --peer-session JSON --peer-name NAME [--out DIR]
//
// --session / --peer-session: {"access_token","refresh_token","session_id",
// "user":{id,username,email,role}}: the refresh token goes into the context's
// HttpOnly cookie and the rest into localStorage, as the shell keeps them.
//
// Cases:
//   files  upload PATH in the Files view; at about a quarter the browser goes
//          offline (context.setOffline) while a PATCH is on its way, then
//          online again, and the upload goes on by itself; at about half a
//          PATCH is held and the page reloaded: the file is picked again and
//          the upload resumes from the server's tus offset. Then the file is
//          downloaded from the list (hash), a share link with a password is
//          made, opened in a third browser context without an account (wrong
//          password, then the right one; hash), revoked, and opened again.
//          Screenshots at desktop and phone width.
//   send   P2P from the Send view: the sender searches the peer, picks the
//          file, sends (mode auto); the peer accepts; both rows must show
//          progress; the peer saves the file (hash).
//
// Output (stdout, last line): {"ok": true, ...} or {"ok": false, "error",
// "partial"} with exit status 1. Each page's console errors are in "errors"
// (a 4xx answer logs "Failed to load resource" in chromium: the test names
// the ones it expects).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import * as common from './common.mjs';
import { CHROMIUM, CHROMIUM_ARGS, WEBRTC_ARGS, sha256, sleep } from './common.mjs';

const ARGS = [...CHROMIUM_ARGS, ...WEBRTC_ARGS];
const MIB = 1024 * 1024;
const DESKTOP = { width: 1100, height: 900 };
const PHONE = { width: 390, height: 844 };

function parseArgs(argv) {
  return common.parseArgs(argv, ['case']);
}

const sha256File = (p) => sha256(fs.readFileSync(p));
const now = () => performance.now();
const T0 = performance.now();

// A context (fresh profile) for one person; session: held as the web client
// holds it, the refresh token in its HttpOnly cookie and the rest in
// localStorage, put there before the first page runs (only when absent, so
// a reload keeps the tokens the page may have rotated). Two contexts given
// the same session share its refresh token; neither spends it while the
// access token lasts.
async function person(browser, label, session, opts = {}) {
  const ctx = await browser.newContext({ acceptDownloads: true, viewport: DESKTOP, ...opts });
  if (session) {
    const { refresh_token: rt, ...kept } = JSON.parse(session);
    if (rt) {
      await ctx.addCookies([{ name: 'hs_refresh', value: rt, domain: new URL(ARGV.base).hostname,
        path: '/api/v1/auth/refresh', httpOnly: true, sameSite: 'Strict' }]);
      kept.cookie = true;
    }
    await ctx.addInitScript(([k, v]) => {
      if (!localStorage.getItem(k)) localStorage.setItem(k, v);
    }, ['hs.session', JSON.stringify(kept)]);
  }
  const page = await ctx.newPage();
  const errors = [];
  const failed = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    // the socket closing on exit or while offline is not an error of the page
    if (!/\/ws(\?|$)/.test(r.url())) failed.push(`${r.method()} ${new URL(r.url()).pathname} ${r.failure() && r.failure().errorText} @${Math.round(now())}`);
  });
  return { label, ctx, page, errors, failed };
}

// Records every change of data-bytes of the elements matching sel (with
// the percent, speed and time left shown then) in window.hsSeen.
async function watchMeters(page, sel) {
  await page.evaluate((s) => {
    window.hsSeen = [];
    new MutationObserver((muts) => {
      for (const m of muts) {
        const el = m.target;
        if (!el.classList || !el.classList.contains('meter')) continue;
        const row = el.closest(s);
        if (!row) continue;
        window.hsSeen.push({ bytes: Number(el.dataset.bytes), state: row.dataset.state || null,
          pct: el.querySelector('.pct').textContent, speed: el.querySelector('.speed').textContent,
          eta: el.querySelector('.eta').textContent, t: Math.round(performance.now()) });
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-bytes'] });
  }, sel);
}

const seen = (page) => page.evaluate(() => window.hsSeen || []);

// -- files ---------------------------------------------------------------------------

async function filesCase(a, browser, out, people) {
  const base = a.base;
  const file = a.file;
  const size = fs.statSync(file).size;
  const name = path.basename(file);
  out.size = size;
  out.source_sha256 = sha256File(file);
  const O = await person(browser, 'owner', a.session);
  people.push(O);
  const { page } = O;
  const shot = (n, p = page, full = false) => p.screenshot({ path: path.join(a.out, `files-${n}.png`), fullPage: full });

  // Every PATCH of the upload, as the page sends it; the interruptions.
  const patches = []; // {offset, phase}
  let phase = 'first';
  let offlineAt = null;
  let heldReload = null;
  const reloadNow = {};
  reloadNow.promise = new Promise((r) => { reloadNow.resolve = r; });
  await O.ctx.route('**/api/v1/files/tus/*', async (route) => {
    const req = route.request();
    if (req.method() !== 'PATCH') return route.continue();
    const offset = Number(req.headers()['upload-offset']);
    patches.push({ offset, phase });
    if (phase === 'first' && offset >= size * 0.2) {
      // Offline while this PATCH is on its way.
      phase = 'offline';
      offlineAt = offset;
      await O.ctx.setOffline(true);
      return route.abort('internetdisconnected');
    }
    if (phase === 'resumed' && offset >= size * 0.5) {
      // Held until the page is reloaded: never reaches the server.
      phase = 'reload';
      heldReload = route;
      reloadNow.resolve(offset);
      return undefined;
    }
    return route.continue();
  });

  await page.goto(`${base}/#/files`);
  await page.locator('.files-view').waitFor({ timeout: 15000 });
  await page.locator('#conn[data-state="open"]').waitFor({ timeout: 10000 }).catch(() => {});
  await watchMeters(page, '.upload, .file');
  const mark = (l) => out.log.push(`${l} @${Math.round(now())}`);
  mark('files view up');

  const tStart = now();
  mark('pick');
  await page.setInputFiles('#files-input', file);
  const row = page.locator(`.upload[data-name="${name}"]`);
  await row.waitFor({ timeout: 5000 });
  await page.waitForFunction((n) => {
    const el = document.querySelector(`.upload[data-name="${n}"] .meter`);
    return el && Number(el.dataset.bytes) > 0;
  }, name, { timeout: 15000, polling: 20 });
  await shot('uploading');

  // 1. offline mid-way: the page says so and stops; online: it goes on.
  await page.locator(`.upload[data-name="${name}"][data-state="offline"]`).waitFor({ timeout: 15000 });
  out.offline = {
    at: offlineAt,
    status: await row.locator('.status').textContent(),
    bytes_shown: Number(await row.locator('.meter').getAttribute('data-bytes')),
    navigator_online: await page.evaluate(() => navigator.onLine),
  };
  mark('offline shown');
  await shot('offline');
  await sleep(300);
  phase = 'resumed';
  await O.ctx.setOffline(false);
  const resumedAfterOffline = now();
  await page.locator(`.upload[data-name="${name}"][data-state="uploading"]`).waitFor({ timeout: 10000 });
  out.offline.resume_ms = Math.round(now() - resumedAfterOffline);

  // 2. a reload mid-way: pick the same file again, the upload goes on
  // from the server's offset.
  const heldAt = await Promise.race([reloadNow.promise, sleep(30000).then(() => null)]);
  if (heldAt === null) throw new Error('the upload never reached half-way after going online');
  mark('held for reload');
  await shot('before-reload');
  const seenBefore = await seen(page);
  phase = 'after-reload';
  await page.reload();
  heldReload.abort().catch(() => {});
  await page.locator('.files-view').waitFor({ timeout: 15000 });
  await page.locator('.unfinished li').first().waitFor({ timeout: 10000 });
  out.unfinished_listed = await page.locator('.unfinished li').first().getAttribute('data-name');
  await page.locator('.unfinished li').first().locator('text=/on the server/').waitFor({ timeout: 5000 }).catch(() => {});
  out.unfinished_text = (await page.locator('.unfinished').textContent()).replace(/\s+/g, ' ').trim();
  mark('reloaded');
  await shot('unfinished-after-reload');
  await watchMeters(page, '.upload, .file');
  await page.setInputFiles('#files-input', file);
  await page.locator(`.upload[data-name="${name}"][data-resumed-from]`).waitFor({ timeout: 10000 });
  out.reload = { held_at: heldAt,
    resumed_from: Number(await row.getAttribute('data-resumed-from')) };
  await page.locator(`.upload[data-name="${name}"][data-state="done"]`).waitFor({ timeout: 60000 });
  out.upload_ms = Math.round(now() - tStart);
  out.upload = { status: await row.locator('.status').textContent(),
    pct: await row.locator('.pct').textContent(), speed: await row.locator('.speed').textContent() };
  const after = patches.filter((p) => p.phase === 'after-reload');
  out.reload.first_patch_offset = after.length ? after[0].offset : null;
  out.reload.patches_after = after.length;
  out.reload.bytes_sent_after = size - (after.length ? after[0].offset : 0);
  out.patches = patches;
  out.seen = [...seenBefore, ...(await seen(page))];
  mark('uploaded');
  await shot('uploaded');

  // 3. the file in the list: download it through the view.
  const item = page.locator(`li.file[data-name="${name}"]`);
  await item.waitFor({ timeout: 10000 });
  out.file_id = await item.getAttribute('data-file-id');
  out.list_meta = await item.locator('.meta').textContent();
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }),
    item.locator('button.download').click()]);
  const saved = await dl.path();
  out.download = { filename: dl.suggestedFilename(), sha256: sha256File(saved) };
  fs.rmSync(saved, { force: true });

  mark('downloaded');
  // 4. a share link with a password and a limit of 3.
  await item.locator('button.share').click();
  const panel = item.locator('.links');
  await panel.waitFor({ timeout: 5000 });
  await panel.locator('select').selectOption(String(86400));
  await panel.locator('input[type="number"]').fill('3');
  await panel.locator('input[type="password"]').fill('open sesame');
  await panel.locator('button[type="submit"]').click();
  await panel.locator('.link-new:not([hidden])').waitFor({ timeout: 5000 });
  const url = await panel.locator('input.link-url').inputValue();
  out.share_url = url;
  out.links_listed = await panel.locator('.link-list li').count();
  await shot('share-link', page, true);

  mark('link made');
  // 5. someone without an account opens it.
  const A = await person(browser, 'anonymous', null, { viewport: PHONE });
  people.push(A);
  await A.page.goto(url);
  await A.page.locator('#download').waitFor({ timeout: 10000 });
  out.share_page = { name: await A.page.locator('#name').textContent(),
    size: await A.page.locator('#size').textContent(),
    password_asked: await A.page.locator('#password').isVisible() };
  await A.page.screenshot({ path: path.join(a.out, 'share-page-phone.png'), fullPage: true });
  await A.page.fill('#password', 'not it');
  await A.page.click('#download');
  await A.page.locator('#message:not([hidden])').waitFor({ timeout: 5000 });
  out.share_page.wrong_password = await A.page.locator('#message').textContent();
  await A.page.fill('#password', 'open sesame');
  const [dl2] = await Promise.all([A.page.waitForEvent('download', { timeout: 30000 }),
    A.page.click('#download')]);
  const saved2 = await dl2.path();
  out.share_download = { filename: dl2.suggestedFilename(), sha256: sha256File(saved2),
    shown_name: await A.page.locator('#name').textContent(),
    shown_size: await A.page.locator('#size').textContent(),
    pct: await A.page.locator('.pct').textContent() };
  fs.rmSync(saved2, { force: true });
  await A.page.screenshot({ path: path.join(a.out, 'share-page-downloaded.png'), fullPage: true });

  mark('shared download');
  // 6. the owner sees the download counted, revokes; the page says so.
  await page.reload();
  await page.locator(`li.file[data-name="${name}"]`).waitFor({ timeout: 10000 });
  await item.locator('button.share').click();
  await item.locator('.link-list li').first().waitFor({ timeout: 5000 });
  out.link_desc = (await item.locator('.link-list li .link-desc').first().textContent()).trim();
  await item.locator('.link-list li button.danger').first().click();
  await item.locator('.link-list li').first().waitFor({ state: 'detached', timeout: 5000 });
  const B = await person(browser, 'anonymous2', null);
  people.push(B);
  await B.page.goto(url);
  await B.page.fill('#password', 'open sesame');
  await B.page.click('#download');
  await B.page.locator('#message:not([hidden])').waitFor({ timeout: 5000 });
  out.revoked_message = await B.page.locator('#message').textContent();
  out.revoked_button_disabled = await B.page.locator('#download').isDisabled();

  mark('revoked');
  // 7. phone width.
  await page.setViewportSize(PHONE);
  await shot('phone', page, true);
  await page.setViewportSize(DESKTOP);
  await shot('desktop', page, true);

  mark('phone');
  // 8. keyboard: Tab reaches the file input and the row's buttons.
  out.focusable = await page.evaluate(() => [...document.querySelectorAll('.files-view button, .files-view input')]
    .filter((e) => e.tabIndex >= 0 && !e.disabled && (e.offsetParent !== null || e.id === 'files-input')).length);
}

// -- send ----------------------------------------------------------------------------

async function sendCase(a, browser, out, people) {
  const base = a.base;
  const file = a.file;
  const size = fs.statSync(file).size;
  out.size = size;
  out.source_sha256 = sha256File(file);
  const [S, R] = await Promise.all([person(browser, 'sender', a.session),
    person(browser, 'recipient', a['peer-session'])]);
  people.push(S, R);
  for (const p of [S, R]) {
    await p.page.goto(`${base}/#/send`);
    await p.page.locator('.send-view').waitFor({ timeout: 15000 });
    await p.page.locator('#conn[data-state="open"]').waitFor({ timeout: 10000 });
    await watchMeters(p.page, '.transfer');
  }
  await S.page.fill('#send-to', a['peer-name'].slice(0, 8));
  await S.page.locator(`#send-results button[data-username="${a['peer-name']}"]`).click();
  out.chosen = await S.page.locator('#send-chosen').textContent();
  await S.page.setInputFiles('#send-file', file);
  await S.page.click('#send-submit');
  const offer = R.page.locator('.offer').first();
  await offer.waitFor({ timeout: 20000 });
  const id = await offer.getAttribute('data-transfer-id');
  out.transfer_id = id;
  out.offer_text = (await offer.locator('.what').textContent()).replace(/\s+/g, ' ').trim();
  await R.page.screenshot({ path: path.join(a.out, 'send-offer.png') });
  const tAccept = now();
  await offer.locator('.accept').click();
  const mid = (async () => {
    try {
      await R.page.waitForFunction((tid) => {
        const el = document.querySelector(`.transfer[data-transfer-id="${tid}"]`);
        return el && Number(el.dataset.bytes) > 0;
      }, id, { timeout: 30000, polling: 20 });
      await Promise.all([S.page.screenshot({ path: path.join(a.out, 'send-sender-progress.png') }),
        R.page.screenshot({ path: path.join(a.out, 'send-recipient-progress.png') })]);
    } catch (e) {
      out.log.push(`no mid-transfer screenshot: ${e.message.split('\n')[0]}`);
    }
  })();
  const done = (p) => p.page.locator(`.transfer[data-transfer-id="${id}"][data-state="completed"]`)
    .waitFor({ timeout: 60000 });
  await Promise.all([done(S), done(R)]);
  await mid;
  out.accept_to_done_ms = Math.round(now() - tAccept);
  for (const [k, p] of [['sender', S], ['recipient', R]]) {
    const el = p.page.locator(`.transfer[data-transfer-id="${id}"]`);
    out[k] = { path: await el.getAttribute('data-path'), bytes: Number(await el.getAttribute('data-bytes')),
      sha256: await el.locator('.sha256').textContent().catch(() => null),
      pct: await el.locator('.pct').textContent(), status: await el.locator('.status').first().textContent(),
      fallback_shown: await el.locator('.fallback').isVisible(),
      seen: await seen(p.page) };
  }
  const link = R.page.locator(`.transfer[data-transfer-id="${id}"] a.download`);
  const [dl] = await Promise.all([R.page.waitForEvent('download'), link.click()]);
  out.download = { filename: dl.suggestedFilename(), sha256: sha256File(await dl.path()) };
  await Promise.all([
    S.page.screenshot({ path: path.join(a.out, 'send-sender.png'), fullPage: true }),
    R.page.screenshot({ path: path.join(a.out, 'send-recipient.png'), fullPage: true }),
  ]);
  await R.page.setViewportSize(PHONE);
  await R.page.screenshot({ path: path.join(a.out, 'send-recipient-phone.png'), fullPage: true });
  await R.ctx.close();

  // The fallback: a recipient whose WebRTC never answers; mode auto gives
  // up on the direct path after relay_after (1.5 s) and both pages say so.
  if (!a['small-file']) return;
  const R2 = await person(browser, 'recipient2', a['peer-session']);
  people.push(R2);
  await R2.ctx.addInitScript(() => {
    RTCPeerConnection.prototype.setRemoteDescription = function hangs() {
      return new Promise(() => {});
    };
  });
  for (const p of [S, R2]) {
    await p.page.goto(`${base}/?relay_after=1500#/send`);
    await p.page.locator('#conn[data-state="open"]').waitFor({ timeout: 10000 });
  }
  await S.page.fill('#send-to', a['peer-name']);
  await S.page.locator(`#send-results button[data-username="${a['peer-name']}"]`).click();
  await S.page.setInputFiles('#send-file', a['small-file']);
  await S.page.click('#send-submit');
  const offer2 = R2.page.locator('.offer').first();
  await offer2.waitFor({ timeout: 20000 });
  const id2 = await offer2.getAttribute('data-transfer-id');
  await offer2.locator('.accept').click();
  await Promise.all([S, R2].map((p) => p.page.locator(`.transfer[data-transfer-id="${id2}"][data-state="completed"]`)
    .waitFor({ timeout: 30000 })));
  out.fallback = { small_sha256: sha256File(a['small-file']) };
  for (const [k, p] of [['sender', S], ['recipient', R2]]) {
    const el = p.page.locator(`.transfer[data-transfer-id="${id2}"]`);
    out.fallback[k] = { path: await el.getAttribute('data-path'), flagged: await el.getAttribute('data-fallback'),
      text: await el.locator('.fallback').textContent(), visible: await el.locator('.fallback').isVisible(),
      sha256: await el.locator('.sha256').textContent().catch(() => null) };
  }
  await Promise.all([
    S.page.screenshot({ path: path.join(a.out, 'send-fallback-sender.png'), fullPage: true }),
    R2.page.screenshot({ path: path.join(a.out, 'send-fallback-recipient.png'), fullPage: true }),
  ]);
}

const ARGV = parseArgs(process.argv.slice(2));

async function main() {
  const a = ARGV;
  a.out = a.out || fs.mkdtempSync(path.join(os.tmpdir(), 'hs-web-out-'));
  fs.mkdirSync(a.out, { recursive: true });
  const out = { case: a.case, log: [] };
  const people = [];
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const run = { files: filesCase, send: sendCase }[a.case];
    if (!run) throw new Error(`unknown case ${a.case}`);
    await run(a, browser, out, people);
    out.errors = Object.fromEntries(people.map((p) => [p.label, p.errors]));
    out.failed_requests = Object.fromEntries(people.map((p) => [p.label, p.failed]));
    out.log.push(`end @${Math.round(now())}`);
    process.stdout.write(`${JSON.stringify({ ok: true, ...out })}\n`);
  } catch (e) {
    out.errors = Object.fromEntries(people.map((p) => [p.label, p.errors]));
    out.failed_requests = Object.fromEntries(people.map((p) => [p.label, p.failed]));
    for (const p of people) {
      try {
        await p.page.screenshot({ path: path.join(a.out, `${a.case}-${p.label}-error.png`), fullPage: true });
      } catch (e2) {
        /* the page may be gone */
      }
    }
    process.stdout.write(`${JSON.stringify({ ok: false, case: a.case, error: String(e.stack || e), partial: out })}\n`);
    process.exitCode = 1;
  } finally {
    await browser.close().catch(() => {});
  }
}

main();
