// The chats view (#/chats and #/chats/<chat_id>): the chat list beside
// the open chat on a wide screen, one of them at a time on a phone. It
// keeps the list live from the socket (messages, chats, members, reads,
// presence), hands the open chat's events to its pane, searches messages,
// and refetches everything after resync_required. The pieces live in
// js/chats/: store (state kept across remounts), list, pane, composer,
// message, dialogs, files.

import { newChatDialog, chatInfoDialog } from '../chats/dialogs.js';
import { debounce, h, loadCss } from '../chats/dom.js';
import { ChatList, renderResults } from '../chats/list.js';
import { ChatPane } from '../chats/pane.js';
import { stateFor } from '../chats/store.js';

export function mount(el, ctx, params) {
  if (ctx.css) ctx.css('chats');
  else loadCss('/css/chats.css');
  const state = stateFor(ctx);
  const me = ctx.me;
  const openId = params.chat_id || null;
  const offs = [];
  let pane = null;
  let info = null;
  let dead = false;

  // -- layout ----------------------------------------------------------------
  const searchInput = h('input', { type: 'search', class: 'chat-search', placeholder: 'Search messages',
    'aria-label': 'Search messages', autocomplete: 'off', value: state.search.q });
  const newBtn = h('button', { type: 'button', class: 'primary new-chat-btn', text: 'New chat',
    onclick: () => newChatDialog(ctx, (chat) => {
      state.upsert(chat);
      list.render();
      ctx.navigate(`#/chats/${chat.id}`);
    }) });
  const listBox = h('div', { class: 'chat-list-box' });
  const results = h('div', { class: 'search-box', hidden: true, 'aria-live': 'polite' });
  const side = h('aside', { class: 'chat-side', 'aria-label': 'Chats' },
    h('div', { class: 'side-head' }, h('h1', { class: 'side-title', text: 'Chats' }), newBtn),
    h('form', { class: 'search-form', role: 'search', onsubmit: (e) => { e.preventDefault(); runSearch(); } }, searchInput),
    listBox, results);
  const paneBox = h('div', { class: 'chat-pane' });
  const root = h('div', { class: `chats${openId ? ' has-chat' : ''}` }, side, paneBox);
  el.append(root);
  const list = new ChatList(ctx, state, listBox);
  list.activeId = openId;

  // -- the list ----------------------------------------------------------------
  const peersThenDraw = () => {
    for (const c of state.chats.values()) {
      if (c.kind === 'direct' && !state.peers.has(c.id)) {
        state.ensurePeer(c).then(() => {
          if (dead) return;
          list.render();
          if (pane && pane.chatId === c.id) pane.drawHeader();
        });
      }
    }
    list.render();
  };

  async function loadList() {
    try {
      await state.loadList();
      if (dead) return;
      peersThenDraw();
      askPresence();
    } catch (e) {
      if (dead) return;
      listBox.prepend(h('p', { class: 'error', role: 'alert', text: `The chats could not be loaded: ${ctx.describe(e)}` }));
    }
  }

  // One refetch per chat at a time (member events come in bursts).
  const refetching = new Map();
  function refetchChat(id) {
    if (refetching.has(id)) return refetching.get(id);
    const p = ctx.api.get(`/chats/${id}`).then((c) => {
      if (dead) return;
      state.upsert(c);
      peersThenDraw();
      if (pane && pane.chatId === id) pane.drawHeader();
      if (c.kind === 'direct') askPresence([c]);
    }, (e) => {
      if (e.status === 404) dropChat(id, null);
    }).finally(() => refetching.delete(id));
    refetching.set(id, p);
    return p;
  }

  // A chat gone from the list (deleted, left, removed from); its pane
  // closes with a word why (once: the event may follow the answer).
  function dropChat(id, text, force = false) {
    const had = state.chats.has(id);
    state.remove(id);
    list.render();
    if (pane && pane.chatId === id && (had || force)) {
      if (text) ctx.toast(text);
      ctx.navigate('#/chats');
    }
  }

  // presence.state for every direct chat (the socket then sends changes).
  function askPresence(chats = null) {
    if (!ctx.socket.connected) return;
    for (const c of chats || state.chats.values()) {
      if (c.kind === 'direct') ctx.socket.send({ type: 'presence', chat_id: c.id, ref: `presence:${c.id}` });
    }
  }

  function setPresence(p) {
    if (p.user_id === me.id) return;
    state.presence.set(p.user_id, { status: p.status, last_seen: p.last_seen });
  }

  // -- search ------------------------------------------------------------------
  let searchSeq = 0;
  async function runSearch() {
    const q = searchInput.value.trim();
    state.search.q = q;
    if (!q) {
      state.search.items = null;
      showSearch(false);
      return;
    }
    const mine = ++searchSeq;
    showSearch(true);
    renderResults(ctx, state, results, { q, loading: true }, pickHit);
    try {
      const page = await ctx.api.get(`/messages/search?q=${encodeURIComponent(q)}&limit=50`);
      if (dead || mine !== searchSeq) return;
      state.search.items = page.items;
      state.search.error = '';
    } catch (e) {
      if (dead || mine !== searchSeq) return;
      state.search.items = null;
      state.search.error = ctx.describe(e);
    }
    renderResults(ctx, state, results, state.search, pickHit);
  }
  const searchSoon = debounce(runSearch, 350);
  function showSearch(on) {
    results.hidden = !on;
    list.show(!on);
    root.classList.toggle('searching', on);
  }
  function pickHit(m) {
    state.jumpTo = { chat_id: m.chat_id, message_id: m.id };
    if (pane && pane.chatId === m.chat_id) {
      state.jumpTo = null;
      pane.goto(m.id);
    } else {
      ctx.navigate(`#/chats/${m.chat_id}`);
    }
  }
  searchInput.addEventListener('input', () => {
    if (!searchInput.value.trim()) {
      searchSoon.cancel();
      runSearch();
    } else if (searchInput.value.trim().length >= 2) {
      searchSoon();
    }
  });
  searchInput.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && searchInput.value) {
      e.preventDefault();
      searchInput.value = '';
      runSearch();
    }
  });
  if (state.search.q && state.search.items) {
    showSearch(true);
    renderResults(ctx, state, results, state.search, pickHit);
  }

  // -- the open chat -----------------------------------------------------------
  if (openId) {
    pane = new ChatPane(ctx, state, openId, paneBox, {
      openInfo: () => {
        info = chatInfoDialog(ctx, state, openId, { onLeft: (text) => dropChat(openId, text) });
      },
      chatChanged: () => list.render(),
      gone: (text) => dropChat(openId, text, true),
      messageSent: (m) => {
        state.applyMessage(m, { countUnread: false });
        list.render();
      },
    });
    pane.load();
    // the composer, unless the person came here with the keyboard from the list
    setTimeout(() => {
      const f = document.activeElement;
      if (!dead && (!f || f === document.body || f === el)) pane.focusComposer();
    }, 0);
  } else {
    paneBox.append(h('div', { class: 'pane-empty' },
      h('p', { class: 'muted', text: 'Choose a chat, or start a new one.' })));
  }

  // -- socket events -----------------------------------------------------------
  const on = (type, fn) => offs.push(ctx.socket.on(type, (data, obj) => {
    if (!dead && data) fn(data, obj);
  }));
  const inPane = (chatId) => pane && pane.chatId === chatId;

  on('message.created', (d) => {
    const m = d.message;
    if (!state.chats.has(d.chat_id)) {
      refetchChat(d.chat_id);
      return;
    }
    state.applyMessage(m, { countUnread: !inPane(d.chat_id) });
    if (inPane(d.chat_id)) pane.onCreated(m);
    list.render();
  });
  on('message.updated', (d) => {
    state.applyEdit(d.chat_id, d.message.id, d.message.content, d.message.deleted);
    if (inPane(d.chat_id)) pane.onUpdated(d.message);
    list.render();
  });
  on('message.deleted', (d) => {
    state.applyEdit(d.chat_id, d.message_id, '', true);
    if (inPane(d.chat_id)) pane.onDeleted(d);
    list.render();
  });
  on('reaction.updated', (d) => {
    if (inPane(d.chat_id)) pane.onReaction(d);
  });
  on('read.updated', (d) => {
    if (inPane(d.chat_id)) pane.onRead(d);
    if (d.user_id === me.id && !inPane(d.chat_id)) refetchChat(d.chat_id); // read on another device
  });
  on('chat.created', (d) => {
    if (state.chats.has(d.id)) {
      state.upsert(d);
      list.render();
    } else {
      refetchChat(d.id);
    }
  });
  on('chat.updated', (d) => {
    if (!state.chats.has(d.id)) return;
    const { my_role: r, muted, last_read_id: l, unread_count: u, ...rest } = d; // eslint-disable-line no-unused-vars
    state.upsert(rest);
    list.render();
    if (inPane(d.id)) pane.drawHeader();
    if (info && info.open && inPane(d.id)) info.refresh();
  });
  on('chat.deleted', (d) => dropChat(d.chat_id, 'This chat was deleted'));
  const memberEvent = (d, removed) => {
    if (removed && d.user_id === me.id) {
      dropChat(d.chat_id, 'You are no longer a member of this chat');
      return;
    }
    refetchChat(d.chat_id);
    if (info && info.open && inPane(d.chat_id)) info.refresh();
  };
  on('member.added', (d) => memberEvent(d, false));
  on('member.removed', (d) => memberEvent(d, true));
  on('member.role_changed', (d) => memberEvent(d, false));
  on('typing', (d) => {
    if (inPane(d.chat_id)) pane.onTyping(d);
  });
  on('presence', (d) => {
    setPresence(d);
    list.render();
    if (pane) pane.drawHeader();
  });
  on('presence.state', (d) => {
    for (const u of d.users || []) setPresence(u);
    list.render();
    if (pane) pane.drawHeader();
  });
  offs.push(ctx.socket.on('open', () => {
    if (!dead) askPresence();
  }));
  offs.push(ctx.socket.on('resync_required', () => {
    if (dead) return;
    loadList();
    if (pane) pane.load();
  }));

  // -- start -------------------------------------------------------------------
  if (state.loaded) peersThenDraw();
  loadList();

  return () => {
    dead = true;
    for (const off of offs) off();
    if (pane) pane.destroy();
    if (info && info.open) info.close();
    searchSoon.cancel();
    root.remove();
  };
}
