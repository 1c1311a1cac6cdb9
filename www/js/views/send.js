// The Send view (#/send): a file straight to another user with the P2P
// engine (docs/p2p.md) on the shell's Api and Socket (files/p2p-session.js):
// recipient search, file, route (automatic, direct, relay), incoming offers
// to accept or reject, and every transfer with progress, speed and time left
// on both sides, a clear line when it falls back to the encrypted relay, the
// SHA-256, and on the recipient's side the file to save.
//
// The standalone page p2p.html mounts this same view (js/p2p-page.js),
// with its own element ids (params.ids, see IDS).

import { h, loadCss, say } from '../files/dom.js';
import { Meter } from '../files/meter.js';
import { p2pFor } from '../files/p2p-session.js';

const MODES = [
  ['auto', 'Automatic', 'direct when possible, else the encrypted relay'],
  ['direct', 'Direct only', 'browser to browser (WebRTC)'],
  ['relay', 'Relay only', 'end-to-end encrypted, through the server'],
];
const MODE_TEXT = { auto: 'direct or relay', direct: 'direct only', relay: 'encrypted relay' };
// The ids of the view's elements (mode: the name of the route's radio
// buttons); params.ids may rename any of them.
const IDS = {
  to: 'send-to', results: 'send-results', chosen: 'send-chosen', file: 'send-file',
  mode: 'send-mode', submit: 'send-submit', error: 'send-error', offers: 'send-offers',
  transfers: 'send-transfers',
};

function userLabel(u) {
  if (!u) return 'someone';
  return u.display_name && u.display_name !== u.username ? `${u.display_name} (@${u.username})` : `@${u.username}`;
}

export function mount(el, ctx, params = {}) {
  const ids = { ...IDS, ...params.ids };
  if (ctx.css) ctx.css('files');
  else loadCss('/css/files.css');
  const session = p2pFor(ctx);
  const offs = [];
  const meters = [];
  let recipient = null;

  // -- send form ----------------------------------------------------------------

  const to = h('input', { id: ids.to, autocomplete: 'off', spellcheck: false,
    placeholder: 'Start typing a username', 'aria-describedby': ids.chosen, 'aria-controls': ids.results });
  const results = h('ul', { id: ids.results, class: 'results', hidden: true });
  const chosen = h('p', { id: ids.chosen, class: 'chosen', hidden: true, role: 'status' });
  const file = h('input', { id: ids.file, type: 'file' });
  const modes = h('fieldset', { class: 'modes' }, h('legend', {}, 'Route'),
    MODES.map(([v, label, help], i) => h('label', {},
      h('input', { type: 'radio', name: ids.mode, value: v, checked: i === 0 }),
      ` ${label} `, h('small', {}, help))));
  const submit = h('button', { type: 'submit', class: 'primary', id: ids.submit }, 'Send');
  const error = h('p', { class: 'error', role: 'alert', hidden: true, id: ids.error });
  const form = h('form', { class: 'send-form', novalidate: true },
    h('label', { for: ids.to }, 'To', to), results, chosen,
    h('label', { for: ids.file }, 'File', file), modes, submit, error);
  const sendCard = h('section', { class: 'card', 'aria-labelledby': 'send-h' },
    h('h2', { id: 'send-h' }, 'Send a file'), form);

  const notice = h('p', { class: 'fallback', role: 'status', hidden: true });
  const offersList = h('ul', { class: 'offers', id: ids.offers });
  const offersEmpty = h('p', { class: 'muted' }, 'No offers right now.');
  const offersCard = h('section', { class: 'card', 'aria-labelledby': 'offers-h' },
    h('h2', { id: 'offers-h' }, 'Incoming'), notice, offersEmpty, offersList);

  const txList = h('div', { class: 'transfers', id: ids.transfers });
  const txEmpty = h('p', { class: 'muted' }, 'Nothing sent or received yet.');
  const txCard = h('section', { class: 'card wide', 'aria-labelledby': 'tx-h' },
    h('h2', { id: 'tx-h' }, 'Transfers'), txEmpty, txList);

  // P2P signaling needs the WebSocket: the long-poll fallback of the shell
  // (ctx.socket.transport 'poll') does not carry p2p.signal.
  const noWs = h('p', { class: 'fallback', role: 'alert', hidden: true, id: 'send-no-ws' },
    'Sending files needs the WebSocket connection, which is not available right now (updates come by long-polling). Sending and accepting will work again once it is back.');
  form.prepend(noWs);
  const drawTransport = () => {
    const poll = ctx.socket.transport === 'poll';
    noWs.hidden = !poll;
    submit.disabled = poll;
  };
  offs.push(ctx.socket.on('transport', drawTransport));
  drawTransport();

  const root = h('div', { class: 'send-view' }, sendCard, offersCard, txCard);
  el.append(root);

  // -- recipient search -------------------------------------------------------------

  function choose(u) {
    recipient = u;
    say(chosen, `Sending to ${userLabel(u)}`);
    to.value = u.username;
    results.hidden = true;
    file.focus();
  }

  let timer = null;
  let seq = 0;
  to.addEventListener('input', () => {
    recipient = null;
    say(chosen, '');
    clearTimeout(timer);
    const q = to.value.trim();
    if (!q) {
      results.hidden = true;
      return;
    }
    timer = setTimeout(async () => {
      const mine = ++seq;
      try {
        const page = await ctx.api.searchUsers(q.slice(0, 64));
        if (mine !== seq) return;
        const users = page.items.filter((u) => u.id !== ctx.me.id);
        results.replaceChildren(...users.map((u) => h('li', {},
          h('button', { type: 'button', dataset: { userId: u.id, username: u.username }, onclick: () => choose(u) },
            userLabel(u)))));
        if (!users.length) results.append(h('li', { class: 'none' }, 'No such user'));
        results.hidden = false;
      } catch (e) {
        say(error, ctx.describe(e));
      }
    }, 200);
  });
  // Arrow down from the field goes into the list; Escape closes it.
  to.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' && !results.hidden) {
      const b = results.querySelector('button');
      if (b) {
        ev.preventDefault();
        b.focus();
      }
    } else if (ev.key === 'Escape') results.hidden = true;
  });
  results.addEventListener('keydown', (ev) => {
    const items = [...results.querySelectorAll('button')];
    const i = items.indexOf(document.activeElement);
    if (ev.key === 'ArrowDown' && i >= 0 && i < items.length - 1) {
      ev.preventDefault();
      items[i + 1].focus();
    } else if (ev.key === 'ArrowUp') {
      ev.preventDefault();
      (i > 0 ? items[i - 1] : to).focus();
    } else if (ev.key === 'Escape') {
      results.hidden = true;
      to.focus();
    }
  });

  async function resolveRecipient() {
    if (recipient) return recipient;
    const q = to.value.trim().replace(/^@/, '').toLowerCase();
    if (!q) throw new Error('Choose who to send the file to');
    const page = await ctx.api.searchUsers(q.slice(0, 64));
    const u = page.items.find((x) => x.username.toLowerCase() === q);
    if (!u) throw new Error(`No user is called "${q}"`);
    if (u.id === ctx.me.id) throw new Error('You cannot send a file to yourself');
    return u;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    say(error, '');
    const f = file.files[0];
    if (!f) {
      say(error, 'Choose a file to send');
      file.focus();
      return;
    }
    submit.disabled = true;
    try {
      const u = await resolveRecipient();
      const mode = form.querySelector(`input[name="${ids.mode}"]:checked`).value;
      submit.textContent = 'Preparing...';
      await session.send(f, u, mode);
      file.value = '';
    } catch (e) {
      say(error, ctx.describe(e));
    } finally {
      submit.textContent = 'Send';
      drawTransport();
    }
  });

  // -- offers ---------------------------------------------------------------------------

  function offerRow(t) {
    const err = h('p', { class: 'error', role: 'alert', hidden: true });
    const accept = h('button', { type: 'button', class: 'primary accept' }, 'Accept');
    const reject = h('button', { type: 'button', class: 'reject' }, 'Reject');
    const s = t.sender || {};
    const li = h('li', { class: 'offer', dataset: { transferId: t.id } },
      h('div', { class: 'what' }, h('strong', {}, s.display_name || s.username || 'Someone'),
        ' wants to send you ', h('strong', { class: 'name' }, t.filename), ' ',
        h('span', { class: 'muted' }, `(${ctx.fmt.bytes(t.size)})`), ' ',
        h('span', { class: 'badge' }, MODE_TEXT[t.mode] || t.mode)),
      h('div', { class: 'actions' }, accept, reject), err);
    // Accept or reject: both buttons wait for the answer; an error shows
    // under the offer and lets the person try again.
    const answer = (fn) => async () => {
      accept.disabled = true;
      reject.disabled = true;
      say(err, '');
      try {
        await fn(t);
      } catch (e) {
        say(err, ctx.describe(e));
        accept.disabled = false;
        reject.disabled = false;
      }
    };
    accept.addEventListener('click', answer((o) => session.accept(o)));
    reject.addEventListener('click', answer((o) => session.reject(o)));
    return li;
  }

  function renderOffers() {
    const keep = new Map([...offersList.children].map((li) => [li.dataset.transferId, li]));
    const rows = [...session.offers.values()].reverse().map((t) => keep.get(t.id) || offerRow(t));
    offersList.replaceChildren(...rows);
    offersEmpty.hidden = rows.length > 0;
  }
  offs.push(session.on('offers', renderOffers));
  offs.push(session.on('notice', (text) => say(notice, text)));
  renderOffers();

  // -- transfers ---------------------------------------------------------------------------

  function transferRow(entry) {
    const { tx, peer } = entry;
    const meter = new Meter(ctx.fmt, `Transfer of ${tx.info.filename}`);
    meters.push(meter);
    const state = h('span', { class: 'badge state' });
    const path = h('span', { class: 'badge path', hidden: true });
    const status = h('p', { class: 'status', role: 'status' });
    const peerLine = h('p', { class: 'peer muted', hidden: true });
    const fallback = h('p', { class: 'fallback', role: 'alert', hidden: true });
    const sha256 = h('code', { class: 'sha256' });
    const hash = h('p', { class: 'hash', hidden: true }, 'SHA-256 ', sha256);
    const save = h('a', { class: 'button primary download', hidden: true });
    const cancel = h('button', { type: 'button', class: 'cancel' }, 'Cancel');
    const row = h('article', { class: 'transfer', dataset: { transferId: tx.id, role: tx.role, bytes: '0' } },
      h('div', { class: 'head' },
        h('span', {}, tx.role === 'sender' ? `To ${userLabel(peer)}:` : `From ${userLabel(peer)}:`),
        h('strong', { class: 'name' }, tx.info.filename),
        h('span', { class: 'muted' }, ctx.fmt.bytes(tx.size)), path, state),
      meter.el, status, peerLine, fallback, hash, h('div', { class: 'actions' }, save, cancel));
    const toffs = [];

    const drawState = () => {
      row.dataset.state = tx.info.state;
      state.textContent = tx.info.state;
    };
    const drawBytes = () => {
      row.dataset.bytes = String(tx.bytes);
      meter.update(tx.bytes, tx.size);
      if (tx.bytes > 0) say(peerLine, '');
    };
    const showPath = (p) => {
      path.textContent = p === 'direct' ? 'direct (WebRTC)' : 'encrypted relay';
      path.hidden = false;
      row.dataset.path = p;
      meter.reset();
    };
    let wasDirect = tx.path === 'direct';
    const onPath = (p) => {
      showPath(p);
      if (p === 'direct') wasDirect = true;
      if (p === 'relay' && wasDirect) {
        // The fallback: say it plainly, on both sides.
        row.dataset.fallback = '1';
        say(fallback, tx.role === 'sender'
          ? 'Switched to the server\'s relay: the file now goes through the server, end-to-end encrypted, so the server cannot read it. This can be slower than a direct connection.'
          : 'The direct connection did not work out, so the sender switched to the server\'s relay, end-to-end encrypted: the server cannot read the file.');
      }
    };
    const onStatus = (text) => {
      say(status, text);
      const m = /^(.*); using the encrypted relay$/.exec(text || '');
      if (m && !fallback.hidden) fallback.textContent = `${m[1]}. ${fallback.textContent}`;
    };
    const onEnd = (err) => {
      drawState();
      drawBytes();
      cancel.hidden = true;
      say(peerLine, '');
      if (err) {
        meter.stop();
        if (!tx.bytes) meter.el.hidden = true;
        status.classList.add('error');
      } else {
        const secs = tx.startedAt !== null && tx.endedAt !== null ? (tx.endedAt - tx.startedAt) / 1000 : null;
        if (secs) row.dataset.elapsedMs = String(Math.round(secs * 1000));
        meter.done(secs ? `took ${ctx.fmt.duration(secs)}` : '');
      }
      if (!err && tx.result) {
        if (!entry.url) entry.url = URL.createObjectURL(tx.result.blob);
        save.href = entry.url;
        save.download = tx.result.filename;
        save.textContent = `Save ${tx.result.filename}`;
        save.hidden = false;
      }
      const sha = (tx.result && tx.result.sha256) || tx.sha256;
      if (sha && !err) {
        sha256.textContent = sha;
        hash.hidden = false;
      }
    };

    toffs.push(tx.on('progress', drawBytes));
    toffs.push(tx.on('status', onStatus));
    toffs.push(tx.on('state', drawState));
    toffs.push(tx.on('path', onPath));
    toffs.push(tx.on('peer-progress', ({ bytes, size }) => {
      if (tx.path === 'relay' && !tx.bytes) {
        say(peerLine, `The sender is uploading (encrypted): ${Math.floor((bytes * 100) / (size || 1))}%`);
      }
    }));
    toffs.push(tx.on('end', onEnd));
    cancel.addEventListener('click', async () => {
      cancel.disabled = true;
      try {
        await session.engine.cancel(tx.id);
      } catch (e) {
        say(status, ctx.describe(e));
        cancel.disabled = false;
      }
    });

    drawState();
    if (tx.path) showPath(tx.path);
    say(status, tx.statusText || '');
    drawBytes();
    if (tx.ended) onEnd(tx.error || null);
    offs.push(() => toffs.forEach((off) => off()));
    return row;
  }

  for (const entry of session.entries) txList.append(transferRow(entry));
  txEmpty.hidden = session.entries.length > 0;
  offs.push(session.on('transfer', (entry) => {
    txList.prepend(transferRow(entry));
    txEmpty.hidden = true;
  }));

  to.focus();

  return () => {
    clearTimeout(timer);
    for (const off of offs) off();
    for (const m of meters) m.stop();
    root.remove();
  };
}
