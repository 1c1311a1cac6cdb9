// Drives the web client's chats view (www/js/views/chats.js) in Debian's
// chromium (headless, through playwright-core) as two people in two browser
// contexts, Ann on a desktop-sized window and Ben on a phone-sized one, and
// prints one JSON object with what each page showed. Used by
// tests/integration/test_07_web_chats.py, which asserts on it.
//
//   node web_chats.mjs --base URL --a NAME --b NAME --pass PASSWORD --word WORD [--out DIR]
//
// The story: both register through the sign-in view; Ann creates a group
// with Ben from the "New chat" dialog; Ben sees it appear and opens it;
// Ann types (Ben sees the typing notice) and sends (Ben sees the message, Ann
// sees it read); Ben answers on two lines (Shift+Enter) as a reply; Ben
// reacts, Ann edits, Ann deletes another message (each seen live by the
// other); markup in a message stays text; Ann attaches an image (Ben sees the
// preview); Ben searches for WORD (the hit highlighted) and opens it; Ben
// reloads and is still signed in; Ann opens the members dialog and makes Ben
// an admin. Each step's result is in "steps"; console errors in "errors".
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import * as common from './common.mjs';
import { CHROMIUM, CHROMIUM_ARGS } from './common.mjs';

const ARGS = CHROMIUM_ARGS;
const T = 10000;
const PNG_W = 48;
const PNG_H = 32;

// A PNG of PNG_W x PNG_H pixels: a red and blue gradient.
function makePng() {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(PNG_W, 0);
  ihdr.writeUInt32BE(PNG_H, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc((PNG_W * 3 + 1) * PNG_H);
  for (let y = 0; y < PNG_H; y += 1) {
    for (let x = 0; x < PNG_W; x += 1) {
      raw.set([230, Math.round((y / PNG_H) * 120), Math.round((x / PNG_W) * 255)], y * (PNG_W * 3 + 1) + 1 + x * 3);
    }
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
const PNG = makePng();

function parseArgs(argv) {
  return common.parseArgs(argv, ['base', 'a', 'b', 'pass', 'word']);
}

async function person(browser, label, viewport, errors) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  errors[label] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors[label].push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors[label].push(`pageerror: ${e.message}`));
  return { label, context, page };
}

async function register(p, base, name, pass) {
  const { page } = p;
  await page.goto(`${base}/`);
  await page.click('#auth-switch');
  await page.fill('input[name=login]', name);
  await page.fill('input[name=email]', `${name}@example.com`);
  await page.fill('input[name=password]', pass);
  await page.click('#auth-submit');
  await page.waitForSelector('.chats', { timeout: T });
  await page.waitForSelector('#conn[data-state=open]', { timeout: T });
}

// The message element whose text is `text` (exactly), on one page.
const msgWith = (page, text) => page.locator('.msg').filter({
  has: page.locator('.msg-text', { hasText: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }),
});

async function openMenuItem(page, msg, item) {
  await msg.locator('.msg-menu-btn').click();
  const menu = page.locator('.msg-menu');
  await (item.startsWith('React ') ? menu.locator(`[aria-label="${item}"]`)
    : menu.locator('[role=menuitem]', { hasText: item })).first().click();
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const out = a.out || path.resolve('../../build/test-output/web');
  fs.mkdirSync(out, { recursive: true });
  const result = { ok: false, steps: {}, errors: {}, ms: {} };
  const steps = result.steps;
  const t0 = Date.now();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  let A;
  let B;
  const shot = (p, name) => p.page.screenshot({ path: path.join(out, `chats-${name}.png`) });
  try {
    A = await person(browser, 'ann', { width: 1200, height: 800 }, result.errors);
    B = await person(browser, 'ben', { width: 390, height: 760 }, result.errors);
    await Promise.all([register(A, a.base, a.a, a.pass), register(B, a.base, a.b, a.pass)]);
    steps.registered = true;
    result.ms.registered = Date.now() - t0;

    // Ann: a group with Ben, from the dialog.
    const group = `Team ${a.word.slice(0, 6)}`;
    await A.page.click('.new-chat-btn');
    await A.page.check('dialog input[name=kind][value=group]');
    await A.page.fill('dialog input[name=name]', group);
    await A.page.fill('dialog .user-search', a.b);
    await A.page.click(`dialog .user-result[data-username="${a.b}"]`, { timeout: T });
    await shot(A, 'new-group-dialog');
    await A.page.click('dialog .new-chat button[type=submit]');
    await A.page.waitForFunction(() => /^#\/chats\/[0-9a-f]{24}$/.test(location.hash), null, { timeout: T });
    await A.page.locator('.pane-title', { hasText: group }).waitFor({ timeout: T });
    const chatId = (await A.page.evaluate(() => location.hash)).slice(8);
    steps.group = { title: await A.page.textContent('.pane-title'), sub: await A.page.textContent('.pane-sub'),
      chat_id_ok: /^[0-9a-f]{24}$/.test(chatId) };

    // Ben sees it appear in his list without reloading, and opens it.
    const item = B.page.locator(`.chat-item[data-id="${chatId}"]`);
    await item.waitFor({ timeout: T });
    steps.b_list_live = await item.locator('.chat-name').textContent();
    await shot(B, 'phone-list');
    await item.click();
    await B.page.locator('.pane-title', { hasText: group }).waitFor({ timeout: T });
    steps.b_phone_two_screens = await B.page.evaluate(() => ({
      side_hidden: getComputedStyle(document.querySelector('.chat-side')).display === 'none',
      pane_shown: getComputedStyle(document.querySelector('.chat-pane')).display !== 'none',
    }));
    steps.a_desktop_side_by_side = await A.page.evaluate(() => ({
      side_shown: getComputedStyle(document.querySelector('.chat-side')).display !== 'none',
      pane_shown: getComputedStyle(document.querySelector('.chat-pane')).display !== 'none',
    }));

    // Typing: Ann types, Ben sees it; then she sends with Enter.
    const first = `hello ${a.b} the ${a.word} meets at ten`;
    await A.page.click('.composer-input');
    await A.page.keyboard.type(first.slice(0, 12), { delay: 15 });
    await B.page.locator('.typing', { hasText: 'is typing' }).waitFor({ timeout: T });
    steps.typing_seen = await B.page.textContent('.typing');
    await A.page.keyboard.type(first.slice(12));
    const t1 = Date.now();
    await A.page.keyboard.press('Enter');
    await msgWith(B.page, first).waitFor({ timeout: T });
    result.ms.message_to_other = Date.now() - t1;
    steps.composer_cleared = await A.page.inputValue('.composer-input') === '';
    // The typing notice goes when the message arrives.
    await B.page.waitForFunction(() => !document.querySelector('.typing').textContent, null, { timeout: T });
    steps.typing_cleared = true;
    // Ben has the chat open at the bottom: it is marked read, and Ann sees it.
    const aFirst = msgWith(A.page, first);
    await A.page.waitForFunction((text) => [...document.querySelectorAll('.msg.mine')]
      .some((m) => m.querySelector('.msg-text').textContent === text && m.dataset.state === 'read'), first, { timeout: T });
    steps.read_state = await aFirst.getAttribute('data-state');
    steps.read_state_label = await aFirst.locator('.msg-state').getAttribute('aria-label');

    // Ben replies on two lines (Shift+Enter), Ann sees it with the quote.
    await openMenuItem(B.page, msgWith(B.page, first), 'Reply');
    steps.reply_bar = (await B.page.textContent('.composer-bar')).trim();
    await B.page.keyboard.type('line one');
    await B.page.keyboard.press('Shift+Enter');
    await B.page.keyboard.type('line two');
    await B.page.keyboard.press('Enter');
    const reply = msgWith(A.page, 'line one\nline two');
    await reply.waitFor({ timeout: T });
    steps.reply_seen = { text: await reply.locator('.msg-text').textContent(),
      quote: (await reply.locator('.msg-quote-text').textContent()).trim() };

    // Ben reacts to Ann's message; Ann sees the count live.
    await openMenuItem(B.page, msgWith(B.page, first), 'React 👍');
    await msgWith(B.page, first).locator('.reaction.me').waitFor({ timeout: T });
    const aReaction = aFirst.locator('.reaction');
    await aReaction.waitFor({ timeout: T });
    steps.reaction_seen = { emoji: await aReaction.getAttribute('data-emoji'),
      count: await aReaction.locator('.reaction-count').textContent(),
      pressed_for_ann: await aReaction.getAttribute('aria-pressed') };

    // Ann edits her message; Ben sees the new text and "edited".
    const edited = `${first} (edited)`;
    await openMenuItem(A.page, aFirst, 'Edit');
    await A.page.fill('.composer-input', edited);
    await A.page.keyboard.press('Enter');
    const bEdited = msgWith(B.page, edited);
    await bEdited.waitFor({ timeout: T });
    steps.edit_seen = { text: await bEdited.locator('.msg-text').textContent(),
      edited_mark: await bEdited.locator('.msg-edited').textContent() };

    // Ann sends one more and deletes it; Ben sees the tombstone.
    const doomed = `delete me ${a.word.slice(0, 4)}`;
    await A.page.fill('.composer-input', doomed);
    await A.page.keyboard.press('Enter');
    await msgWith(B.page, doomed).waitFor({ timeout: T });
    await msgWith(A.page, doomed).locator('.msg-menu-btn').waitFor({ timeout: T });
    await openMenuItem(A.page, msgWith(A.page, doomed), 'Delete');
    await A.page.click('dialog button.danger-fill');
    await B.page.waitForFunction((text) => ![...document.querySelectorAll('.msg-text')].some((e) => e.textContent === text)
      && document.querySelectorAll('.msg.deleted .msg-tombstone').length === 1, doomed, { timeout: T });
    steps.delete_seen = await B.page.textContent('.msg.deleted .msg-tombstone');

    // Markup in a message is shown as text, never run.
    const evil = '<img src=x onerror="window.__xss=1"><b>bold</b>';
    await A.page.fill('.composer-input', evil);
    await A.page.keyboard.press('Enter');
    const bEvil = msgWith(B.page, evil);
    await bEvil.waitFor({ timeout: T });
    steps.xss = await B.page.evaluate(() => ({
      ran: window.__xss === 1,
      elements_in_text: [...document.querySelectorAll('.msg-text')].some((e) => e.children.length > 0),
    }));

    // Ann attaches an image; Ben sees its preview.
    await A.page.setInputFiles('.composer input[type=file]', { name: 'red.png', mimeType: 'image/png', buffer: PNG });
    await A.page.locator('.file-chip[data-state=done]').waitFor({ timeout: T });
    await A.page.fill('.composer-input', 'a picture');
    await A.page.keyboard.press('Enter');
    const bImg = msgWith(B.page, 'a picture').locator('img.att-img');
    await bImg.waitFor({ timeout: T });
    await B.page.waitForFunction((w) => [...document.querySelectorAll('img.att-img')]
      .some((i) => i.src.startsWith('blob:') && i.complete && i.naturalWidth === w), PNG_W, { timeout: T });
    steps.image_seen = { alt: await bImg.getAttribute('alt'),
      size: await bImg.evaluate((i) => [i.naturalWidth, i.naturalHeight]) };
    await shot(B, 'phone-chat');

    // Ben goes back to the list (phone), searches, and opens the hit.
    await B.page.click('.back-link');
    await B.page.waitForSelector('.chat-side', { state: 'visible', timeout: T });
    await B.page.fill('.chat-search', a.word);
    await B.page.press('.chat-search', 'Enter');
    const hit = B.page.locator('.search-hit').first();
    await hit.waitFor({ timeout: T });
    steps.search = {
      hits: await B.page.locator('.search-hit').count(),
      marks: await hit.locator('mark').allTextContents(),
      snippet: await hit.locator('.hit-snippet').textContent(),
      chat: await hit.locator('.hit-chat').textContent(),
    };
    await shot(B, 'phone-search');
    await hit.click();
    await B.page.locator('.msg.flash').waitFor({ timeout: T });
    steps.search_opened = (await B.page.locator('.msg.flash .msg-text').textContent()) === edited;

    // Ben starts a direct chat with Ann and writes; Ann, in the group, sees
    // it arrive in her list with an unread badge and Ben's presence.
    await B.page.click('.back-link');
    await B.page.click('.new-chat-btn');
    await B.page.fill('dialog .user-search', a.a);
    await B.page.click(`dialog .user-result[data-username="${a.a}"]`, { timeout: T });
    await B.page.click('dialog .new-chat button[type=submit]');
    await B.page.locator('.pane-title', { hasText: a.a }).waitFor({ timeout: T });
    await B.page.locator('.pane-sub[data-presence=online]').waitFor({ timeout: T });
    steps.direct_header = await B.page.textContent('.pane-sub');
    const directId = (await B.page.evaluate(() => location.hash)).slice(8);
    await B.page.fill('.composer-input', 'psst');
    await B.page.keyboard.press('Enter');
    const aDirect = A.page.locator(`.chat-item[data-id="${directId}"]`);
    await aDirect.locator('.badge').waitFor({ timeout: T });
    await aDirect.locator('.presence-dot[data-status=online]').waitFor({ timeout: T });
    steps.direct_in_list = {
      name: await aDirect.locator('.chat-name').textContent(),
      badge: await aDirect.locator('.badge').textContent(),
      preview: await aDirect.locator('.chat-preview').textContent(),
      first: await A.page.locator('.chat-item').first().getAttribute('data-id') === directId,
    };
    await shot(A, 'desktop-unread');
    await aDirect.click();
    await msgWith(A.page, 'psst').waitFor({ timeout: T });
    await A.page.waitForFunction((id) => !document.querySelector(`.chat-item[data-id="${id}"] .badge`), directId, { timeout: T });
    steps.badge_cleared = true;
    await B.page.waitForFunction(() => [...document.querySelectorAll('.msg.mine')].some((m) => m.dataset.state === 'read'), null, { timeout: T });
    steps.direct_read = true;
    await A.page.click(`.chat-item[data-id="${chatId}"]`);
    await A.page.locator('.pane-title', { hasText: group }).waitFor({ timeout: T });
    await B.page.goto(`${a.base}/#/chats/${chatId}`);

    // Ben reloads: still signed in, the chat still there.
    await B.page.reload();
    await B.page.locator('.pane-title', { hasText: group }).waitFor({ timeout: T });
    steps.reload = { signed_in: await B.page.locator('#auth-form').count() === 0,
      messages: await B.page.locator('.msg').count() };

    // Ann: the members dialog; she makes Ben an admin.
    await A.page.click('.pane-head .icon-btn');
    await A.page.locator('dialog .member').nth(1).waitFor({ timeout: T });
    steps.members = await A.page.locator('dialog .member').count();
    await A.page.selectOption('dialog .member select', 'admin');
    await A.page.waitForFunction(() => {
      const s = document.querySelector('dialog .member select');
      return s && s.value === 'admin' && document.querySelector('.toast');
    }, null, { timeout: T });
    steps.role_toast = await A.page.textContent('.toast');
    await shot(A, 'members-dialog');
    await A.page.keyboard.press('Escape');
    await A.page.waitForSelector('dialog', { state: 'detached', timeout: T });
    steps.dialog_closed_by_escape = true;
    await shot(A, 'desktop-chat');
    await A.page.click('.pane-head .icon-btn');
    await A.page.keyboard.press('Escape');

    result.ms.total = Date.now() - t0;
    result.ok = true;
  } catch (e) {
    result.error = `${e.message.split('\n').slice(0, 6).join('\n')}`;
    for (const p of [A, B]) {
      if (p) await p.page.screenshot({ path: path.join(out, `chats-error-${p.label}.png`) }).catch(() => {});
    }
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
  if (!result.ok) process.exitCode = 1;
}

main();
