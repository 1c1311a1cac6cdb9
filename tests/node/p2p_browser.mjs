// Drives www/p2p.html in Debian's chromium (headless, through playwright-core)
// as two people in two browsers with fresh profiles, and prints one JSON
// object with what it saw. Used by tests/integration/test_06_browser.py,
// which makes the users and the file and asserts on the output.
//
//   node p2p_browser.mjs --case direct|relay|auto|offers|cancel --base URL --file PATH
//        --recipient-name N --recipient-pass P --recipient-token T
//        --sender-name N --sender-pass P [--sender-email E (register in the page)]
//        [--sender-token T] [--rundir DIR] [--out DIR] [--relay-after MS]
//   node p2p_browser.mjs --case crypto
//
// Cases:
//   direct  mode "direct": WebRTC DataChannel between the two browsers
//   relay   mode "relay": encrypted upload and download; while the recipient's
//           download is held back (page.route) the stored ciphertext is read
//           from <rundir>/data/files/<last two hex digits>/<file id>
//   auto    mode "auto" with the recipient's WebRTC answer never coming (its
//           setRemoteDescription hangs): the sender must fall back to the
//           relay after --relay-after ms
//   offers  no transfer: a wrong password, an unknown recipient, a rejected
//           offer and one the sender cancels, as each page shows them
//   cancel  mode "relay", cancelled by the sender during its upload: the
//           partial upload must be removed
//   crypto  no browser: p2p-relay.js's relay format against an independent
//           implementation (node:crypto ECDH, HKDF, AES-256-GCM) built from
//           docs/p2p.md alone
//
// Output (stdout, last line): {"ok": true, "case": ..., ...} or
// {"ok": false, "error": ..., "partial": {...}} with exit status 1. For the
// transfer cases: the transfer id, each page's row ("sender", "recipient":
// state, path, shown SHA-256, speed, every data-bytes/data-state/data-path
// change the page made in "seen"), the saved file's hash ("download"), the
// transfer as GET /api/v1/p2p/{id} ends ("final"), timings
// (accept_to_done_ms...), "relay" (what was read on the server while the
// download was held), each page's console errors ("errors"). Screenshots go
// to --out.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import * as common from './common.mjs';
import { CHROMIUM, CHROMIUM_ARGS, WEBRTC_ARGS, sha256, sleep } from './common.mjs';

const ARGS = [...CHROMIUM_ARGS, ...WEBRTC_ARGS];
const FINAL = ['completed', 'failed', 'cancelled', 'rejected', 'expired'];

function parseArgs(argv) {
  return common.parseArgs(argv, ['case']);
}

const now = () => performance.now();

// -- the relay format, independently ----------------------------------------

// Loads an ES module of the web client (www/js, no build step) in Node.
// www/ is no package with "type": "module", so Node 18 (Debian 12's) would
// read a .js file there as CommonJS; its source is imported as an ES module
// instead (the module imports nothing). Browsers have Web Crypto as a global,
// Node 18 only as node:crypto's webcrypto.
async function importWebModule(rel) {
  if (!globalThis.crypto?.subtle) globalThis.crypto = crypto.webcrypto;
  const src = fs.readFileSync(new URL(rel, import.meta.url), 'utf8');
  return import(`data:text/javascript;base64,${Buffer.from(src).toString('base64')}`);
}

async function cryptoCase() {
  const p2p = await importWebModule('../../www/js/p2p-relay.js');
  const id = crypto.randomBytes(12).toString('hex');
  const out = { cases: [] };
  // The module's key pair on one side, node's ECDH on the other.
  const mine = await p2p.makeKeyPair();
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  const peerPub = ecdh.getPublicKey(); // 65 bytes, uncompressed
  const key = await p2p.deriveFileKey(mine.pair.privateKey, p2p.b64url(peerPub), id);
  const secret = ecdh.computeSecret(Buffer.from(p2p.unb64url(mine.publicKey)));
  const fileKey = Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.from(id, 'utf8'),
    Buffer.from('hypersend-p2p-v1', 'utf8'), 32));
  out.public_key_len = p2p.unb64url(mine.publicKey).length;
  const CS = 65536;
  for (const size of [0, 1, CS - 1, CS, CS + 1, 3 * CS + 1234]) {
    const plain = crypto.randomBytes(size);
    const parts = [];
    for await (const part of p2p.encryptBlob(new Blob([plain]), key)) parts.push(Buffer.from(part));
    const ct = Buffer.concat(parts);
    const r = { size, ct_size: ct.length, expected_size: 16 + size + 16 * Math.max(1, Math.ceil(size / CS)) };
    // header: "HSP2P1" 0 0 | u32 BE chunk size | 0
    const header = ct.subarray(0, 16);
    r.header_ok = header.subarray(0, 8).equals(Buffer.from('HSP2P1\0\0', 'latin1'))
      && header.readUInt32BE(8) === CS && header.readUInt32BE(12) === 0;
    // decrypt each chunk with node:crypto: nonce 0^4 | u64 BE i; aad header | u64 BE i | last
    const n = Math.max(1, Math.ceil(size / CS));
    const got = [];
    let at = 16;
    r.node_decrypts = true;
    for (let i = 0; i < n; i += 1) {
      const len = i < n - 1 ? CS : size - i * CS;
      const nonce = Buffer.alloc(12);
      nonce.writeBigUInt64BE(BigInt(i), 4);
      const aad = Buffer.alloc(25);
      header.copy(aad, 0);
      aad.writeBigUInt64BE(BigInt(i), 16);
      aad[24] = i === n - 1 ? 1 : 0;
      const d = crypto.createDecipheriv('aes-256-gcm', fileKey, nonce);
      d.setAAD(aad);
      d.setAuthTag(ct.subarray(at + len, at + len + 16));
      try {
        got.push(d.update(ct.subarray(at, at + len)), d.final());
      } catch (e) {
        r.node_decrypts = false;
        break;
      }
      at += len + 16;
    }
    r.node_plain_ok = r.node_decrypts && Buffer.concat(got).equals(plain) && at === ct.length;
    // and the module decrypts it back, fed in odd-sized pieces
    const buf = new Uint8Array(size);
    const dec = new p2p.RelayDecryptor(key, buf);
    for (let o = 0; o < ct.length; o += 7777) await dec.push(new Uint8Array(ct.subarray(o, o + 7777)));
    await dec.finish();
    r.module_roundtrip_ok = Buffer.from(buf).equals(plain);
    // tampering: a flipped bit, a dropped last chunk, two chunks swapped
    const refuse = async (bytes, outSize = size) => {
      try {
        const d2 = new p2p.RelayDecryptor(key, new Uint8Array(outSize));
        await d2.push(new Uint8Array(bytes));
        await d2.finish();
        return false;
      } catch (e) {
        return true;
      }
    };
    const flipped = Buffer.from(ct);
    flipped[flipped.length - 20] ^= 1;
    r.flip_refused = await refuse(flipped);
    if (n >= 2) {
      const full = 16 + (n - 1) * (CS + 16);
      r.truncation_refused = await refuse(ct.subarray(0, full), (n - 1) * CS);
      const swapped = Buffer.concat([ct.subarray(0, 16), ct.subarray(16 + CS + 16, 16 + 2 * (CS + 16)),
        ct.subarray(16, 16 + CS + 16), ct.subarray(16 + 2 * (CS + 16))]);
      r.swap_refused = n >= 3 ? await refuse(swapped) : null;
    }
    out.cases.push(r);
  }
  return out;
}

// -- the browsers ----------------------------------------------------------------

async function rest(base, method, p, token, body) {
  const res = await fetch(`${base}/api/v1${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// A browser of its own (a fresh profile folder) for one person.
async function person(label, profiles, log, initScript) {
  const dir = fs.mkdtempSync(path.join(profiles, `${label}-`));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true, args: ARGS, acceptDownloads: true,
    viewport: { width: 1100, height: 950 },
  });
  if (initScript) await ctx.addInitScript(initScript);
  const page = ctx.pages()[0] || await ctx.newPage();
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    // a download the test itself holds or a socket closed on exit is not an error of the page
    if (!/\/ws/.test(r.url())) errors.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure() && r.failure().errorText}`);
  });
  log.push(`${label}: browser up`);
  return { label, ctx, page, errors };
}

// Signs in (or registers) through the page's own form, then records every
// change of the transfer rows' data-bytes / data-state.
async function signIn(p, base, a, relayAfter) {
  const { page } = p;
  await page.goto(`${base}/p2p.html?relay_after=${relayAfter}`);
  if (a.email) {
    await page.click('#tab-register');
    await page.fill('#register-username', a.name);
    await page.fill('#register-email', a.email);
    await page.fill('#register-password', a.pass);
    await page.click('#register-submit');
  } else {
    await page.fill('#login-username', a.name);
    await page.fill('#login-password', a.pass);
    await page.click('#login-submit');
  }
  await page.locator('#app').waitFor({ state: 'visible', timeout: 15000 });
  await page.locator('#conn.open').waitFor({ timeout: 10000 });
  await page.evaluate(() => {
    window.hsSeen = [];
    const box = document.getElementById('transfers');
    new MutationObserver((muts) => {
      for (const m of muts) {
        const el = m.target;
        if (!el.classList || !el.classList.contains('transfer')) continue;
        window.hsSeen.push({ id: el.dataset.transferId, role: el.dataset.role,
          bytes: Number(el.dataset.bytes), state: el.dataset.state, path: el.dataset.path || null,
          pct: el.querySelector('.pct').textContent, speed: el.querySelector('.speed').textContent,
          eta: el.querySelector('.eta').textContent, t: performance.now() });
      }
    }).observe(box, { subtree: true, attributes: true, attributeFilter: ['data-bytes', 'data-state', 'data-path'] });
  });
}

async function rowInfo(page, id) {
  return page.evaluate((tid) => {
    const el = document.querySelector(`.transfer[data-transfer-id="${tid}"]`);
    if (!el) return null;
    const q = (s) => el.querySelector(s);
    return { role: el.dataset.role, state: el.dataset.state, path: el.dataset.path || null,
      bytes: Number(el.dataset.bytes), elapsed_ms: Number(el.dataset.elapsedMs || 0),
      pct: q('.pct').textContent, speed: q('.speed').textContent, eta: q('.eta').textContent,
      status: q('.status').textContent, sha256: q('.sha256').textContent,
      progress_value: q('progress').value,
      seen: (window.hsSeen || []).filter((s) => s.id === tid) };
  }, id);
}

// Runs body(profiles, people) with a fresh folder for the browser profiles;
// whatever happens the people's contexts are closed and the folder removed.
// A failure carries the result so far (e.partial) and every person's console
// errors, and with shots a screenshot of each page (shots(label) its path).
async function withPeople(result, body, shots = null) {
  const profiles = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-p2p-profiles-'));
  const people = [];
  try {
    return await body(profiles, people);
  } catch (e) {
    result.errors = Object.fromEntries(people.map((p) => [p.label, p.errors]));
    for (const p of shots ? people : []) {
      try {
        await p.page.screenshot({ path: shots(p.label), fullPage: true });
      } catch (e2) {
        /* the browser may be gone */
      }
    }
    e.partial = result;
    throw e;
  } finally {
    await Promise.all(people.map((p) => p.ctx.close().catch(() => {})));
    fs.rmSync(profiles, { recursive: true, force: true });
  }
}

async function browserCase(a) {
  const base = a.base;
  const mode = a.case === 'direct' ? 'direct' : a.case === 'relay' ? 'relay' : 'auto';
  const relayAfter = Number(a['relay-after'] || (a.case === 'auto' ? 1500 : 15000));
  const outDir = a.out || fs.mkdtempSync(path.join(os.tmpdir(), 'hs-p2p-out-'));
  fs.mkdirSync(outDir, { recursive: true });
  const plain = fs.readFileSync(a.file);
  const size = plain.length;
  const result = { case: a.case, mode, size, source_sha256: sha256(plain), log: [] };
  return withPeople(result, async (profiles, people) => {
    // The recipient of case auto never completes a WebRTC handshake.
    const hang = a.case === 'auto' ? () => {
      RTCPeerConnection.prototype.setRemoteDescription = function hangs() {
        return new Promise(() => {});
      };
    } : null;
    const [S, R] = await Promise.all([person('sender', profiles, result.log, null),
      person('recipient', profiles, result.log, hang)]);
    people.push(S, R);
    await Promise.all([
      signIn(S, base, { name: a['sender-name'], pass: a['sender-pass'], email: a['sender-email'] }, relayAfter),
      signIn(R, base, { name: a['recipient-name'], pass: a['recipient-pass'] }, relayAfter),
    ]);
    result.log.push('both signed in');

    // The sender picks the recipient from the search, the file and the mode.
    await S.page.fill('#to', a['recipient-name'].slice(0, 8));
    await S.page.locator(`#to-results button[data-username="${a['recipient-name']}"]`).click();
    await S.page.setInputFiles('#file', a.file);
    await S.page.check(`input[name="mode"][value="${mode}"]`);
    const tSend = now();
    await S.page.click('#send');
    const offer = R.page.locator('.offer').first();
    await offer.waitFor({ timeout: 20000 });
    const id = await offer.getAttribute('data-transfer-id');
    result.transfer_id = id;
    result.offer_text = (await offer.locator('.what').textContent()).replace(/\s+/g, ' ').trim();
    result.offer_ms = Math.round(now() - tSend);
    await R.page.screenshot({ path: path.join(outDir, `${a.case}-recipient-offer.png`) });

    // Relay: hold the recipient's download until the stored ciphertext has been read.
    if (a.case === 'relay') {
      result.relay = {};
      await R.page.route('**/api/v1/p2p/*/download', async (route) => {
        const r = result.relay;
        const held = now();
        try {
          const info = await rest(base, 'GET', `/p2p/${id}`, a['recipient-token']);
          r.state_during = info.body.state;
          r.bytes_during = info.body.bytes_transferred;
          r.file_id = info.body.relay_file_id;
          r.blob_path = path.join(a.rundir, 'data', 'files', r.file_id.slice(-2), r.file_id);
          const blob = fs.readFileSync(r.blob_path);
          r.blob_size = blob.length;
          r.blob_sha256 = sha256(blob);
          r.header_hex = blob.subarray(0, 16).toString('hex');
          r.first_chunk_is_plaintext = blob.subarray(16, 16 + 65536).equals(plain.subarray(0, 65536));
          r.plaintext_prefix_found = blob.indexOf(plain.subarray(0, 64)) >= 0;
          r.plaintext_middle_found = blob.indexOf(plain.subarray(size >> 1, (size >> 1) + 64)) >= 0;
          const list = await rest(base, 'GET', '/files/list?limit=100', a['sender-token']);
          r.sender_list_status = list.status;
          r.in_sender_list = (list.body.items || []).some((f) => f.id === r.file_id);
          const after = await rest(base, 'GET', `/p2p/${id}`, a['recipient-token']);
          r.state_after_read = after.body.state;
          await S.page.screenshot({ path: path.join(outDir, 'relay-sender-uploaded.png') });
        } catch (e) {
          r.error = String(e.stack || e);
        }
        r.hold_ms = Math.round(now() - held);
        await route.continue();
      });
    }

    const tAccept = now();
    await offer.locator('.accept').click();
    const done = (p) => p.page.locator(`.transfer[data-transfer-id="${id}"]:is(${FINAL.map((s) => `[data-state="${s}"]`).join(',')})`)
      .waitFor({ timeout: Number(a.timeout || 60000) });
    // A screenshot of both while bytes are moving (best effort).
    const mid = (async () => {
      try {
        await R.page.waitForFunction((tid) => {
          const el = document.querySelector(`.transfer[data-transfer-id="${tid}"]`);
          return el && Number(el.dataset.bytes) > 0;
        }, id, { timeout: 30000, polling: 20 });
        await Promise.all([S.page.screenshot({ path: path.join(outDir, `${a.case}-sender-progress.png`) }),
          R.page.screenshot({ path: path.join(outDir, `${a.case}-recipient-progress.png`) })]);
      } catch (e) {
        result.log.push(`no mid-transfer screenshot: ${e.message.split('\n')[0]}`);
      }
    })();
    await Promise.all([done(R), done(S)]);
    const tDone = now();
    await mid;
    result.accept_to_done_ms = Math.round(tDone - tAccept);
    result.send_to_done_ms = Math.round(tDone - tSend);
    result.sender = await rowInfo(S.page, id);
    result.recipient = await rowInfo(R.page, id);

    // The file as the recipient saves it.
    const link = R.page.locator(`.transfer[data-transfer-id="${id}"] a.download`);
    if (await link.isVisible()) {
      const [dl] = await Promise.all([R.page.waitForEvent('download'), link.click()]);
      const saved = await dl.path();
      result.download = { filename: dl.suggestedFilename(), sha256: sha256(fs.readFileSync(saved)),
        href_scheme: (await link.getAttribute('href')).split(':')[0] };
    }
    await Promise.all([
      S.page.screenshot({ path: path.join(outDir, `${a.case}-sender.png`), fullPage: true }),
      R.page.screenshot({ path: path.join(outDir, `${a.case}-recipient.png`), fullPage: true }),
    ]);
    const fin = await rest(base, 'GET', `/p2p/${id}`, a['recipient-token']);
    result.final = fin.body;
    if (result.relay && result.relay.blob_path) {
      const deadline = now() + 3000;
      while (fs.existsSync(result.relay.blob_path) && now() < deadline) await sleep(50);
      result.relay.blob_gone = !fs.existsSync(result.relay.blob_path);
    }
    result.screenshots = fs.readdirSync(outDir).filter((f) => f.startsWith(a.case)).sort();
    result.errors = { sender: S.errors, recipient: R.errors };
    return result;
  }, (label) => path.join(outDir, `${a.case}-${label}-error.png`));
}

// Offers that do not become transfers, and the errors a person sees: a wrong
// password (the API's message), an unknown recipient, a rejected offer, an
// offer the sender cancels (it leaves the recipient's list).
async function offersCase(a) {
  const base = a.base;
  const result = { case: a.case, log: [] };
  const row = (p, id, state = null) => p.page.locator(
    `.transfer[data-transfer-id="${id}"]${state ? `[data-state="${state}"]` : ''}`);
  return withPeople(result, async (profiles, people) => {
    const [S, R] = await Promise.all([person('sender', profiles, result.log, null),
      person('recipient', profiles, result.log, null)]);
    people.push(S, R);
    await R.page.goto(`${base}/p2p.html`);
    await R.page.fill('#login-username', a['recipient-name']);
    await R.page.fill('#login-password', 'not the password');
    await R.page.click('#login-submit');
    await R.page.locator('#auth-error').waitFor({ state: 'visible', timeout: 10000 });
    result.login_error = await R.page.locator('#auth-error').textContent();
    await Promise.all([
      signIn(S, base, { name: a['sender-name'], pass: a['sender-pass'] }, 15000),
      signIn(R, base, { name: a['recipient-name'], pass: a['recipient-pass'] }, 15000),
    ]);
    await S.page.setInputFiles('#file', a.file);
    await S.page.fill('#to', 'nobody_by_that_name');
    await S.page.click('#send');
    await S.page.locator('#send-error').waitFor({ state: 'visible', timeout: 10000 });
    result.unknown_recipient_error = await S.page.locator('#send-error').textContent();

    const offer = async () => {
      await S.page.fill('#to', a['recipient-name']);
      await S.page.locator(`#to-results button[data-username="${a['recipient-name']}"]`).click();
      await S.page.setInputFiles('#file', a.file);
      const before = await R.page.locator('.offer').count();
      await S.page.click('#send');
      await R.page.locator('.offer').nth(before).waitFor({ timeout: 10000 });
      return R.page.locator('.offer').first().getAttribute('data-transfer-id');
    };
    const first = await offer();
    const second = await offer();
    result.offers_listed = await R.page.locator('.offer').count();

    await R.page.locator(`.offer[data-transfer-id="${first}"] .reject`).click();
    await row(S, first, 'rejected').waitFor({ timeout: 10000 });
    result.rejected = { sender_state: await row(S, first).getAttribute('data-state'),
      sender_status: await row(S, first).locator('.status').textContent(),
      offer_left: await R.page.locator(`.offer[data-transfer-id="${first}"]`).count() };

    await row(S, second).locator('.cancel').click();
    await R.page.locator(`.offer[data-transfer-id="${second}"]`).waitFor({ state: 'detached', timeout: 10000 });
    await row(S, second, 'cancelled').waitFor({ timeout: 10000 });
    result.cancelled = { sender_state: await row(S, second).getAttribute('data-state'),
      offer_left: await R.page.locator(`.offer[data-transfer-id="${second}"]`).count(),
      final: (await rest(base, 'GET', `/p2p/${second}`, a['recipient-token'])).body.state };
    result.rejected.final = (await rest(base, 'GET', `/p2p/${first}`, a['recipient-token'])).body.state;
    await Promise.all([
      S.page.screenshot({ path: path.join(a.out, 'offers-sender.png'), fullPage: true }),
      R.page.screenshot({ path: path.join(a.out, 'offers-recipient.png'), fullPage: true }),
    ]);
    result.errors = { sender: S.errors, recipient: R.errors };
    return result;
  });
}

// The sender cancels while its encrypted upload is under way (chunk 1 held
// back by the test): both pages end "cancelled" and the partial upload is
// removed from the server.
async function cancelCase(a) {
  const base = a.base;
  const result = { case: a.case, log: [] };
  const row = (p, id, state) => p.page.locator(`.transfer[data-transfer-id="${id}"][data-state="${state}"]`);
  return withPeople(result, async (profiles, people) => {
    const [S, R] = await Promise.all([person('sender', profiles, result.log, null),
      person('recipient', profiles, result.log, null)]);
    people.push(S, R);
    await Promise.all([
      signIn(S, base, { name: a['sender-name'], pass: a['sender-pass'] }, 15000),
      signIn(R, base, { name: a['recipient-name'], pass: a['recipient-pass'] }, 15000),
    ]);
    let held;
    const holding = new Promise((r) => {
      held = r;
    });
    let release;
    const released = new Promise((r) => {
      release = r;
    });
    await S.page.route('**/api/v1/files/upload/*/chunks/1', async (route) => {
      result.upload_id = /upload\/([0-9a-f]{24})\/chunks/.exec(route.request().url())[1];
      held();
      await released;
      await route.continue();
    });
    await S.page.fill('#to', a['recipient-name']);
    await S.page.locator(`#to-results button[data-username="${a['recipient-name']}"]`).click();
    await S.page.setInputFiles('#file', a.file);
    await S.page.check('input[name="mode"][value="relay"]');
    await S.page.click('#send');
    const offer = R.page.locator('.offer').first();
    await offer.waitFor({ timeout: 20000 });
    const id = await offer.getAttribute('data-transfer-id');
    await offer.locator('.accept').click();
    await holding;
    result.upload_during = (await rest(base, 'GET', `/files/upload/${result.upload_id}`, a['sender-token'])).status;
    await S.page.locator(`.transfer[data-transfer-id="${id}"] .cancel`).click();
    await Promise.all([row(S, id, 'cancelled').waitFor({ timeout: 10000 }),
      row(R, id, 'cancelled').waitFor({ timeout: 10000 })]);
    release();
    const deadline = now() + 5000;
    for (;;) {
      result.upload_after = (await rest(base, 'GET', `/files/upload/${result.upload_id}`, a['sender-token'])).status;
      if (result.upload_after === 404 || now() > deadline) break;
      await sleep(50);
    }
    const list = await rest(base, 'GET', '/files/list?limit=100', a['sender-token']);
    result.sender_files = (list.body.items || []).length;
    result.final = (await rest(base, 'GET', `/p2p/${id}`, a['recipient-token'])).body.state;
    result.recipient_status = await R.page.locator(`.transfer[data-transfer-id="${id}"] .status`).textContent();
    result.errors = { sender: S.errors, recipient: R.errors };
    return result;
  });
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  try {
    const run = { crypto: cryptoCase, offers: offersCase, cancel: cancelCase }[a.case] || browserCase;
    const r = await run(a);
    process.stdout.write(`${JSON.stringify({ ok: true, case: a.case, ...r })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ ok: false, case: a.case, error: String(e.stack || e), partial: e.partial || null })}\n`);
    process.exitCode = 1;
  }
}

main();
