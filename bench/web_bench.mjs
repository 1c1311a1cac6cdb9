// The web client over the wire (bench/web.sh): one signed-in user with a
// seeded chat list opens the web client in Debian's chromium (headless,
// through playwright-core) twice with one browser profile: a first visit
// (empty cache) and a return visit (the browser started again on the same
// profile, so only its disk cache remains). For each: the bytes received
// (headers and bodies as they came over the wire, CDP encodedDataLength),
// the requests and how many the cache answered, and the time from the
// start of navigation to the first chat of the list in the page.
//
//   node web_bench.mjs --base URL --profile DIR --label before|after
//        --session JSON-FILE [--mbit N --rtt-ms N] [--timeout MS]
//
// Prints "web visit label=... visit=first|return bytes=... requests=...
// cached=... list_ms=..." lines; with BENCH_WEB_DEBUG=1 each response too
// (bytes, cache or network, status, encoding, URL) on stderr. --mbit/--rtt-ms throttle the page's network
// (CDP emulateNetworkConditions; 0 = loopback as it is).
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/node/package.json'));
const { chromium } = require('playwright-core');
const common = await import(path.join(here, '../tests/node/common.mjs'));

const a = common.parseArgs(process.argv.slice(2), ['base', 'profile', 'label', 'session'],
  { mbit: '0', 'rtt-ms': '0', timeout: '60000' });
const session = JSON.parse(fs.readFileSync(a.session, 'utf8'));
const timeout = Number(a.timeout);
const mbit = Number(a.mbit);
const rtt = Number(a['rtt-ms']);

async function visit(kind) {
  const context = await chromium.launchPersistentContext(a.profile, {
    executablePath: common.CHROMIUM, headless: true, args: common.CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  try {
    // The session as the client keeps it (js/session.js), before any script
    // of the page runs; and a mark when the first chat of the list appears.
    await context.addInitScript(([key, value]) => {
      localStorage.setItem(key, value);
      const seen = () => {
        if (!window.__listShown && document.querySelector('.chat-item')) {
          window.__listShown = performance.now();
          return true;
        }
        return false;
      };
      new MutationObserver((_, obs) => { if (seen()) obs.disconnect(); })
        .observe(document, { childList: true, subtree: true });
    }, ['hs.session', JSON.stringify(session)]);
    const page = context.pages()[0] || await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    if (mbit > 0 || rtt > 0) {
      const bps = mbit > 0 ? (mbit * 1e6) / 8 : -1;
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: rtt, downloadThroughput: bps, uploadThroughput: bps,
      });
    }
    let bytes = 0;
    const requests = new Set();
    const cached = new Set(); // request ids the cache answered (either event)
    cdp.on('Network.requestServedFromCache', (e) => { cached.add(e.requestId); });
    cdp.on('Network.responseReceived', (e) => {
      requests.add(e.requestId);
      if (e.response.fromDiskCache || e.response.fromPrefetchCache) cached.add(e.requestId);
    });
    const log = [];
    const seen = new Map();
    cdp.on('Network.responseReceived', (e) => {
      seen.set(e.requestId, `${e.response.status} ${e.response.headers['content-encoding'] || e.response.headers['Content-Encoding'] || '-'} ${e.response.url}`);
    });
    cdp.on('Network.loadingFinished', (e) => {
      bytes += e.encodedDataLength;
      log.push(`${e.encodedDataLength} ${cached.has(e.requestId) ? 'cache' : 'net'} ${seen.get(e.requestId) || e.requestId}`);
    });
    await page.goto(`${a.base}/`, { waitUntil: 'commit', timeout });
    await page.waitForFunction(() => window.__listShown, null, { timeout, polling: 50 });
    const listMs = await page.evaluate(() => window.__listShown);
    // What the page still fetches right after (the chat list's own calls
    // end before it shows; a little slack for late module or CSS loads).
    await page.waitForLoadState('networkidle', { timeout }).catch(() => {});
    const chats = await page.locator('.chat-item').count();
    console.log(`web visit label=${a.label} visit=${kind} bytes=${bytes} requests=${requests.size} `
      + `cached=${cached.size} list_ms=${listMs.toFixed(1)} chats=${chats}`);
    if (process.env.BENCH_WEB_DEBUG) {
      for (const u of log) console.error(`${kind} ${u}`);
    }
    await cdp.detach();
  } finally {
    await context.close();
  }
}

await visit('first');
await visit('return');
