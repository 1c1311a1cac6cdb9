// The standalone P2P page (www/p2p.html): the Send view of the web client
// (js/views/send.js, on the P2P session of js/files/p2p-session.js) on a
// page of its own, with its own sign-in form and a WebSocket of its own. The
// session is the browser's one session (js/session.js), shared with the
// other pages of the origin. All the sending and receiving is the view's;
// this file only signs in and out and gives the view its ctx.
//
// The URL may carry relay_after=<ms> (how long mode "auto" waits for the
// direct connection; 15000 by default).

import { describe } from './api.js';
import { Socket } from './ws.js';
import { SESSION_GONE, SESSION_KEY, SessionApi, loadSession, resumeSession, saveSession }
  from './session.js';
import { say } from './files/dom.js';
import { p2pFor, stopP2P } from './files/p2p-session.js';
import { mount } from './views/send.js';
import { bytes, duration } from './format.js';

const $ = (id) => document.getElementById(id);
const fmt = { bytes, duration };
// The view's elements under this page's ids (tests/node/p2p_browser.mjs).
const IDS = {
  to: 'to', results: 'to-results', chosen: 'to-chosen', file: 'file', mode: 'mode',
  submit: 'send', error: 'send-error', offers: 'offers', transfers: 'transfers',
};

const api = new SessionApi({ session: loadSession(), onTokens: saveSession });
let ctx = null; // the signed-in page's ctx, as the shell gives a view
let unmount = null;

function showAuth() {
  $('app').hidden = true;
  $('account').hidden = true;
  $('auth').hidden = false;
  $('login-username').focus();
}

function signedIn(me) {
  $('auth').hidden = true;
  say($('auth-error'), '');
  $('whoami').textContent = me.username;
  $('account').hidden = false;
  $('app').hidden = false;

  const socket = new Socket({ api });
  socket.on('state', (st) => {
    const c = $('conn');
    c.textContent = st === 'open' ? 'live' : st;
    c.classList.toggle('open', st === 'open');
  });
  // The session refused, or ended elsewhere (it is the other pages' too).
  socket.on('close', ({ code, reason, willRetry }) => {
    if (!willRetry && code === 4401 && (!api.session || SESSION_GONE.has(reason))) {
      signOut('Your session ended; please sign in again.', true);
    }
  });
  ctx = { api, socket, me, fmt, describe, signOut };
  unmount = mount($('app'), ctx, { ids: IDS });
  socket.connect();
}

// Signs out (ended: the session is over already, nothing to tell the
// server).
async function signOut(why = '', ended = false) {
  if (!ctx) return;
  const { socket } = ctx;
  ctx = null;
  stopP2P();
  if (unmount) unmount();
  unmount = null;
  socket.close();
  if (ended) {
    api.abortAll();
    api.setSession(null);
  } else {
    await api.logout();
  }
  say($('notice'), why);
  showAuth();
}

function bindAuth() {
  const tab = (which) => {
    const login = which === 'login';
    $('tab-login').classList.toggle('active', login);
    $('tab-register').classList.toggle('active', !login);
    $('login-form').hidden = !login;
    $('register-form').hidden = login;
    say($('auth-error'), '');
  };
  $('tab-login').addEventListener('click', () => tab('login'));
  $('tab-register').addEventListener('click', () => tab('register'));

  const submit = (form, button, fn) => form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    say($('auth-error'), '');
    say($('notice'), '');
    try {
      signedIn(await fn());
    } catch (e) {
      say($('auth-error'), describe(e));
    } finally {
      button.disabled = false;
    }
  });
  submit($('login-form'), $('login-submit'), () => api.login($('login-username').value.trim(),
    $('login-password').value));
  submit($('register-form'), $('register-submit'), () => api.register(
    $('register-username').value.trim(), $('register-email').value.trim(),
    $('register-password').value));
  $('logout').addEventListener('click', () => signOut());
}

async function main() {
  bindAuth();
  // Leaving the page ends its transfers: ask first while one is under way.
  window.addEventListener('beforeunload', (ev) => {
    if (ctx && p2pFor(ctx).entries.some((e) => !e.tx.ended && e.tx.state !== 'pending')) ev.preventDefault();
  });
  // Signed out in another page of this browser: so is this one.
  window.addEventListener('storage', (e) => {
    if ((e.key === SESSION_KEY || e.key === null) && ctx && !loadSession()) {
      signOut('You signed out in another tab.', true);
    }
  });
  try {
    const me = await resumeSession(api);
    if (me) {
      signedIn(me);
      return;
    }
  } catch (e) {
    // ended (forgotten) or the server unreachable: sign in again
  }
  showAuth();
}

main();
