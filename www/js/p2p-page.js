// The P2P page (www/p2p.html): sign in or register, see incoming offers and
// accept or reject them, pick a recipient and a file and send it, and follow
// every transfer with its progress, speed and time left. All the transfer
// logic is in p2p.js; this file only wires it to the DOM.
//
// The URL may carry relay_after=<ms> (how long mode "auto" waits for the
// direct connection; 15000 by default).

import { Api, ApiError } from './api.js';
import { Socket } from './ws.js';
import { P2P } from './p2p.js';
import { bytes as fmtBytes, duration as fmtTime } from './format.js';

const $ = (sel, root = document) => root.querySelector(sel);
const SESSION_KEY = 'hs.session';
const RENDER_MS = 50; // least time between two redraws of one progress bar

const params = new URLSearchParams(location.search);
const relayAfter = Number(params.get('relay_after')) || 15000;

let api = null;
let socket = null;
let engine = null;
let recipient = null; // {id, username, display_name} chosen to send to
const rows = new Map(); // transfer id -> row view

// -- formatting ---------------------------------------------------------------

function describe(e) {
  if (e instanceof ApiError) return e.describe();
  return (e && e.message) || String(e);
}

function show(el, text) {
  el.textContent = text || '';
  el.hidden = !text;
}

function notice(text) {
  show($('#notice'), text);
}

// -- session --------------------------------------------------------------------

function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY));
  } catch (e) {
    return null;
  }
}

function saveSession(s) {
  if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(SESSION_KEY);
}

function showAuth() {
  $('#app').hidden = true;
  $('#account').hidden = true;
  $('#auth').hidden = false;
  $('#login-username').focus();
}

async function signedIn() {
  $('#auth').hidden = true;
  show($('#auth-error'), '');
  $('#whoami').textContent = api.user.username;
  $('#account').hidden = false;
  $('#app').hidden = false;

  socket = new Socket({ api });
  socket.on('state', (st) => {
    const c = $('#conn');
    c.textContent = st === 'open' ? 'live' : st;
    c.classList.toggle('open', st === 'open');
  });
  socket.on('close', ({ code, willRetry }) => {
    if (!willRetry && code === 4401 && !api.session) signOut('Your session ended; please sign in again.');
  });
  engine = new P2P({ api, socket, relayAfterMs: relayAfter });
  engine.on('offer', addOffer);
  engine.on('update', (type, info) => {
    if (type !== 'transfer.offer') removeOffer(info.id, type);
  });
  engine.on('resync', loadOffers);
  socket.on('hello', loadOffers); // offers made while this page was closed
  socket.connect();
}

async function signOut(why = '') {
  if (engine) engine.destroy();
  if (socket) socket.close();
  engine = null;
  socket = null;
  await api.logout();
  for (const r of rows.values()) if (r.url) URL.revokeObjectURL(r.url);
  rows.clear();
  $('#transfers').textContent = '';
  $('#offers').textContent = '';
  updateEmpty();
  notice(why);
  showAuth();
}

function bindAuth() {
  const tab = (which) => {
    const login = which === 'login';
    $('#tab-login').classList.toggle('active', login);
    $('#tab-register').classList.toggle('active', !login);
    $('#login-form').hidden = !login;
    $('#register-form').hidden = login;
    show($('#auth-error'), '');
  };
  $('#tab-login').addEventListener('click', () => tab('login'));
  $('#tab-register').addEventListener('click', () => tab('register'));

  const submit = (form, button, fn) => form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    show($('#auth-error'), '');
    notice('');
    try {
      await fn();
      await signedIn();
    } catch (e) {
      show($('#auth-error'), describe(e));
    } finally {
      button.disabled = false;
    }
  });
  submit($('#login-form'), $('#login-submit'), () => api.login($('#login-username').value.trim(),
    $('#login-password').value));
  submit($('#register-form'), $('#register-submit'), () => api.register(
    $('#register-username').value.trim(), $('#register-email').value.trim(),
    $('#register-password').value));
  $('#logout').addEventListener('click', () => signOut());
}

// -- choosing a recipient -----------------------------------------------------------

function choose(user) {
  recipient = user;
  const label = user.display_name && user.display_name !== user.username
    ? `${user.display_name} (@${user.username})` : `@${user.username}`;
  show($('#to-chosen'), `Sending to ${label}`);
  $('#to').value = user.username;
  $('#to-results').hidden = true;
}

function bindSearch() {
  const input = $('#to');
  const list = $('#to-results');
  let timer = null;
  let seq = 0;
  input.addEventListener('input', () => {
    recipient = null;
    show($('#to-chosen'), '');
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) {
      list.hidden = true;
      return;
    }
    timer = setTimeout(async () => {
      const mine = ++seq;
      try {
        const page = await api.searchUsers(q.slice(0, 64));
        if (mine !== seq) return;
        const users = page.items.filter((u) => !api.user || u.id !== api.user.id);
        list.textContent = '';
        for (const u of users) {
          const li = document.createElement('li');
          const b = document.createElement('button');
          b.type = 'button';
          b.dataset.userId = u.id;
          b.dataset.username = u.username;
          b.textContent = u.display_name && u.display_name !== u.username
            ? `${u.display_name} (@${u.username})` : `@${u.username}`;
          b.addEventListener('click', () => choose(u));
          li.append(b);
          list.append(li);
        }
        if (!users.length) {
          const li = document.createElement('li');
          li.className = 'none';
          li.textContent = 'No such user';
          list.append(li);
        }
        list.hidden = false;
      } catch (e) {
        show($('#send-error'), describe(e));
      }
    }, 200);
  });
}

// The recipient chosen from the list, or the user whose name was typed in
// full.
async function resolveRecipient() {
  if (recipient) return recipient;
  const q = $('#to').value.trim().toLowerCase();
  if (!q) throw new Error('Choose who to send the file to');
  const page = await api.searchUsers(q.slice(0, 64));
  const u = page.items.find((x) => x.username === q);
  if (!u) throw new Error(`No user is called "${q}"`);
  if (api.user && u.id === api.user.id) throw new Error('You cannot send a file to yourself');
  return u;
}

function bindSend() {
  $('#send-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = $('#send');
    show($('#send-error'), '');
    const file = $('#file').files[0];
    if (!file) {
      show($('#send-error'), 'Choose a file to send');
      return;
    }
    button.disabled = true;
    try {
      const to = await resolveRecipient();
      const mode = $('input[name="mode"]:checked').value;
      button.textContent = 'Preparing...';
      const tx = await engine.send(file, to.id, { mode });
      addRow(tx, to);
      $('#file').value = '';
    } catch (e) {
      show($('#send-error'), describe(e));
    } finally {
      button.disabled = false;
      button.textContent = 'Send';
    }
  });
}

// -- offers -------------------------------------------------------------------------------

const offers = new Map(); // id -> li

function updateEmpty() {
  $('#offers-empty').hidden = $('#offers').children.length > 0;
  $('#transfers-empty').hidden = $('#transfers').children.length > 0;
}

const MODE_TEXT = { auto: 'direct or relay', direct: 'direct only', relay: 'encrypted relay' };

function addOffer(t) {
  if (!t || offers.has(t.id) || rows.has(t.id) || t.state !== 'pending') return;
  const li = $('#tpl-offer').content.firstElementChild.cloneNode(true);
  li.dataset.transferId = t.id;
  const s = t.sender || {};
  $('.from', li).textContent = s.display_name || s.username || 'Someone';
  $('.name', li).textContent = t.filename;
  $('.size', li).textContent = `(${fmtBytes(t.size)})`;
  $('.mode', li).textContent = MODE_TEXT[t.mode] || t.mode;
  const err = $('.error', li);
  const accept = $('.accept', li);
  const reject = $('.reject', li);
  accept.addEventListener('click', async () => {
    accept.disabled = true;
    reject.disabled = true;
    show(err, '');
    try {
      const tx = await engine.accept(t);
      removeOffer(t.id);
      addRow(tx, s);
    } catch (e) {
      show(err, describe(e));
      accept.disabled = false;
      reject.disabled = false;
    }
  });
  reject.addEventListener('click', async () => {
    accept.disabled = true;
    reject.disabled = true;
    try {
      await engine.reject(t.id);
      removeOffer(t.id);
    } catch (e) {
      show(err, describe(e));
    }
  });
  offers.set(t.id, li);
  $('#offers').prepend(li);
  updateEmpty();
}

const GONE = { 'transfer.cancelled': 'withdrew', 'transfer.expired': 'let expire' };

// Takes an offer off the list; says so when its sender withdrew it or it
// expired (type: the transfer.* event that ended it).
function removeOffer(id, type = null) {
  const li = offers.get(id);
  if (!li) return;
  offers.delete(id);
  if (GONE[type]) {
    notice(`${$('.from', li).textContent} ${GONE[type]} the offer of ${$('.name', li).textContent}.`);
  }
  li.remove();
  updateEmpty();
}

async function loadOffers() {
  if (!engine) return;
  try {
    const list = await engine.pendingOffers();
    for (const t of list) {
      if (!t.sender) {
        try {
          const u = await api.get(`/users/${t.sender_id}`);
          t.sender = { id: u.id, username: u.username, display_name: u.display_name };
        } catch (e) {
          t.sender = { id: t.sender_id, username: 'someone', display_name: '' };
        }
      }
      addOffer(t);
    }
  } catch (e) {
    notice(`Could not load your offers: ${describe(e)}`);
  }
}

// -- transfers ----------------------------------------------------------------------------

// One transfer's row: progress bar, percent, speed and time left, state,
// and on the recipient's side the link to save the file.
function addRow(tx, peer) {
  const el = $('#tpl-transfer').content.firstElementChild.cloneNode(true);
  const name = (peer && (peer.display_name || peer.username)) || 'someone';
  el.dataset.transferId = tx.id;
  el.dataset.role = tx.role;
  el.dataset.bytes = '0';
  $('.dir', el).textContent = tx.role === 'sender' ? `To ${name}:` : `From ${name}:`;
  $('.name', el).textContent = tx.info.filename;
  $('.size', el).textContent = fmtBytes(tx.size);
  const row = { el, tx, samples: [], last: 0, timer: null, url: null };
  rows.set(tx.id, row);
  $('#transfers').prepend(el);
  updateEmpty();

  const cancel = $('.cancel', el);
  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      await engine.cancel(tx.id);
    } catch (e) {
      setStatus(row, describe(e));
      cancel.disabled = false;
    }
  });
  tx.on('progress', () => schedule(row));
  tx.on('status', (text) => setStatus(row, text));
  tx.on('state', () => renderState(row));
  const showPath = (p) => {
    const b = $('.path', el);
    b.textContent = p === 'direct' ? 'direct (WebRTC)' : 'encrypted relay';
    b.hidden = false;
    el.dataset.path = p;
    row.samples = [];
  };
  tx.on('path', showPath);
  if (tx.path) showPath(tx.path);
  tx.on('peer-progress', ({ bytes, size }) => {
    if (tx.path === 'relay' && !tx.bytes) {
      show($('.peer', el), `The sender is uploading (encrypted): ${Math.floor((bytes * 100) / (size || 1))}%`);
    }
  });
  tx.on('end', (err) => {
    render(row);
    renderState(row);
    cancel.hidden = true;
    show($('.peer', el), '');
    if (err && !tx.bytes) {
      // never started: no bar to show
      $('progress', el).hidden = true;
      $('.stats', el).hidden = true;
    }
    if (!err && tx.result) {
      row.url = URL.createObjectURL(tx.result.blob);
      const a = $('.download', el);
      a.href = row.url;
      a.download = tx.result.filename;
      a.textContent = `Save ${tx.result.filename}`;
      a.hidden = false;
    }
    const sha = (tx.result && tx.result.sha256) || tx.sha256;
    if (sha && !err) {
      $('.sha256', el).textContent = sha;
      $('.hash', el).hidden = false;
    }
    const secs = tx.startedAt !== null && tx.endedAt !== null ? (tx.endedAt - tx.startedAt) / 1000 : null;
    if (!err && secs) {
      el.dataset.elapsedMs = String(Math.round(secs * 1000));
      $('.speed', el).textContent = `${fmtBytes(Math.round(tx.size / Math.max(secs, 0.001)))}/s average`;
      $('.eta', el).textContent = `took ${fmtTime(secs)}`;
    }
  });
  setStatus(row, tx.statusText || '');
  renderState(row);
  render(row);
}

function setStatus(row, text) {
  $('.status', row.el).textContent = text;
}

function renderState(row) {
  const st = row.tx.info.state;
  row.el.dataset.state = st;
  $('.state', row.el).textContent = st;
}

// Redraws at most every RENDER_MS, and always the last value.
function schedule(row) {
  const wait = row.last + RENDER_MS - performance.now();
  if (wait <= 0) render(row);
  else if (!row.timer) {
    row.timer = setTimeout(() => {
      row.timer = null;
      render(row);
    }, wait);
  }
}

function render(row) {
  const { tx, el } = row;
  const now = performance.now();
  row.last = now;
  const bytes = tx.bytes;
  const size = tx.size;
  const frac = size ? bytes / size : 1;
  $('progress', el).value = Math.round(frac * 1000);
  $('.pct', el).textContent = `${Math.floor(frac * 100)}%`;
  el.dataset.bytes = String(bytes);
  if (bytes > 0) show($('.peer', el), '');
  // speed over the last two seconds of movement
  if (bytes === 0) row.samples = [];
  row.samples.push([now, bytes]);
  while (row.samples.length > 2 && now - row.samples[0][0] > 2000) row.samples.shift();
  const [t0, b0] = row.samples[0];
  if (now - t0 > 150 && bytes > b0 && bytes < size) {
    const rate = ((bytes - b0) * 1000) / (now - t0);
    $('.speed', el).textContent = `${fmtBytes(Math.round(rate))}/s`;
    $('.eta', el).textContent = `${fmtTime((size - bytes) / rate)} left`;
  }
}

// -- start -----------------------------------------------------------------------------

async function main() {
  api = new Api({ session: loadSession(), onTokens: saveSession });
  bindAuth();
  bindSearch();
  bindSend();
  window.addEventListener('beforeunload', (ev) => {
    if ([...rows.values()].some((r) => !r.tx.ended && r.tx.state !== 'pending')) ev.preventDefault();
  });
  if (api.session) {
    try {
      await api.me();
      await signedIn();
      return;
    } catch (e) {
      api.setSession(null);
    }
  }
  showAuth();
}

main();
