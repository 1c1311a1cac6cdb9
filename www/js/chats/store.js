// What the chats view knows, kept for the whole session (one per ctx, so a
// new sign-in starts empty): the chat list, the other person of each direct
// chat, presence, names seen, drafts and the blob URLs of attachments. The
// shell remounts the view on every route change; this lets the list show at
// once while it is refreshed in the background.

import { nameOf } from './dom.js';

const states = new WeakMap();

export function stateFor(ctx) {
  let s = states.get(ctx);
  if (!s) {
    s = new ChatState(ctx);
    states.set(ctx, s);
  }
  return s;
}

// Message ids (24 hex digits) grow with time: comparing them as strings
// orders them.
export const newer = (a, b) => !b || (a && a > b);

class ChatState {
  constructor(ctx) {
    this.ctx = ctx;
    this.me = ctx.me;
    this.chats = new Map(); // id -> chat (with the caller's fields)
    this.loaded = false;
    this.peers = new Map(); // direct chat id -> {id, username, display_name}
    this.peerLoads = new Map(); // direct chat id -> Promise
    this.presence = new Map(); // user id -> {status, last_seen}
    this.users = new Map(); // user id -> {id, username, display_name}
    this.drafts = new Map(); // chat id -> text
    this.senderNames = new Map(); // chat id -> name of the last message's sender
    this.search = { q: '', items: null, error: '' };
    this.jumpTo = null; // {chat_id, message_id} for the pane to show
    this.users.set(this.me.id, this.me);
  }

  // The chats, most recently active first (as GET /chats orders them).
  sorted() {
    return [...this.chats.values()].sort((a, b) => {
      if (a.last_activity_at !== b.last_activity_at) {
        return a.last_activity_at < b.last_activity_at ? 1 : -1;
      }
      return a.id < b.id ? 1 : -1;
    });
  }

  // Every page of GET /chats (at most 10 of 100).
  async loadList() {
    const { api } = this.ctx;
    const fresh = new Map();
    let cursor = null;
    for (let i = 0; i < 10; i += 1) {
      const q = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page = await api.get(`/chats?limit=100${q}`);
      for (const c of page.items) fresh.set(c.id, c);
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    this.chats = fresh;
    this.loaded = true;
  }

  // Merges a chat: a full one (from the API) or one of an event, which
  // lacks the caller's membership fields (kept from before).
  upsert(chat) {
    const old = this.chats.get(chat.id);
    const merged = { ...(old || {}), ...chat };
    if (old && chat.last_message === undefined) merged.last_message = old.last_message;
    this.chats.set(chat.id, merged);
    return merged;
  }

  remove(id) {
    this.chats.delete(id);
    this.drafts.delete(id);
  }

  // A new message moves its chat up and changes its preview.
  applyMessage(msg, { countUnread }) {
    const c = this.chats.get(msg.chat_id);
    if (!c) return null;
    if (!c.last_message || msg.id >= c.last_message.id) {
      c.last_message = { id: msg.id, sender_id: msg.sender.id, preview: (msg.content || '').slice(0, 100),
        deleted: msg.deleted, created_at: msg.created_at };
      if (msg.created_at > c.last_activity_at) c.last_activity_at = msg.created_at;
      this.senderNames.set(c.id, nameOf(msg.sender));
    }
    this.rememberUser(msg.sender);
    if (countUnread && msg.sender.id !== this.me.id && newer(msg.id, c.last_read_id)) {
      c.unread_count = Math.min(1000, (c.unread_count || 0) + 1);
    }
    return c;
  }

  // An edit or a deletion changes the preview when it is the last message.
  applyEdit(chatId, messageId, content, deleted) {
    const c = this.chats.get(chatId);
    if (!c || !c.last_message || c.last_message.id !== messageId) return null;
    c.last_message = { ...c.last_message, preview: (content || '').slice(0, 100), deleted };
    return c;
  }

  rememberUser(u) {
    if (u && u.id) this.users.set(u.id, { ...(this.users.get(u.id) || {}), ...u });
  }

  // The other person of a direct chat, from its members (asked once).
  ensurePeer(chat) {
    if (chat.kind !== 'direct') return Promise.resolve(null);
    if (this.peers.has(chat.id)) return Promise.resolve(this.peers.get(chat.id));
    if (!this.peerLoads.has(chat.id)) {
      const p = this.ctx.api.get(`/chats/${chat.id}/members?limit=10`).then((page) => {
        const m = page.items.find((x) => x.user_id !== this.me.id) || page.items[0];
        const peer = m ? { id: m.user_id, username: m.username, display_name: m.display_name } : null;
        if (peer) {
          this.peers.set(chat.id, peer);
          this.rememberUser(peer);
        }
        return peer;
      }).catch(() => {
        this.peerLoads.delete(chat.id);
        return null;
      });
      this.peerLoads.set(chat.id, p);
    }
    return this.peerLoads.get(chat.id);
  }

  // What the list and the header call a chat.
  title(chat) {
    if (chat.kind !== 'direct') return chat.name || 'Untitled';
    const p = this.peers.get(chat.id);
    return p ? nameOf(p) : 'Direct chat';
  }

  // The presence of a direct chat's other person ('online' | 'offline' | '').
  presenceOf(chat) {
    if (chat.kind !== 'direct') return '';
    const p = this.peers.get(chat.id);
    const st = p && this.presence.get(p.id);
    return st ? st.status : '';
  }

  userName(id) {
    if (id === this.me.id) return 'You';
    return nameOf(this.users.get(id));
  }
}
