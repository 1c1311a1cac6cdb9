// The web client on a server whose programs cannot start (a 503 whose
// code starts with setup_, tests/integration/test_14_bundle.py): the page
// shows the server's message and hint instead of a sign-in form, in
// Debian's chromium (headless, through playwright-core). Prints one JSON
// object with what it saw.
//
//   node web_setup.mjs --base URL
import { chromium } from 'playwright-core';
import * as common from './common.mjs';
import { CHROMIUM, CHROMIUM_ARGS, report } from './common.mjs';

const args = common.parseArgs(process.argv.slice(2), ['base']);
const result = { ok: false, errors: [] };

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => result.errors.push(`pageerror: ${e.message}`));
    await page.goto(`${args.base}/`);
    await page.waitForSelector('#setup', { timeout: 15000 });
    result.text = await page.locator('#setup').innerText();
    result.sign_in_form = await page.locator('#auth-form').count();
    result.ok = true;
  } finally {
    await browser.close();
  }
}

report(main, result);
