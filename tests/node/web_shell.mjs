// Drives the web client's shell (www/index.html, js/app.js, js/poll.js,
// views auth, people, settings) in Debian's chromium (headless, through
// playwright-core) and prints one JSON object with what it saw. Used by
// tests/integration/test_07_web_shell.py, which makes the other user and
// asserts on the output.
//
//   node web_shell.mjs --base URL --rundir DIR --out DIR --password P
//        --other-name N --other-pass P --other-token T --other-id ID
//
// The views of the other engineers (chats, files, send) are replaced by a
// stub module here, so that this script tests the shell alone.
//
// Steps (each one's findings under its own key):
//   auth       a weak password and a wrong one as the form shows them, then
//              registration through the form; the refresh token is only in
//              the HttpOnly cookie, nowhere in localStorage/sessionStorage
//   reload     a reload stays signed in, and the page's requests all end
//   expired    the stored access token replaced by an expired one (signed
//              with the stack's key): a reload renews it before use
//   tabs       two tabs, an expired access token, reloaded at once: one
//              refresh between them
//   skew       the same in a browser whose clock is 2 h behind, so the
//              server answers 401 token_expired and api.js refreshes
//   csp        a WebSocket and a fetch to another origin (localhost for
//              127.0.0.1) are refused by the page's connect-src
//   notfound   an unknown hash
//   profile    the display name and bio edited in Settings, as the other
//              user's People view shows them (as text)
//   follow     follow/unfollow and the counts on both sides; Message
//   sessions   two sessions listed; revoking one signs that browser out at
//              its next request (the bridge's own 4401 is held back there,
//              so that the request is what finds out, every time)
//   password   a wrong current password, a change, sign-out and sign-in
//              with the new password
//   poll       the WebSocket refused (routeWebSocket): the shell long-polls,
//              events arrive; unblocked, it switches back to the WebSocket;
//              then a 4401 token_revoked close signs out without a refresh
//   signout    a request of the view still under way at sign-out (held by
//              the test until the session is revoked) is aborted, not
//              answered 401
//   layout     phone (390x844) and desktop screenshots, no horizontal
//              overflow, keyboard focus
//   errors     every page's console errors, each with the path it concerns
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import * as common from './common.mjs';
import { CHROMIUM, CHROMIUM_ARGS, sleep, report } from './common.mjs';

const ARGS = CHROMIUM_ARGS;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const STUB = 'export function mount(el) { const p = document.createElement("p");'
  + ' p.id = "stub-view"; p.textContent = location.hash; el.append(p); return () => p.remove(); }';

function parseArgs(argv) {
  return common.parseArgs(argv, ['base']);
}

const args = parseArgs(process.argv.slice(2));
const BASE = args.base;
const errors = {}; // console errors per page, filled as the run goes
const result = { ok: false, errors };

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

// The token with exp in the past, signed with the stack's key.
function expire(token) {
  const key = fs.readFileSync(path.join(args.rundir, 'secret.key')).toString('latin1').replace(/[\r\n ]+$/, '');
  const [hdr, payload] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  const now = Math.floor(Date.now() / 1000);
  Object.assign(claims, { iat: now - 960, exp: now - 60, jti: crypto.randomBytes(11).toString('hex') });
  const input = `${hdr}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(crypto.createHmac('sha256', Buffer.from(key, 'latin1')).update(input).digest())}`;
}

async function api(method, p, token, body) {
  const res = await fetch(`${BASE}/api/v1${p}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

async function newPage(browser, name, viewport = DESKTOP, setup = null) {
  const context = await browser.newContext({ viewport });
  await context.route(/\/js\/views\/(chats|files|send)\.js$/, (route) => route.fulfill({
    status: 200, contentType: 'text/javascript', body: STUB }));
  if (setup) await setup(context);
  const page = await context.newPage();
  errors[name] = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const loc = m.location();
    const where = loc && loc.url && /\/api\/v1\//.test(loc.url) ? ` @ ${new URL(loc.url).pathname}` : '';
    errors[name].push(`console: ${m.text()}${where}`);
  });
  page.on('pageerror', (e) => errors[name].push(`pageerror: ${e.message}`));
  return { context, page };
}

const session = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('hs.session')));
const REFRESH_COOKIE = 'hs_refresh';
const refreshCookie = async (context) => (await context.cookies()).find((c) => c.name === REFRESH_COOKIE) || null;

// Where page script could find the refresh token: any storage key or value
// naming it or holding its value, and document.cookie.
async function tokenInReach(page, value) {
  return page.evaluate(([v, name]) => {
    const found = [];
    for (const [label, st] of [['localStorage', localStorage], ['sessionStorage', sessionStorage]]) {
      for (let i = 0; i < st.length; i += 1) {
        const k = st.key(i);
        const val = st.getItem(k) || '';
        if (/refresh/i.test(k) || /refresh_token/.test(val) || (v && val.includes(v))) found.push(`${label}:${k}`);
      }
    }
    if (document.cookie.includes(name) || (v && document.cookie.includes(v))) found.push('document.cookie');
    return found;
  }, [value, REFRESH_COOKIE]);
}

// Requests of the API under way on a page (the long-poll aside), to wait
// until the page is idle before the test changes something under it.
function trackRequests(page) {
  const open = new Set();
  const isApi = (r) => r.url().includes('/api/v1/') && !r.url().includes('/api/v1/updates');
  page.on('request', (r) => { if (isApi(r)) open.add(r); });
  page.on('requestfinished', (r) => open.delete(r));
  page.on('requestfailed', (r) => open.delete(r));
  return async () => {
    for (let quiet = 0; quiet < 3;) {
      await sleep(100);
      quiet = open.size ? 0 : quiet + 1;
    }
  };
}
const view = (page, v) => page.waitForSelector(`main[data-view="${v}"]`, { timeout: 10000 });
const text = (page, sel) => page.locator(sel).first().textContent();

async function uiLogin(page, name, password) {
  await page.waitForSelector('#auth-form');
  await page.fill('#auth-login', name);
  await page.fill('#auth-password', password);
  await page.click('#auth-submit');
}

async function connOpen(page, transport, timeout = 15000) {
  await page.waitForSelector(`#conn[data-state="open"][data-transport="${transport}"]`, { timeout });
}

async function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  const t0 = Date.now();
  try {
    const me = { name: `web_${crypto.randomBytes(5).toString('hex')}`, pass: args.password };
    fs.mkdirSync(args.out, { recursive: true });
    const out = args.out;

    // -- auth: the API's messages, then registration ---------------------
    const A = await newPage(browser, 'a');
    const a = A.page;
    await a.goto(`${BASE}/#/people`);
    await a.waitForSelector('#auth-form');
    result.auth = {};
    await a.click('#auth-switch');
    await a.fill('#auth-login', me.name);
    await a.fill('#auth-email', `${me.name}@example.com`);
    await a.fill('#auth-password', 'short');
    await a.click('#auth-submit');
    await a.waitForSelector('#auth-password-msg.bad');
    result.auth.weak = { msg: await text(a, '#auth-password-msg'),
      code: await a.getAttribute('#auth-error', 'data-code'),
      invalid: await a.getAttribute('#auth-password', 'aria-invalid') };
    await a.screenshot({ path: path.join(out, 'auth-register-desktop.png') });
    await a.click('#auth-switch'); // back to sign in
    await uiLogin(a, args['other-name'], 'not the password at all');
    await a.waitForSelector('#auth-password-msg.bad');
    result.auth.wrong = { msg: await text(a, '#auth-password-msg'),
      code: await a.getAttribute('#auth-error', 'data-code') };
    await a.click('#auth-switch');
    await a.fill('#auth-login', me.name);
    await a.fill('#auth-email', `${me.name}@example.com`);
    await a.fill('#auth-password', me.pass);
    await a.click('#auth-submit');
    await view(a, 'people');
    await connOpen(a, 'ws');
    const s1 = await session(a);
    me.id = s1.user.id;
    result.me_id = me.id;
    const c1 = await refreshCookie(A.context);
    result.cookie = { present: !!c1, httpOnly: c1 && c1.httpOnly, sameSite: c1 && c1.sameSite,
      path: c1 && c1.path, secure: c1 && c1.secure, in_reach: await tokenInReach(a, c1 && c1.value),
      stored_keys: Object.keys(s1).sort() };
    result.auth.registered = { user: s1.user.username, id_ok: /^[0-9a-f]{24}$/.test(me.id),
      conn: await text(a, '#conn .conn-label'), nav: await a.locator('nav.mainnav a').count(),
      active: await a.getAttribute('nav.mainnav a[aria-current="page"]', 'href') };

    // -- reload ----------------------------------------------------------
    await a.reload();
    await view(a, 'people');
    // Every request of the page ends (the WebSocket aside): a response left
    // unread would keep it busy for good.
    const settled = await a.waitForLoadState('networkidle', { timeout: 10000 })
      .then(() => true, () => false);
    result.reload = { signed_in: (await a.locator('#auth-form').count()) === 0, settled,
      same_session: (await session(a)).session_id === s1.session_id,
      in_reach: await tokenInReach(a, c1 && c1.value) };

    // -- an expired access token: renewed before use ----------------------
    const forged = expire(s1.access_token);
    const check = await api('GET', '/auth/me', forged);
    await a.evaluate((t) => {
      const s = JSON.parse(localStorage.getItem('hs.session'));
      s.access_token = t;
      localStorage.setItem('hs.session', JSON.stringify(s));
    }, forged);
    await a.reload();
    await view(a, 'people');
    await connOpen(a, 'ws');
    const s2 = await session(a);
    const c2 = await refreshCookie(A.context);
    result.expired = { server_says: check.body && check.body.error && check.body.error.code,
      signed_in: (await a.locator('#auth-form').count()) === 0,
      access_renewed: s2.access_token !== forged, refresh_rotated: !!c2 && c2.value !== c1.value,
      me_ok: (await api('GET', '/auth/me', s2.access_token)).status === 200,
      in_reach: await tokenInReach(a, c2 && c2.value) };

    // -- two tabs of one browser, both with an expired access token,
    // started at once: the refreshes run one at a time under the lock (the
    // cookie is single-use), and the second tab takes the token the first
    // one stored; none is refused ---------------------------------------
    {
      const a3 = await A.context.newPage();
      errors.a3 = [];
      a3.on('console', (m) => { if (m.type() === 'error') errors.a3.push(`console: ${m.text()}`); });
      a3.on('pageerror', (e) => errors.a3.push(`pageerror: ${e.message}`));
      await a3.goto(`${BASE}/#/people`);
      await view(a3, 'people');
      const refreshes = [];
      const onResponse = (r) => {
        if (r.url().endsWith('/api/v1/auth/refresh')) refreshes.push(r.status());
      };
      A.context.on('response', onResponse);
      // Both tabs leave the app (a page of the origin without its script),
      // so that nothing renews the token before both start again at once.
      await Promise.all([a.goto(`${BASE}/openapi.json`), a3.goto(`${BASE}/openapi.json`)]);
      const forged2 = expire(s2.access_token);
      await a.evaluate((t) => {
        const s = JSON.parse(localStorage.getItem('hs.session'));
        s.access_token = t;
        localStorage.setItem('hs.session', JSON.stringify(s));
      }, forged2);
      const before = await refreshCookie(A.context);
      await Promise.all([a.goto(`${BASE}/#/people`), a3.goto(`${BASE}/#/people`)]);
      await Promise.all([view(a, 'people'), view(a3, 'people')]);
      await Promise.all([connOpen(a, 'ws'), connOpen(a3, 'ws')]);
      const [t1, t3] = [await session(a), await session(a3)];
      const after = await refreshCookie(A.context);
      A.context.off('response', onResponse);
      result.tabs = { refreshes,
        both_valid: (await api('GET', '/auth/me', t1.access_token)).status === 200
          && (await api('GET', '/auth/me', t3.access_token)).status === 200,
        renewed: t1.access_token !== forged2, rotated: after.value !== before.value,
        signed_in: (await a3.locator('#auth-form').count()) === 0 };
      await a3.close();
    }

    // -- the same with a clock 2 h slow: the server's 401 token_expired ---
    {
      const login = await api('POST', '/auth/login', null, { username: me.name, password: me.pass, cookie: true });
      const sk = { access_token: expire(login.body.access_token), cookie: true,
        session_id: login.body.session_id, user: { id: me.id, username: me.name } };
      const skCookie = login.headers.get('set-cookie').split(';')[0].split('=')[1];
      // the view's first list, held until the sign-out below has revoked the session
      let heldSeen;
      const held = new Promise((r) => { heldSeen = r; });
      let release;
      const released = new Promise((r) => { release = r; });
      const K = await newPage(browser, 'skew', DESKTOP, async (c) => {
        await c.addCookies([{ name: REFRESH_COOKIE, value: skCookie, domain: new URL(BASE).hostname,
          path: '/api/v1/auth/refresh', httpOnly: true, sameSite: 'Strict' }]);
        await c.route(/\/api\/v1\/users\/[0-9a-f]{24}\/following/, async (route) => {
          heldSeen();
          await released;
          await route.continue().catch(() => {}); // the page may have aborted it
        });
        await c.addInitScript((s) => {
          if (!sessionStorage.getItem('seeded')) {
            localStorage.setItem('hs.session', s);
            sessionStorage.setItem('seeded', '1');
          }
        }, JSON.stringify(sk));
      });
      await K.page.clock.install({ time: new Date(Date.now() - 2 * 3600 * 1000) });
      const statuses = [];
      K.page.on('response', (r) => {
        if (r.url().includes('/api/v1/')) statuses.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
      });
      await K.page.goto(`${BASE}/#/people`);
      await view(K.page, 'people');
      const sks = await session(K.page);
      const kc = await refreshCookie(K.context);
      result.skew = { signed_in: (await K.page.locator('#auth-form').count()) === 0,
        renewed: sks.access_token !== sk.access_token && !!kc && kc.value !== skCookie,
        statuses: statuses.slice(0, 3) };
      // This session is done with: sign it out so the sessions step sees two.
      // The view's list request is under way (held above) when the sign-out
      // revokes the session, then let go: the page must have aborted it
      // rather than show its 401.
      await held;
      await K.page.click('button.signout');
      await K.page.waitForSelector('#auth-form');
      await K.page.waitForFunction(() => !localStorage.getItem('hs.session'));
      release();
      await sleep(500);
      result.signout = { statuses: statuses.slice(3).filter((x) => !x.includes('/p2p/')),
        cookie_after: await refreshCookie(K.context) };
      await K.context.close();
    }

    // -- the CSP: another origin cannot be reached from the page ------------
    {
      const C = await newPage(browser, 'csp');
      await C.page.goto(`${BASE}/`);
      await C.page.waitForSelector('#auth-form');
      const other = BASE.replace('127.0.0.1', 'localhost'); // same port, another origin
      result.csp = await C.page.evaluate(async (o) => {
        const seen = [];
        document.addEventListener('securitypolicyviolation',
          (e) => seen.push(`${e.effectiveDirective} ${e.blockedURI}`));
        try {
          const ws = new WebSocket(`${o.replace('http', 'ws')}/ws`);
          await new Promise((r) => { ws.onerror = r; ws.onopen = r; setTimeout(r, 2000); });
          seen.push(`ws ${ws.readyState === WebSocket.OPEN ? 'open' : 'not open'}`);
        } catch (e) {
          seen.push(`ws ${e.name}`);
        }
        try {
          await fetch(`${o}/health`);
          seen.push('fetch ok');
        } catch (e) {
          seen.push(`fetch ${e.name}`);
        }
        await new Promise((r) => setTimeout(r, 100));
        return seen.sort();
      }, other);
      result.csp_other = other;
      await C.context.close();
    }

    // -- 404 ---------------------------------------------------------------
    await a.goto(`${BASE}/#/no/such/page`);
    await view(a, 'notfound');
    result.notfound = { title: await text(a, 'main h1'), link: await a.getAttribute('main a', 'href') };

    // -- profile edit, seen by the other user --------------------------------
    await a.goto(`${BASE}/#/settings`);
    await view(a, 'settings');
    const display = 'Tess <b>Tester</b>';
    const bio = 'Line one & "two"\n<img src=x onerror=alert(1)>';
    await a.fill('#profile-display-name', display);
    await a.fill('#profile-bio-input', bio);
    await a.click('#profile-save');
    await a.waitForFunction(() => document.querySelector('#profile-status').textContent === 'Profile saved.');
    result.profile = { header_name: await text(a, '.who-name') };
    await a.screenshot({ path: path.join(out, 'settings-desktop.png'), fullPage: true });

    const B = await newPage(browser, 'b', PHONE);
    const b = B.page;
    await b.goto(`${BASE}/#/people`);
    await uiLogin(b, args['other-name'], args['other-pass']);
    await view(b, 'people');
    await b.fill('#people-q', me.name.slice(0, 8));
    await b.waitForSelector(`#people-results a[data-user-id="${me.id}"]`);
    result.profile.search_row = await text(b, `#people-results a[data-user-id="${me.id}"] .userrow-name`);
    await b.screenshot({ path: path.join(out, 'people-search-phone.png') });
    await b.click(`#people-results a[data-user-id="${me.id}"]`);
    await b.waitForSelector('#profile-name');
    Object.assign(result.profile, { name: await text(b, '#profile-name'), bio: await text(b, '#profile-bio'),
      username: await text(b, '#profile-username'), hash: new URL(b.url()).hash,
      injected: await b.locator('main b, main img').count() });

    // -- follow / unfollow --------------------------------------------------
    const counts = async (p) => ({ followers: Number(await text(p, '#count-followers')),
      following: Number(await text(p, '#count-following')) });
    result.follow = { before: await counts(b), button: await text(b, '#follow') };
    await b.click('#follow');
    await b.waitForSelector('#follow[aria-pressed="true"]');
    result.follow.after = await counts(b);
    result.follow.button_after = await text(b, '#follow');
    await b.click('#show-followers');
    await b.waitForSelector(`#profile-list a[data-user-id="${args['other-id']}"]`);
    result.follow.listed = await b.locator('#profile-list .userlist li').count();
    await b.screenshot({ path: path.join(out, 'people-profile-phone.png'), fullPage: true });
    result.layout = { phone_overflow: await overflow(b) };
    await a.goto(`${BASE}/#/people/${me.id}`);
    await a.waitForSelector('#profile-name');
    result.follow.own_view = await counts(a);
    await a.click('#show-followers');
    await a.waitForSelector(`#profile-list a[data-user-id="${args['other-id']}"]`);
    await a.screenshot({ path: path.join(out, 'people-profile-desktop.png'), fullPage: true });
    result.layout.desktop_overflow = await overflow(a);
    await b.goto(`${BASE}/#/people/${args['other-id']}`);
    await b.waitForSelector('#profile-name');
    result.follow.other_own = await counts(b);
    await b.goBack();
    await b.waitForSelector('#follow[aria-pressed="true"]');
    await b.click('#follow');
    await b.waitForSelector('#follow[aria-pressed="false"]');
    result.follow.unfollowed = await counts(b);
    await b.click('#message');
    await b.waitForSelector('#stub-view');
    result.follow.message_hash = new URL(b.url()).hash;
    const chats = await api('GET', '/chats', args['other-token']);
    result.follow.direct_chat = (chats.body.items || []).some((c) => c.kind === 'direct'
      && `#/chats/${c.id}` === result.follow.message_hash);
    result.follow.chat_id = result.follow.message_hash.split('/')[2];

    // -- sessions: two, one revoked -------------------------------------------
    // The bridge checks each connection's session at its own moment of a
    // heartbeat period, and may close a2's socket (4401 token_revoked)
    // before or after a2's next request: its closes are held back here, so
    // the request is what finds out (the socket's way is the poll step's).
    const A2 = await newPage(browser, 'a2', DESKTOP, async (c) => {
      await c.routeWebSocket(/\/ws(\?|$|\/)/, (ws) => {
        const server = ws.connectToServer();
        server.onClose(() => {});
      });
    });
    const a2 = A2.page;
    const a2idle = trackRequests(a2);
    await a2.goto(`${BASE}/#/people`);
    await uiLogin(a2, me.name, me.pass);
    await view(a2, 'people');
    await connOpen(a2, 'ws');
    await a2idle();
    const a2sid = (await session(a2)).session_id;
    await a.goto(`${BASE}/#/settings`);
    await a.waitForSelector('#sessions[data-count]');
    result.sessions = { count: Number(await a.getAttribute('#sessions', 'data-count')),
      current: await a.locator('#sessions li[data-current="true"]').count(),
      current_is_mine: await a.getAttribute('#sessions li[data-current="true"]', 'data-session-id')
        === (await session(a)).session_id,
      device: await text(a, '#sessions li[data-current="true"] strong') };
    await a.screenshot({ path: path.join(out, 'sessions-desktop.png'), fullPage: true });
    await a.click(`#sessions li[data-session-id="${a2sid}"] button.revoke`);
    await a.waitForSelector('#sessions[data-count="1"]');
    result.sessions.after = Number(await a.getAttribute('#sessions', 'data-count'));
    // The revoked browser's next request lands on the sign-in view.
    await a2.goto(`${BASE}/#/people/${me.id}`);
    await a2.waitForSelector('#auth-form', { timeout: 10000 });
    result.sessions.revoked_signed_out = true;
    result.sessions.notice = await text(a2, '.notice');
    result.sessions.stored = await session(a2);
    await a2.reload();
    await a2.waitForSelector('#auth-form');

    // -- change password --------------------------------------------------------
    const extra = await api('POST', '/auth/login', null, { username: me.name, password: me.pass });
    await a.reload();
    await a.waitForSelector('#sessions[data-count="2"]');
    const newPass = `${me.pass} again`;
    await a.fill('#pw-old', 'this is not it');
    await a.fill('#pw-new', newPass);
    await a.fill('#pw-again', newPass);
    await a.click('#pw-submit');
    await a.waitForSelector('#pw-old-msg.bad');
    result.password = { wrong: { msg: await text(a, '#pw-old-msg'), code: await a.getAttribute('#pw-status', 'data-code') } };
    await a.fill('#pw-old', me.pass);
    await a.fill('#pw-again', 'something else');
    await a.click('#pw-submit');
    await a.waitForSelector('#pw-again-msg.bad');
    result.password.mismatch = await text(a, '#pw-again-msg');
    await a.fill('#pw-again', newPass);
    await a.click('#pw-submit');
    await a.waitForSelector('#pw-status[data-code="ok"]');
    result.password.status = await text(a, '#pw-status');
    await a.waitForSelector('#sessions[data-count="1"]');
    result.password.extra_revoked = (await api('GET', '/auth/me', extra.body.access_token)).body.error.code;
    result.password.still_signed_in = (await a.locator('#auth-form').count()) === 0;
    await a.click('#settings-signout');
    await a.waitForSelector('#auth-form');
    result.password.signed_out_stored = await session(a);
    await uiLogin(a, me.name, me.pass);
    await a.waitForSelector('#auth-password-msg.bad');
    result.password.old_refused = await a.getAttribute('#auth-error', 'data-code');
    await a.fill('#auth-password', newPass);
    await a.click('#auth-submit');
    await view(a, 'settings');
    result.password.new_works = true;
    me.pass = newPass;

    // -- long-poll when the WebSocket is refused ---------------------------------
    let blocked = true;
    let lastWs = null;
    const P = await newPage(browser, 'poll', DESKTOP, async (c) => {
      await c.routeWebSocket(/\/ws(\?|$|\/)/, (ws) => {
        if (blocked) ws.close({ code: 1011, reason: 'blocked by the test' });
        else {
          ws.connectToServer();
          lastWs = ws;
        }
      });
      await c.addInitScript(() => localStorage.setItem('hs.realtime', JSON.stringify({ probeMin: 1500, probeMax: 1500 })));
    });
    const p = P.page;
    await p.goto(`${BASE}/#/people`);
    await uiLogin(p, me.name, me.pass);
    await view(p, 'people');
    const tPoll = Date.now();
    await connOpen(p, 'poll', 20000);
    result.poll = { fallback_ms: Date.now() - tPoll, label: await text(p, '#conn .conn-label') };
    const events0 = Number(await p.getAttribute('#conn', 'data-events'));
    const chatId = result.follow.chat_id;
    const sent = await api('POST', '/messages', args['other-token'], { chat_id: chatId, content: 'over long-poll' });
    await p.waitForFunction((id) => document.querySelector('#conn').dataset.lastType === 'message.created'
      && document.querySelector('#conn').dataset.events !== id, String(events0), { timeout: 10000 });
    result.poll.event = { type: await p.getAttribute('#conn', 'data-last-type'), sent: sent.status,
      events: Number(await p.getAttribute('#conn', 'data-events')) - events0,
      transport: await p.getAttribute('#conn', 'data-transport') };
    await p.screenshot({ path: path.join(out, 'poll-desktop.png') });
    blocked = false;
    await connOpen(p, 'ws', 20000);
    result.poll.back_to_ws = true;
    const before = Number(await p.getAttribute('#conn', 'data-events'));
    await api('POST', '/messages', args['other-token'], { chat_id: chatId, content: 'over the websocket' });
    await p.waitForFunction((n) => Number(document.querySelector('#conn').dataset.events) > n, before, { timeout: 10000 });
    await sleep(300);
    result.poll.ws_events = Number(await p.getAttribute('#conn', 'data-events')) - before;
    // The bridge's close for a revoked session: signed out, no refresh tried.
    const pStatuses = [];
    p.on('response', (r) => {
      if (r.url().includes('/api/v1/auth/')) pStatuses.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
    });
    await lastWs.close({ code: 4401, reason: 'token_revoked' });
    await p.waitForSelector('#auth-form', { timeout: 10000 });
    await sleep(300);
    result.poll.revoked = { notice: await text(p, '.notice'), auth_requests: pStatuses,
      stored: await session(p) };

    // -- layout: keyboard and screens ------------------------------------------
    await b.goto(`${BASE}/#/settings`);
    await view(b, 'settings');
    await b.waitForSelector('#sessions[data-count]');
    await b.screenshot({ path: path.join(out, 'settings-phone.png'), fullPage: true });
    result.layout.phone_settings_overflow = await overflow(b);
    result.layout.phone_nav_bottom = await b.evaluate(() => {
      const r = document.querySelector('nav.mainnav').getBoundingClientRect();
      return Math.round(window.innerHeight - r.bottom);
    });
    await b.goto(`${BASE}/#/nothing-here`);
    await view(b, 'notfound');
    await b.screenshot({ path: path.join(out, 'notfound-phone.png') });
    await a.goto(`${BASE}/#/people`);
    await view(a, 'people');
    await a.screenshot({ path: path.join(out, 'people-desktop.png') });
    await a.goto(`${BASE}/#/settings`);
    await a.reload(); // a fresh page: nothing focused yet
    await view(a, 'settings');
    await a.keyboard.press('Tab');
    result.layout.first_tab = await a.evaluate(() => document.activeElement.className);
    await a.keyboard.press('Enter');
    result.layout.skip_to = await a.evaluate(() => document.activeElement.id);
    result.elapsed_ms = Date.now() - t0;
    result.ok = true;
  } finally {
    await browser.close();
  }
}

report(main, result);
