// The web client's shell on a server without a WebSocket (events = store:
// no bridge, /health says "websocket": false), in Debian's chromium
// (headless, through playwright-core). Prints one JSON object with what it
// saw; tests/integration/test_05_store_events.py asserts on it.
//
//   node web_nows.mjs --base URL --name N --password P --chat ID --other-token T
//
// It signs in as N, waits for the connection indicator to say long-poll
// ("open", transport "poll"), counts the WebSocket attempts the page made
// meanwhile, then has the other user (token T) send a message to chat ID
// and waits for the page to receive it as message.created.
import { chromium } from 'playwright-core';
import * as common from './common.mjs';
import { CHROMIUM, CHROMIUM_ARGS, sleep, report } from './common.mjs';

const args = common.parseArgs(process.argv.slice(2), ['base', 'name', 'password', 'chat', 'other-token']);
const BASE = args.base;
const STUB = 'export function mount(el) { const p = document.createElement("p");'
  + ' p.id = "stub-view"; p.textContent = location.hash; el.append(p); return () => p.remove(); }';
const result = { ok: false, errors: [] };

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // the views of chats, files and send are not under test here
    await context.route(/\/js\/views\/(chats|files|send)\.js$/, (route) => route.fulfill({
      status: 200, contentType: 'text/javascript', body: STUB }));
    const page = await context.newPage();
    page.on('pageerror', (e) => result.errors.push(`pageerror: ${e.message}`));
    let sockets = 0;
    page.on('websocket', () => { sockets += 1; });
    const toasts = [];
    await page.goto(`${BASE}/#/people`);
    await page.waitForSelector('#auth-form');
    await page.fill('#auth-login', args.name);
    await page.fill('#auth-password', args.password);
    const t0 = Date.now();
    await page.click('#auth-submit');
    await page.waitForSelector('#conn[data-state="open"][data-transport="poll"]', { timeout: 15000 });
    result.poll_ms = Date.now() - t0;
    for (const t of await page.locator('.toast').allTextContents()) toasts.push(t);
    const before = Number(await page.getAttribute('#conn', 'data-events')) || 0;
    const res = await fetch(`${BASE}/api/v1/messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${args['other-token']}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ chat_id: args.chat, content: 'no websocket here' }),
    });
    result.sent = res.status;
    const t1 = Date.now();
    await page.waitForFunction((n) => document.querySelector('#conn').dataset.lastType === 'message.created'
      && Number(document.querySelector('#conn').dataset.events) > n, before, { timeout: 10000 });
    result.delivery_ms = Date.now() - t1;
    await sleep(1000); // a probe would have been made by now if one were due
    result.sockets = sockets;
    result.transport = await page.getAttribute('#conn', 'data-transport');
    result.toasts = toasts;
    result.ok = true;
  } finally {
    await browser.close();
  }
}

report(main, result);
