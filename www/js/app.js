// The web client's shell: the session of js/session.js (the access token
// and who signed in, shared by the tabs; the refresh token only in an
// HttpOnly cookie), renewed silently; one real-time connection for every
// view (the WebSocket, or the long-poll of js/poll.js when the WebSocket
// cannot connect), the navigation, and a hash router that mounts one view
// at a time. Views live in js/views/<name>.js and export
//
//   mount(el, ctx, params) -> unmount()
//
// ctx (the same object for every view):
//   api       Api (js/api.js): get/post/put/del relative to /api/v1, ApiError
//   socket    Realtime (js/poll.js), Socket's interface (js/ws.js): on(type, fn)
//             for server events ("message.created", "typing", "transfer.offer",
//             ...), off(type, fn), send(obj); also .transport ('ws' | 'poll')
//             and a 'transport' event. Over long-poll there is no typing nor
//             presence, and send() carries only chat_message, read and ping
//             (answered with the same ack/pong); it returns false otherwise
//   me        the signed-in user ({id, username, display_name, ...}, the
//             self view of GET /auth/me); updateMe(fields) changes it
//   toast(text, kind)      a short message ('info' | 'error')
//   navigate(hash)         e.g. navigate('#/chats/<id>')
//   fmt       {bytes(n), duration(s), time(iso), ago(iso)}
//   describe(err)          what a person should read for an error
//   signOut() ends the session (and shows the sign-in view)
//   h, avatar, nameOf      DOM helpers of js/dom.js (no innerHTML)
//   css(name)              adds /css/<name>.css once; resolves when loaded

import { ApiError, describe } from './api.js';
import { Realtime } from './poll.js';
import { SESSION_GONE, SESSION_KEY, SessionApi, loadSession, resumeSession, saveSession }
  from './session.js';
import { h, avatar, nameOf, icon } from './dom.js';
import { bytes, duration } from './format.js';

const LAST_ID_KEY = 'hs.last_event';

// hash -> view module, in order; the first match wins. "(id)" captures.
const ROUTES = [
  [/^#\/chats\/([0-9a-f]{24})$/, 'chats', ['chat_id']],
  [/^#\/chats$/, 'chats', []],
  [/^#\/files$/, 'files', []],
  [/^#\/send$/, 'send', []],
  [/^#\/people\/([0-9a-f]{24})$/, 'people', ['user_id']],
  [/^#\/people$/, 'people', []],
  [/^#\/settings$/, 'settings', []],
];
const NAV = [
  ['#/chats', 'Chats', 'M4 5h16v11H9l-5 4z'],
  ['#/files', 'Files', 'M6 3h8l4 4v14H6z|M14 3v4h4'],
  ['#/send', 'Send', 'M3 11l18-8-8 18-2-8z'],
  ['#/people', 'People', 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z|M2 21c0-4 3-6 7-6s7 2 7 6|M17 4a4 4 0 0 1 0 7|M19 15c2 1 3 3 3 6'],
  ['#/settings', 'Settings', 'M12 16a4 4 0 1 0 0-8 4 4 0 0 0 0 8z|M12 2v3|M12 19v3|M4.9 4.9l2.1 2.1|M17 17l2.1 2.1|M2 12h3|M19 12h3|M4.9 19.1L7 17|M17 7l2.1-2.1'],
];
const CONN_LABEL = {
  'ws:open': 'Live', 'poll:open': 'Polling', 'ws:connecting': 'Connecting…',
  'poll:connecting': 'Reconnecting…', 'ws:closed': 'Offline', 'poll:closed': 'Offline',
};

const app = document.getElementById('app');
let ctx = null;
let unmount = null;
let shown = 0; // the latest show(): an older one still loading its module gives way

export const fmt = {
  bytes,
  duration,
  time(iso) {
    const d = new Date(iso);
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
      : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  },
  // "just now", "5 min ago", "3 h ago", else the date.
  ago(iso) {
    const s = (Date.now() - new Date(iso).getTime()) / 1000;
    if (!Number.isFinite(s)) return '';
    if (s < 60) return 'just now';
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return new Date(iso).toLocaleDateString([], { year: 'numeric', month: 'short', day: 'numeric' });
  },
};

// A short message at the bottom of the screen; errors stay longer and are
// announced at once. A click dismisses it.
export function toast(text, kind = 'info') {
  const box = document.getElementById('toasts');
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : null },
    text);
  el.addEventListener('click', () => el.remove());
  box.append(el);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(() => el.remove(), kind === 'error' ? 6000 : 3500);
}

function css(name) {
  const href = `/css/${name}.css`;
  let link = document.querySelector(`link[rel="stylesheet"][href="${href}"]`);
  if (!link) {
    link = h('link', { rel: 'stylesheet', href });
    link.loaded = new Promise((resolve) => {
      link.addEventListener('load', resolve, { once: true });
      link.addEventListener('error', resolve, { once: true });
    });
    document.head.append(link);
  }
  return link.loaded || Promise.resolve();
}

// Realtime's timings may be shortened for tests: localStorage 'hs.realtime'
// = {"fallbackAfter": n, "patience": ms, "probeMin": ms, "probeMax": ms}.
function tuning() {
  try {
    const t = JSON.parse(localStorage.getItem('hs.realtime')) || {};
    const out = {};
    for (const k of ['fallbackAfter', 'patience', 'probeMin', 'probeMax']) {
      if (Number.isFinite(t[k]) && t[k] > 0) out[k] = t[k];
    }
    return out;
  } catch (e) {
    return {};
  }
}

function route() {
  const hash = location.hash;
  if (!hash || hash === '#' || hash === '#/') return { view: 'chats', params: {} };
  for (const [re, view, names] of ROUTES) {
    const m = hash.match(re);
    if (m) {
      const params = {};
      names.forEach((n, i) => { params[n] = m[i + 1]; });
      return { view, params };
    }
  }
  return { view: null, params: { hash } };
}

function notFound(main, hash) {
  main.append(h('section', { class: 'notfound card' },
    h('h1', {}, 'Page not found'),
    h('p', {}, 'There is no page at ', h('code', {}, hash), '.'),
    h('p', {}, h('a', { href: '#/chats' }, 'Go to your chats'))));
  document.title = 'Not found · Hypersend';
}

async function show(focus = false) {
  if (!ctx) return;
  const seq = ++shown;
  const { view, params } = route();
  const current = location.hash || '#/chats';
  for (const a of app.querySelectorAll('nav.mainnav a')) {
    const on = current === a.getAttribute('href') || current.startsWith(`${a.getAttribute('href')}/`);
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const main = app.querySelector('main');
  unmountView();
  main.replaceChildren();
  main.dataset.view = view || 'notfound';
  const label = NAV.find(([href]) => current.startsWith(href));
  document.title = label ? `${label[1]} · Hypersend` : 'Hypersend';
  if (!view) {
    notFound(main, params.hash);
  } else {
    try {
      const mod = await import(`./views/${view}.js`);
      if (seq !== shown || !ctx) return;
      unmount = mod.mount(main, ctx, params) || null;
    } catch (e) {
      if (seq !== shown) return;
      main.replaceChildren(h('p', { class: 'error', role: 'alert' },
        `This page could not be shown: ${describe(e)}`));
    }
  }
  if (focus) main.focus({ preventScroll: true });
}

function connIndicator() {
  return h('span', { class: 'conn', id: 'conn', role: 'status', title: 'Real-time connection',
    dataset: { state: 'connecting', transport: 'ws', events: '0' } },
  h('span', { class: 'conn-dot', 'aria-hidden': 'true' }),
  h('span', { class: 'conn-label' }, 'Connecting…'));
}

function updateConn() {
  const el = document.getElementById('conn');
  if (!el || !ctx) return;
  const s = ctx.socket;
  el.dataset.state = s.state;
  el.dataset.transport = s.transport;
  const label = CONN_LABEL[`${s.transport}:${s.state}`] || s.state;
  el.querySelector('.conn-label').textContent = label;
  el.title = s.transport === 'poll'
    ? `Real-time updates by long-polling (the WebSocket is unavailable): ${label}`
    : `Real-time connection: ${label}`;
}

function layout() {
  app.replaceChildren();
  const nav = h('nav', { class: 'mainnav', 'aria-label': 'Main' },
    NAV.map(([href, label, d]) => h('a', { href, dataset: { nav: label.toLowerCase() } },
      icon(d, 'nav-icon'), h('span', { class: 'nav-label' }, label))));
  const who = h('a', { class: 'who', href: '#/settings', title: 'Your account' },
    avatar(ctx.me, 28), h('span', { class: 'who-name' }, nameOf(ctx.me)));
  const out = h('button', { type: 'button', class: 'link signout', onclick: () => ctx.signOut() },
    'Sign out');
  const header = h('header', { class: 'topbar' },
    h('a', { class: 'skip', href: '#main', onclick: (e) => {
      e.preventDefault();
      app.querySelector('main').focus();
    } }, 'Skip to content'),
    h('a', { class: 'brand', href: '#/chats' }, 'Hypersend'),
    nav, connIndicator(), who, out);
  const main = h('main', { id: 'main', tabindex: '-1' });
  app.append(header, main);
}

function refreshWho() {
  const who = app.querySelector('.who');
  if (!who || !ctx) return;
  who.replaceChildren(avatar(ctx.me, 28), h('span', { class: 'who-name' }, nameOf(ctx.me)));
}

// Unmounts the current view; a view that throws on the way out does not stop
// the shell (the error is reported on its own).
function unmountView() {
  if (unmount) {
    try {
      unmount();
    } catch (e) {
      setTimeout(() => { throw e; });
    }
  }
  unmount = null;
}

// Tears the signed-in shell down (views, connection) without touching the
// stored session.
function teardown() {
  if (!ctx) return;
  const old = ctx;
  ctx = null;
  // uploads and transfers belong to the session, not to a view
  import('./files/uploads.js').then((m) => m.stopUploads()).catch(() => {});
  import('./files/p2p-session.js').then((m) => m.stopP2P()).catch(() => {});
  old.socket.close();
  unmountView();
}

// The session ended without the user asking (revoked from another device,
// signed out in another tab, the refresh token refused).
function sessionEnded(notice) {
  if (!ctx) return;
  const { api } = ctx;
  teardown();
  api.abortAll(); // their answers would only be more 401s
  api.session = null; // nothing of it is usable any more
  saveSession(null);
  localStorage.removeItem(LAST_ID_KEY);
  signIn(notice);
}

// The signed-in shell; me: GET /auth/me's answer when the caller has it.
// Whether this server offers a WebSocket: /health says "websocket": false
// when no bridge runs (events = store); anything else (an older server, a
// failed request) keeps trying the WebSocket first.
async function offersWebSocket(api) {
  try {
    const r = await fetch(`${api.base}/health`, { cache: 'no-store' });
    return (await r.json()).websocket !== false;
  } catch (e) {
    return true;
  }
}

async function start(api, me = null) {
  const ws = offersWebSocket(api);
  if (!me) me = await api.get('/auth/me');
  const socket = new Realtime({
    api, since: localStorage.getItem(LAST_ID_KEY), websocket: await ws, ...tuning(),
  });
  let count = 0;
  socket.on('event', (ev) => {
    if (!ev.id) return;
    localStorage.setItem(LAST_ID_KEY, ev.id);
    count += 1;
    const el = document.getElementById('conn');
    if (el) Object.assign(el.dataset, { events: String(count), lastEvent: ev.id, lastType: ev.type });
  });
  socket.on('state', updateConn);
  // The bridge closes with 4401 and the reason token_revoked (or a disabled
  // account) when the session ended elsewhere; the socket does not retry
  // (js/ws.js), and the shell signs out as after a REST 401 of that kind.
  socket.on('close', (c) => {
    if (c && c.code === 4401 && !c.willRetry && SESSION_GONE.has(c.reason) && api.onGone) {
      api.onGone(c);
    }
  });
  socket.on('transport', (t) => {
    updateConn();
    if (t === 'poll') toast('Live updates are unavailable; checking for updates by polling instead.');
  });
  let signingOut = false;
  api.onGone = () => {
    if (!signingOut) sessionEnded('Your session has ended. Please sign in again.');
  };
  api.onTokens = (session) => {
    saveSession(session);
    if (!session && !signingOut) sessionEnded('Your session has ended. Please sign in again.');
  };
  ctx = {
    api, socket, me, toast, fmt, describe, h, avatar, nameOf, css,
    navigate(hash) { location.hash = hash; },
    updateMe(fields) {
      Object.assign(me, fields);
      refreshWho();
    },
    async signOut() {
      signingOut = true;
      teardown();
      // Requests of the views still under way would come back 401 once the
      // session is revoked: drop them first.
      api.abortAll();
      localStorage.removeItem(LAST_ID_KEY);
      await api.logout(); // forgets the tokens whatever the server says
      signIn();
    },
  };
  layout();
  socket.connect();
  updateConn();
  // Offers arrive whatever view is open: the P2P session collects them for
  // the Send view, and a toast says so elsewhere.
  const session = ctx;
  import('./files/p2p-session.js').then((m) => { if (ctx === session) m.p2pFor(session); })
    .catch(() => {});
  socket.on('transfer.offer', (t) => {
    if (ctx !== session || (location.hash || '').startsWith('#/send')) return;
    const from = t && t.sender ? nameOf(t.sender) : 'Someone';
    toast(`${from} wants to send you ${t.filename} (${fmt.bytes(t.size)}). Open Send to accept.`);
  });
  await show();
}

async function signIn(notice = '') {
  const api = new SessionApi({ onTokens: saveSession });
  app.replaceChildren();
  document.title = 'Sign in · Hypersend';
  const mod = await import('./views/auth.js');
  mod.mount(app, { api, toast, describe, fmt }, {
    notice,
    async done() {
      await start(api); // replaces the sign-in view with the shell
    },
  });
}

// Another tab of this browser changed the session: follow it.
window.addEventListener('storage', (e) => {
  if (e.key !== SESSION_KEY && e.key !== null) return;
  const session = loadSession();
  if (ctx) {
    if (!session) sessionEnded('You signed out in another tab.');
    else if (session.user && session.user.id === ctx.me.id) ctx.api.session = session;
    else location.reload();
  } else if (session && document.querySelector('.auth')) {
    location.reload(); // signed in in another tab
  }
});

window.addEventListener('hashchange', () => show(true));

// A server that cannot start (its data folder refused or unwritable, a bad
// configuration) answers every request with a 503 whose code starts with
// setup_, a message naming the problem and a hint naming the fix: the page
// shows them instead of a sign-in form that cannot work.
async function setupProblem() {
  try {
    // The body is read whatever the status: a response left unread stays
    // in flight in Chromium (the page never reaches network idle).
    const r = await fetch('/health', { cache: 'no-store' });
    const body = await r.json().catch(() => null);
    const err = r.status === 503 && body ? body.error : null;
    return err && String(err.code).startsWith('setup_') ? err : null;
  } catch (e) {
    return null;
  }
}

function showSetup(err) {
  app.replaceChildren(h('section', { class: 'auth setup', id: 'setup' },
    h('h1', {}, 'Hypersend cannot start yet'),
    h('p', { class: 'error', role: 'alert' }, err.message),
    ...(err.hint ? [h('p', {}, `To fix it: ${err.hint}.`)] : []),
    h('p', {}, h('code', {}, err.code)),
    h('button', { type: 'button', class: 'primary', onclick: () => location.reload() },
      'Try again')));
}

(async () => {
  const problem = await setupProblem();
  if (problem) {
    showSetup(problem);
    return;
  }
  const session = loadSession();
  if (!session) {
    await signIn();
    return;
  }
  const api = new SessionApi({ session, onTokens: saveSession });
  try {
    await start(api, await resumeSession(api));
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      saveSession(null);
      await signIn('Your session has ended. Please sign in again.');
    } else {
      app.replaceChildren(h('section', { class: 'auth' },
        h('h1', {}, 'Hypersend'),
        h('p', { class: 'error', role: 'alert' },
          `The server could not be reached: ${describe(e)}`),
        h('button', { type: 'button', class: 'primary', onclick: () => location.reload() },
          'Try again')));
    }
  }
})();
