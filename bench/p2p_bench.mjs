// The browser side of bench/p2p.sh: two headless chromiums (Debian's
// /usr/bin/chromium through playwright-core, fresh profiles), a sender and
// a recipient, each signed up as a user of the bench's stack and running the
// P2P engine (www/js/p2p.js) in a page of the stack's origin. For each file
// it runs --runs rounds of:
//
//   static  baseline A: the recipient fetches the file from lighttpd as a
//           static file into an ArrayBuffer (the most bytes/s that browser
//           can take in from this server)
//   direct  the engine in mode "direct": WebRTC DataChannel between the two
//           browsers
//   plain   baseline B: the sender uploads the plaintext with the chunk API
//           (PUT .../chunks/{n}, as many at once as the engine's relay),
//           the recipient downloads GET /api/v1/files/{id} (the sender's
//           token) into an ArrayBuffer; no encryption, no transfer
//   relay   the engine in mode "relay": encrypt + upload, bind, download +
//           decrypt, SHA-256, complete
//
//   node bench/p2p_bench.mjs --base URL --tmp DIR --files LABEL:PATH:SHA256,...
//        [--runs 3] [--modes "static direct plain relay"] [--server-pid PID]
//        [--timeout MS]
//
// Timed (in the recipient's page unless said): static from the fetch to the
// last byte in the ArrayBuffer; direct and relay from the recipient's accept
// to its transfer resolving completed (the file hashed and the server's
// complete answered: what a person waits for after clicking Accept; the
// sender's offer, which hashes the file first, comes before); plain the
// sender's upload (init, chunks, complete) plus the recipient's download.
// After each run, untimed, the page hashes what it holds (the received
// blob, the downloaded buffer) with SHA-256; a run whose hash is not the
// source's is a failure, not a figure.
//
// CPU: utime + stime (from /proc/<pid>/stat) of each browser's process tree
// and of the stack's (--server-pid), over the node-side window of the run.
//
// Output: one line per run on stdout,
//   p2p run label=50 size=52428800 mode=direct run=1 ok=1 sha=ok ms=4012.3 mbs=13.07
//     wall_ms=4030 cpu_sender_s=3.10 cpu_recipient_s=3.60 cpu_server_s=0.40 [extra=...]
// (ok=0 with error=<word>; the message goes to stderr), then
//   p2p done runs=N failed=F console_errors=E
// Everything it starts (the browsers, their profiles under --tmp) is gone
// when it exits, also on SIGTERM, SIGINT and SIGHUP.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from '../tests/node/node_modules/playwright-core/index.mjs';
import * as common from '../tests/node/common.mjs';
import { CHROMIUM, CHROMIUM_ARGS, WEBRTC_ARGS } from '../tests/node/common.mjs';

// The browser tests' flags, plus gc() in the pages so that a run's buffers
// are gone before the next one.
const ARGS = [...CHROMIUM_ARGS, ...WEBRTC_ARGS, '--js-flags=--expose-gc'];
const MODES = ['static', 'direct', 'plain', 'relay'];
const HZ = 100; // USER_HZ: the unit of utime and stime in /proc/<pid>/stat
const PASSWORD = 'bench password 1234';

function parseArgs(argv) {
  const out = common.parseArgs(argv, ['base', 'tmp', 'files'],
    { runs: '3', modes: MODES.join(' '), timeout: '120000' });
  out.runs = Number(out.runs);
  out.timeout = Number(out.timeout);
  out.modes = out.modes.split(/[\s,]+/).filter(Boolean);
  for (const m of out.modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m}`);
  out.files = out.files.split(',').map((f) => {
    const [label, file, sha256] = f.split(':');
    return { label, file, sha256, size: fs.statSync(file).size, url: `/${path.basename(file)}` };
  });
  return out;
}

const now = () => performance.now();

// -- CPU of process trees ----------------------------------------------------------

// pid -> {ppid, ticks} of every process, from /proc/<pid>/stat.
function procTable() {
  const t = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let s;
    try {
      s = fs.readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch (e) {
      continue; // gone meanwhile
    }
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // after "pid (comm) "
    t.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
  }
  return t;
}

// CPU seconds of each root's live process tree. Processes that exit during
// a run take their time with them; the browsers' and the stack's processes
// live through the whole bench.
function cpuOf(roots) {
  const t = procTable();
  const kids = new Map();
  for (const [pid, p] of t) {
    if (!kids.has(p.ppid)) kids.set(p.ppid, []);
    kids.get(p.ppid).push(pid);
  }
  const out = {};
  for (const [name, root] of Object.entries(roots)) {
    let ticks = 0;
    const queue = root && t.has(root) ? [root] : [];
    while (queue.length) {
      const pid = queue.pop();
      ticks += t.get(pid).ticks;
      queue.push(...(kids.get(pid) || []));
    }
    out[name] = ticks / HZ;
  }
  return out;
}

// The browser process of a profile: our descendant whose command line
// names the profile folder, the topmost one.
function browserPid(profile) {
  const t = procTable();
  const mine = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of t) {
      if (!mine.has(pid) && mine.has(p.ppid)) {
        mine.add(pid);
        grew = true;
      }
    }
  }
  const named = [...mine].filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(profile);
    } catch (e) {
      return false;
    }
  });
  return named.find((pid) => !named.includes(t.get(pid).ppid)) || null;
}

// -- the browsers ----------------------------------------------------------------

const people = [];
const consoleErrors = [];
let exiting = false; // set by shutdown()

// A browser with a fresh profile, signed up as a new user, with the P2P
// engine connected to the bridge in window.hsb.
async function person(label, a) {
  const profile = fs.mkdtempSync(path.join(a.tmp, `profile-${label}-`));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, handleSIGINT: false,
    handleSIGTERM: false, handleSIGHUP: false,
  });
  const p = { label, ctx, profile, pid: browserPid(profile) };
  people.push(p);
  const page = ctx.pages()[0] || await ctx.newPage();
  p.page = page;
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${label}: console: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`${label}: pageerror: ${e.message}`));
  await page.goto(`${a.base}/p2p-bench.html`);
  const name = `p2pb_${label}_${process.pid}_${Date.now() % 100000}`;
  const me = await page.evaluate(async ({ name, pass }) => {
    const [{ Api }, { Socket }, { P2P, sha256Hex }] = await Promise.all([
      import('/js/api.js'), import('/js/ws.js'), import('/js/p2p.js')]);
    const api = new Api();
    await api.register(name, `${name}@example.com`, pass);
    const socket = new Socket({ api });
    const p2p = new P2P({ api, socket });
    const offers = new Map();
    p2p.on('offer', (t) => offers.set(t.id, t));
    window.hsb = { api, socket, p2p, offers, txs: new Map(), held: null, sha256Hex };
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no hello from the bridge within 10 s')), 10000);
      socket.once('hello', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.connect();
    });
    return { id: api.user.id };
  }, { name, pass: PASSWORD });
  p.userId = me.id;
  return p;
}

async function closeAll() {
  await Promise.all(people.map((p) => p.ctx.close().catch(() => {})));
  people.length = 0;
}

// Frees what the pages still hold from the last run.
async function settle(...ps) {
  await Promise.all(ps.map((p) => p.page.evaluate(() => {
    window.hsb.held = null;
    if (window.gc) window.gc();
  })));
}

// -- one run of each mode -----------------------------------------------------------

// Each mode is {prepare, transfer}: prepare (untimed) gets a run ready and
// returns its state; transfer moves the bytes, leaves what the recipient got
// in window.hsb.held and returns {ms, extra}.

const holdHash = (R) => R.page.evaluate(async () => {
  const { hsb } = window;
  const held = hsb.held instanceof Blob ? await hsb.held.arrayBuffer() : hsb.held;
  return hsb.sha256Hex(held);
});

const staticMode = {
  prepare: async () => ({}),
  transfer: (S, R, f) => R.page.evaluate(async (url) => {
    const t0 = performance.now();
    const res = await fetch(url, { cache: 'no-store' });
    if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
    window.hsb.held = await res.arrayBuffer();
    return { ms: performance.now() - t0, extra: {} };
  }, f.url),
};

// The sender offers (the engine hashes the file first) and the offer
// reaches the recipient's engine.
const p2pMode = (mode) => ({
  prepare: async (S, R) => {
    const id = await S.page.evaluate(async ({ rid, mode }) => {
      const file = document.getElementById('file').files[0];
      const tx = await window.hsb.p2p.send(file, rid, { mode });
      window.hsb.txs.set(tx.id, tx);
      return tx.id;
    }, { rid: R.userId, mode });
    await R.page.waitForFunction((tid) => window.hsb.offers.has(tid), id, { timeout: 20000, polling: 5 });
    return { id };
  },
  transfer: async (S, R, f, a, { id }) => {
    const got = await R.page.evaluate(async ({ id, timeout }) => {
      const { hsb } = window;
      const offer = hsb.offers.get(id);
      hsb.offers.delete(id);
      const t0 = performance.now();
      const rx = await hsb.p2p.accept(offer);
      let timer;
      const late = new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`not completed after ${timeout} ms`),
          { code: 'timeout' })), timeout);
      });
      let res;
      try {
        res = await Promise.race([rx.done, late]);
      } catch (e) {
        await hsb.p2p.cancel(id).catch(() => {});
        throw new Error(`${e.code || 'error'}: ${e.message}`);
      } finally {
        clearTimeout(timer);
      }
      const ms = performance.now() - t0;
      hsb.held = res.blob;
      return { ms, path: rx.path, engine_sha256: res.sha256, first_byte_ms: rx.startedAt - t0 };
    }, { id, timeout: a.timeout });
    await S.page.evaluate(async (tid) => {
      const tx = window.hsb.txs.get(tid);
      window.hsb.txs.delete(tid);
      await tx.done;
    }, id);
    if (got.path !== mode) throw new Error(`the transfer took the ${got.path} path`);
    return { ms: got.ms, extra: { first_byte_ms: got.first_byte_ms.toFixed(0),
      engine_sha: got.engine_sha256 === f.sha256 ? 'ok' : 'differs' } };
  },
});

const plainMode = {
  prepare: async () => ({}),
  transfer: async (S, R) => {
    const up = await S.page.evaluate(async () => {
      const { api, p2p } = window.hsb;
      const file = document.getElementById('file').files[0];
      const t0 = performance.now();
      const init = await api.post('/files/upload/init', { filename: 'plain.bin', file_size: file.size,
        content_type: 'application/octet-stream' });
      const cs = init.chunk_size;
      const count = Math.max(1, Math.ceil(file.size / cs));
      let next = 0;
      const worker = async () => {
        while (next < count) {
          const n = next;
          next += 1;
          await api.request('PUT', `/files/upload/${init.upload_id}/chunks/${n}`, {
            body: file.slice(n * cs, (n + 1) * cs), headers: { 'Content-Type': 'application/octet-stream' } });
        }
      };
      await Promise.all(Array.from({ length: p2p.uploadParallel }, worker));
      const done = await api.post('/files/upload/complete', { upload_id: init.upload_id });
      return { ms: performance.now() - t0, id: done.id, token: api.token, parallel: p2p.uploadParallel };
    });
    const down = await R.page.evaluate(async ({ id, token }) => {
      const t0 = performance.now();
      const res = await fetch(`/api/v1/files/${id}`, { headers: { Authorization: `Bearer ${token}` },
        cache: 'no-store' });
      if (!res.ok) throw new Error(`GET /api/v1/files/${id}: ${res.status}`);
      window.hsb.held = await res.arrayBuffer();
      return { ms: performance.now() - t0 };
    }, up);
    await S.page.evaluate((id) => window.hsb.api.del(`/files/${id}`), up.id);
    return { ms: up.ms + down.ms, extra: { upload_ms: up.ms.toFixed(0), download_ms: down.ms.toFixed(0),
      parallel: up.parallel } };
  },
};

const RUNNERS = { static: staticMode, direct: p2pMode('direct'), plain: plainMode, relay: p2pMode('relay') };

function line(fields) {
  return `p2p run ${Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const [S, R] = await Promise.all([person('sender', a), person('recipient', a)]);
  if (!S.pid || !R.pid) process.stderr.write('p2p_bench: cannot find a browser process; CPU not measured\n');
  process.stdout.write(`p2p browsers sender_pid=${S.pid} recipient_pid=${R.pid}\n`);
  const roots = { sender: S.pid, recipient: R.pid, server: Number(a['server-pid']) || null };
  let runs = 0;
  let failed = 0;
  for (const f of a.files) {
    await S.page.setInputFiles('#file', f.file);
    for (let run = 1; run <= a.runs; run += 1) {
      for (const mode of a.modes) {
        if (exiting) return 1; // a signal: shutdown() closes the browsers and exits
        await settle(S, R);
        let c0 = cpuOf(roots);
        const fields = { label: f.label, size: f.size, mode, run };
        let r;
        let wall = 0;
        let c1 = c0;
        try {
          const st = await RUNNERS[mode].prepare(S, R, f, a);
          c0 = cpuOf(roots);
          const w0 = now();
          r = await RUNNERS[mode].transfer(S, R, f, a, st);
          wall = now() - w0;
          c1 = cpuOf(roots);
          r.sha256 = await holdHash(R);
        } catch (e) {
          if (exiting) return 1;
          // playwright's "page.evaluate: Error: " prefix says nothing
          r = { error: String(e.message || e).split('\n')[0].replace(/^[\w.]+: (Error: )?/, '') };
          c1 = cpuOf(roots);
        }
        runs += 1;
        const cpu = Object.fromEntries(Object.keys(roots).map((k) => [`cpu_${k}_s`, (c1[k] - c0[k]).toFixed(2)]));
        const tag = `${f.label} MiB ${mode} run ${run}`;
        if (r.error) {
          failed += 1;
          process.stderr.write(`bench p2p: ${tag}: FAILED: ${r.error}\n`);
          const word = r.error.replace(/[^A-Za-z0-9_].*$/, '') || 'error';
          process.stdout.write(`${line({ ...fields, ok: 0, sha: '-', error: word, ...cpu })}\n`);
          continue;
        }
        const sha = r.sha256 === f.sha256 ? 'ok' : 'differs';
        const mbs = (f.size / 1e6 / (r.ms / 1000)).toFixed(2);
        if (sha !== 'ok') {
          failed += 1;
          process.stderr.write(`bench p2p: ${tag}: FAILED: SHA-256 ${r.sha256}, expected ${f.sha256}\n`);
        } else {
          process.stderr.write(`bench p2p: ${tag}: ${mbs} MB/s, SHA-256 ok\n`);
        }
        process.stdout.write(`${line({ ...fields, ok: sha === 'ok' ? 1 : 0, sha, ms: r.ms.toFixed(1), mbs,
          wall_ms: wall.toFixed(0), ...cpu, ...r.extra })}\n`);
      }
    }
  }
  for (const e of consoleErrors) process.stderr.write(`p2p_bench: ${e}\n`);
  process.stdout.write(`p2p done runs=${runs} failed=${failed} console_errors=${consoleErrors.length}\n`);
  return failed === 0 ? 0 : 1;
}

async function shutdown(code) {
  if (exiting) return;
  exiting = true;
  const gone = setTimeout(() => process.exit(code), 10000);
  await closeAll();
  clearTimeout(gone);
  process.exit(code);
}
process.on('SIGTERM', () => shutdown(143));
process.on('SIGINT', () => shutdown(130));
process.on('SIGHUP', () => shutdown(129));

main().then((code) => shutdown(code), (e) => {
  if (!exiting) process.stderr.write(`p2p_bench: ${e.stack || e}\n`);
  shutdown(1);
});
