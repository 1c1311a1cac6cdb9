// The chat list (one link per chat, most recently active first: title,
// last message preview, time, unread badge, presence dot of direct chats)
// and the message search results that take its place while a search is on.
// Items are kept by chat id and moved, so focus stays where it was.

import { h, initials, snippetNodes, nameOf } from './dom.js';

export class ChatList {
  constructor(ctx, state, el) {
    this.ctx = ctx;
    this.state = state;
    this.el = el;
    this.items = new Map(); // chat id -> <li>
    this.activeId = null;
    this.ul = h('ul', { class: 'chat-list', 'aria-label': 'Chats' });
    this.empty = h('p', { class: 'muted chat-list-empty', hidden: true,
      text: 'No chats yet. Start one with “New chat”.' });
    el.append(this.ul, this.empty);
  }

  setActive(id) {
    this.activeId = id;
    this.render();
  }

  // Redraws every item from the state (cheap: text changes only) and puts
  // them in order.
  render() {
    const chats = this.state.sorted();
    const seen = new Set();
    let prev = null;
    for (const c of chats) {
      seen.add(c.id);
      let li = this.items.get(c.id);
      if (!li) {
        li = h('li');
        this.items.set(c.id, li);
      }
      this.fill(li, c);
      const want = prev ? prev.nextSibling : this.ul.firstChild;
      if (want !== li) this.ul.insertBefore(li, want);
      prev = li;
    }
    for (const [id, li] of this.items) {
      if (!seen.has(id)) {
        li.remove();
        this.items.delete(id);
      }
    }
    this.empty.hidden = chats.length > 0 || !this.state.loaded;
  }

  fill(li, c) {
    const { state, ctx } = this;
    const title = state.title(c);
    const presence = state.presenceOf(c);
    const unread = c.unread_count || 0;
    const active = c.id === this.activeId;
    const lm = c.last_message;
    let preview = '';
    if (lm) {
      const who = lm.sender_id === ctx.me.id ? 'You'
        : (c.kind === 'direct' ? '' : (state.senderNames.get(c.id) || state.userName(lm.sender_id)));
      const text = lm.deleted ? 'Message deleted' : (lm.preview || '📎 Attachment');
      preview = who && who !== 'Someone' ? `${who}: ${text}` : text;
    } else {
      preview = c.kind === 'direct' ? 'No messages yet' : `${c.kind === 'channel' ? 'Channel' : 'Group'} · ${c.member_count} members`;
    }
    const kindLabel = c.kind === 'direct' ? (presence ? `, ${presence}` : '') : `, ${c.kind}`;
    const a = h('a', {
      href: `#/chats/${c.id}`, class: `chat-item${active ? ' active' : ''}${unread ? ' unread' : ''}${c.muted ? ' muted-chat' : ''}`,
      dataset: { id: c.id, kind: c.kind, unread: String(unread) },
      'aria-current': active ? 'page' : null,
      'aria-label': `${title}${kindLabel}${unread ? `, ${unread} unread` : ''}. ${preview}`,
    },
    h('span', { class: `chat-avatar chat-avatar-${c.kind}`, 'aria-hidden': 'true' },
      this.avatar(c, title),
      c.kind === 'direct' ? h('span', { class: 'presence-dot', dataset: { status: presence || 'unknown' } }) : null),
    h('span', { class: 'chat-item-body' },
      h('span', { class: 'chat-item-top' },
        h('span', { class: 'chat-name', text: title }),
        h('time', { class: 'chat-time', datetime: c.last_activity_at, text: ctx.fmt.time(c.last_activity_at) })),
      h('span', { class: 'chat-item-bottom' },
        h('span', { class: 'chat-preview', text: preview }),
        unread ? h('span', { class: 'badge', text: unread > 99 ? '99+' : String(unread) }) : null)));
    const old = li.firstChild;
    const hadFocus = old && old === document.activeElement;
    if (old) old.replaceWith(a);
    else li.append(a);
    if (hadFocus) a.focus();
  }

  // The shell's avatar (a colour from the id) of the peer, or of the chat.
  avatar(c, title) {
    const peer = c.kind === 'direct' ? this.state.peers.get(c.id) : null;
    const who = peer || { id: c.id, display_name: title };
    if (this.ctx.avatar) return this.ctx.avatar(who, 40);
    return h('span', { class: 'avatar' }, initials(title));
  }

  show(on) {
    this.el.hidden = !on;
  }
}

// The results of GET /messages/search: one button per hit with the chat,
// the sender and the snippet, hits as <mark>. pick(hit) opens it.
export function renderResults(ctx, state, el, { q, items, error, loading }, pick) {
  if (loading) {
    el.replaceChildren(h('p', { class: 'muted', text: `Searching for “${q}”…` }));
    return;
  }
  if (error) {
    el.replaceChildren(h('p', { class: 'error', role: 'alert', text: error }));
    return;
  }
  if (!items || !items.length) {
    el.replaceChildren(h('p', { class: 'muted', text: `No message matches “${q}”.` }));
    return;
  }
  el.replaceChildren(h('p', { class: 'muted small', text: `${items.length}${items.length >= 50 ? '+' : ''} message${items.length === 1 ? '' : 's'}` }),
    h('ul', { class: 'search-results', 'aria-label': 'Messages found' }, items.map((m) => {
      const chat = state.chats.get(m.chat_id);
      const where = chat ? state.title(chat) : 'A chat';
      return h('li', {}, h('button', { type: 'button', class: 'search-hit', dataset: { id: m.id, chatId: m.chat_id },
        onclick: () => pick(m) },
      h('span', { class: 'hit-top' }, h('span', { class: 'hit-chat', text: where }),
        h('time', { class: 'chat-time', datetime: m.created_at, text: ctx.fmt.time(m.created_at) })),
      h('span', { class: 'hit-who', text: m.sender.id === ctx.me.id ? 'You' : nameOf(m.sender) }),
      h('span', { class: 'hit-snippet' }, snippetNodes(m.snippet || m.content || ''))));
    })));
}
