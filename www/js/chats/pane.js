// The open chat: its header (name, presence or member count, details),
// the history (newest page first, older pages as one scrolls up), live
// messages, edits, deletions and reactions, others' typing, read markers
// (the chat is marked read when its newest messages are on screen) and the
// read state of one's own messages, and the composer. The view feeds it the
// socket events of this chat (on*).

import { Composer } from './composer.js';
import { confirmDialog } from './dialogs.js';
import { clientId, h, icon, nameOf } from './dom.js';
import { openMenu, renderMessage } from './message.js';
import { newer } from './store.js';

const PAGE = 50;
const STATE_RANK = { sent: 1, delivered: 2, read: 3 };
const NEAR_BOTTOM = 80;

export class ChatPane {
  // hooks: {openInfo(), chatChanged(chat), gone(text)}
  constructor(ctx, state, chatId, el, hooks) {
    this.ctx = ctx;
    this.state = state;
    this.chatId = chatId;
    this.hooks = hooks;
    this.me = ctx.me;
    this.messages = new Map(); // id -> message
    this.pending = new Map(); // client_id -> pending message
    this.nodes = new Map(); // id or "c:<client_id>" -> element
    this.before = null; // cursor of the next older page
    this.hasMore = false;
    this.loadingOlder = false;
    this.typers = new Map(); // user id -> timer
    this.readSent = null;
    this.pendingSeq = 0;
    this.closeMenu = null;
    this.dead = false;

    this.title = h('h2', { class: 'pane-title', id: 'chat-title' });
    this.sub = h('p', { class: 'pane-sub muted' });
    this.infoBtn = h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Chat details and members',
      title: 'Details and members', onclick: () => hooks.openInfo() }, icon('info'));
    const header = h('header', { class: 'pane-head' },
      h('a', { href: '#/chats', class: 'back-link', 'aria-label': 'Back to the chat list' }, icon('back')),
      h('div', { class: 'pane-head-text' }, this.title, this.sub), this.infoBtn);
    this.olderBtn = h('button', { type: 'button', class: 'link older-btn', hidden: true, text: 'Show older messages',
      onclick: () => this.loadOlder() });
    this.list = h('div', { class: 'msg-list' });
    this.status = h('p', { class: 'msg-status muted', role: 'status' });
    this.scroller = h('div', { class: 'msg-scroll', role: 'log', 'aria-labelledby': 'chat-title', tabindex: 0 },
      this.olderBtn, this.status, this.list);
    this.newBelow = h('button', { type: 'button', class: 'new-below', hidden: true, text: 'New messages ↓',
      onclick: () => this.scrollToBottom(true) });
    this.typingEl = h('div', { class: 'typing', 'aria-live': 'polite' });
    this.composer = new Composer(ctx, chatId, {
      submit: (m) => this.submit(m),
      typing: (st) => ctx.socket.send({ type: 'typing', chat_id: chatId, state: st }),
      draft: (text) => (text ? state.drafts.set(chatId, text) : state.drafts.delete(chatId)),
      editLast: () => this.editLast(),
    });
    this.el = h('section', { class: 'pane', 'aria-labelledby': 'chat-title' },
      header, h('div', { class: 'msg-area' }, this.scroller, this.newBelow), this.typingEl, this.composer.el);
    el.replaceChildren(this.el);

    // Kept at the bottom while content grows (images loading, the typing
    // line, the composer's bars) unless the person scrolled up.
    this.stick = true;
    this.resize = new ResizeObserver(() => {
      if (this.stick) this.scroller.scrollTop = this.scroller.scrollHeight;
    });
    this.resize.observe(this.list);
    this.resize.observe(this.scroller);
    this.onScroll = () => this.scrolled();
    this.scroller.addEventListener('scroll', this.onScroll, { passive: true });
    this.onVisible = () => this.maybeMarkRead();
    document.addEventListener('visibilitychange', this.onVisible);
    window.addEventListener('focus', this.onVisible);
    this.scroller.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.closeMenu) this.closeMenu();
    });

    this.composer.setText(state.drafts.get(chatId) || '');
    this.drawHeader();
  }

  get chat() {
    return this.state.chats.get(this.chatId);
  }

  // -- loading -----------------------------------------------------------------

  // The chat (with the caller's fields), its members' names and the newest
  // page of messages. Also used after resync_required.
  async load() {
    const { api } = this.ctx;
    this.status.textContent = 'Loading…';
    try {
      const [chat, page] = await Promise.all([
        api.get(`/chats/${this.chatId}`),
        api.get(`/messages/${this.chatId}?limit=${PAGE}`),
      ]);
      if (this.dead) return;
      this.hooks.chatChanged(this.state.upsert(chat));
      this.loadMembers();
      this.messages.clear();
      for (const n of this.nodes.values()) n.remove();
      this.nodes.clear();
      for (const p of this.pending.values()) this.place(p);
      for (const m of page.items) this.upsert(m, { quiet: true });
      this.before = page.next_cursor;
      this.hasMore = !!page.next_cursor;
      this.status.textContent = page.items.length ? '' : 'No messages yet. Say hello!';
      this.olderBtn.hidden = !this.hasMore;
      this.drawHeader();
      this.scrollToBottom(true);
      const jump = this.state.jumpTo;
      if (jump && jump.chat_id === this.chatId) {
        this.state.jumpTo = null;
        await this.goto(jump.message_id);
      }
      this.maybeMarkRead();
    } catch (e) {
      if (this.dead) return;
      if (e.status === 404) {
        this.hooks.gone('This chat does not exist or you are no longer a member.');
        return;
      }
      this.status.textContent = `The messages could not be loaded: ${this.ctx.describe(e)}`;
      this.status.classList.add('error');
    }
  }

  // Names for typing notices and replies (the first 200 members).
  async loadMembers() {
    try {
      const page = await this.ctx.api.get(`/chats/${this.chatId}/members?limit=100`);
      for (const m of page.items) {
        this.state.rememberUser({ id: m.user_id, username: m.username, display_name: m.display_name });
      }
      this.drawHeader();
    } catch (e) {
      // names fall back to "Someone"
    }
  }

  async loadOlder() {
    if (!this.hasMore || this.loadingOlder) return false;
    this.loadingOlder = true;
    this.olderBtn.disabled = true;
    const sc = this.scroller;
    try {
      const page = await this.ctx.api.get(`/messages/${this.chatId}?limit=${PAGE}&before=${this.before}`);
      if (this.dead) return false;
      const height = sc.scrollHeight;
      const top = sc.scrollTop;
      for (const m of page.items) this.upsert(m, { quiet: true });
      sc.scrollTop = top + (sc.scrollHeight - height);
      this.before = page.next_cursor;
      this.hasMore = !!page.next_cursor;
      this.olderBtn.hidden = !this.hasMore;
      return true;
    } catch (e) {
      this.ctx.toast(`Older messages could not be loaded: ${this.ctx.describe(e)}`, 'error');
      return false;
    } finally {
      this.loadingOlder = false;
      this.olderBtn.disabled = false;
    }
  }

  // -- rendering ---------------------------------------------------------------

  drawHeader() {
    const chat = this.chat;
    if (!chat) return;
    const title = this.state.title(chat);
    this.title.textContent = title;
    if (chat.kind === 'direct') {
      const peer = this.state.peers.get(chat.id);
      const p = peer && this.state.presence.get(peer.id);
      if (p && p.status === 'online') this.sub.textContent = 'online';
      else if (p && p.last_seen) this.sub.textContent = `last seen ${this.ctx.fmt.time(new Date(p.last_seen).toISOString())}`;
      else this.sub.textContent = peer ? `@${peer.username}` : '';
      this.sub.dataset.presence = p ? p.status : '';
    } else {
      const kind = chat.kind === 'channel' ? (chat.is_public ? 'Public channel' : 'Channel') : 'Group';
      this.sub.textContent = `${kind} · ${chat.member_count} member${chat.member_count === 1 ? '' : 's'}`;
    }
    const readOnly = chat.kind === 'channel' && chat.my_role === 'member';
    this.composer.setWritable(!readOnly, 'Only the owner and admins post in this channel.');
  }

  renderOpts() {
    return {
      ctx: this.ctx, me: this.me, chat: this.chat || { kind: 'group' },
      act: (a, m, arg) => this.act(a, m, arg),
      canDelete: (m) => this.canDelete(m),
      senderName: (id) => this.state.userName(id),
    };
  }

  keyOf(m) {
    return m.pending ? `c:${m.client_id}` : m.id;
  }

  // Draws a message and puts it in order: real ones by id, pending ones
  // after every real one, in the order they were written.
  place(m) {
    const key = this.keyOf(m);
    const el = renderMessage(m, this.renderOpts());
    el.dataset.sort = m.pending ? `~${String(m.seq).padStart(8, '0')}` : m.id;
    const old = this.nodes.get(key);
    let refocus = null;
    if (old && old.contains(document.activeElement)) refocus = document.activeElement.dataset.focusKey;
    if (old) {
      old.replaceWith(el);
    } else {
      let after = this.list.lastElementChild;
      while (after && after.dataset.sort > el.dataset.sort) after = after.previousElementSibling;
      if (after) after.after(el);
      else this.list.prepend(el);
    }
    this.nodes.set(key, el);
    if (refocus) {
      const again = el.querySelector(`[data-focus-key="${CSS.escape(refocus)}"]`);
      if (again) again.focus();
    }
    return el;
  }

  // Adds or replaces a message (from the API or an event). A message sent
  // from here replaces its pending copy (same client_id). The read state of
  // one's own messages only goes forward.
  upsert(m, { quiet = false } = {}) {
    if (m.chat_id !== this.chatId) return;
    const wasNear = this.stick || this.nearBottom();
    if (m.client_id && m.sender.id === this.me.id && this.pending.has(m.client_id)) {
      this.pending.delete(m.client_id);
      const n = this.nodes.get(`c:${m.client_id}`);
      if (n) n.remove();
      this.nodes.delete(`c:${m.client_id}`);
    }
    const old = this.messages.get(m.id);
    const merged = { ...m };
    if (m.sender.id !== this.me.id) merged.state = null;
    else if (old && (STATE_RANK[old.state] || 0) > (STATE_RANK[m.state] || 0)) merged.state = old.state;
    this.messages.set(m.id, merged);
    this.state.rememberUser(m.sender);
    this.status.textContent = '';
    const isNew = !old;
    this.place(merged);
    if (!quiet && isNew) {
      if (wasNear || m.sender.id === this.me.id) this.scrollToBottom(true);
      else this.newBelow.hidden = false;
    }
  }

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM;
  }

  scrollToBottom(markRead) {
    this.stick = true;
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.newBelow.hidden = true;
    if (markRead) this.maybeMarkRead();
  }

  scrolled() {
    this.stick = this.nearBottom();
    if (this.scroller.scrollTop < 150 && this.hasMore) this.loadOlder();
    if (this.stick) {
      this.newBelow.hidden = true;
      this.maybeMarkRead();
    }
  }

  // Moves the read marker to the newest message once it is on screen (the
  // page visible, the list scrolled to the bottom) and someone else wrote
  // something after the marker.
  maybeMarkRead() {
    if (this.dead || document.visibilityState !== 'visible' || !this.nearBottom()) return;
    const chat = this.chat;
    if (!chat) return;
    let newest = null;
    let othersNew = false;
    for (const m of this.messages.values()) {
      if (!newest || m.id > newest) newest = m.id;
      if (m.sender.id !== this.me.id && newer(m.id, chat.last_read_id) && newer(m.id, this.readSent)) othersNew = true;
    }
    if (!newest || !othersNew) {
      if (chat.unread_count && !othersNew && newest) {
        // the list's count came from before this page: nothing is left unread here
        chat.unread_count = 0;
        this.hooks.chatChanged(chat);
      }
      return;
    }
    this.readSent = newest;
    chat.unread_count = 0;
    this.hooks.chatChanged(chat);
    this.ctx.api.post(`/chats/${this.chatId}/read`, { message_id: newest }).then((c) => {
      if (!this.dead) this.hooks.chatChanged(this.state.upsert(c));
    }, () => {
      this.readSent = null; // tried again at the next chance
    });
  }

  // -- actions -----------------------------------------------------------------

  canDelete(m) {
    const chat = this.chat;
    if (m.sender.id === this.me.id) return true;
    return !!chat && chat.kind !== 'direct' && (chat.my_role === 'owner' || chat.my_role === 'admin');
  }

  async act(action, msg, arg) {
    const { api, describe, toast } = this.ctx;
    try {
      switch (action) {
        case 'menu':
          if (this.closeMenu) this.closeMenu();
          this.closeMenu = openMenu(arg, msg, this.renderOpts());
          break;
        case 'react':
          this.upsert(await api.post(`/messages/${msg.id}/react`, { emoji: arg }));
          break;
        case 'reply':
          this.composer.reply(msg);
          break;
        case 'edit':
          this.composer.edit(msg);
          break;
        case 'copy':
          await navigator.clipboard.writeText(msg.content || '');
          toast('Copied');
          break;
        case 'delete':
          if (!await confirmDialog('Delete this message for everyone?', 'Delete')) return;
          await api.del(`/messages/${msg.id}`);
          this.onDeleted({ message_id: msg.id });
          break;
        case 'goto':
          await this.goto(arg);
          break;
        case 'retry':
          msg.failed = false;
          this.place(msg);
          this.post(msg);
          break;
        case 'discard':
          this.pending.delete(msg.client_id);
          this.nodes.get(this.keyOf(msg)).remove();
          this.nodes.delete(this.keyOf(msg));
          break;
        default:
          break;
      }
    } catch (e) {
      toast(describe(e), 'error');
    }
  }

  // The composer's message: an edit (PUT), or a new one shown at once as
  // pending and posted with a client_id, so a retry never doubles it.
  async submit({ text, files = [], replyTo = null, editing = null }) {
    const { api, describe, toast } = this.ctx;
    if (editing) {
      if (text === editing.content) return true;
      try {
        this.upsert(await api.put(`/messages/${editing.id}`, { content: text }));
        return true;
      } catch (e) {
        toast(describe(e), 'error');
        return false;
      }
    }
    const p = {
      pending: true, seq: ++this.pendingSeq, client_id: clientId(), chat_id: this.chatId,
      sender: { id: this.me.id, username: this.me.username, display_name: this.me.display_name || '' },
      content: text.trim() ? text : files.map((f) => f.filename).join(', '),
      created_at: new Date().toISOString(), edited_at: null, deleted: false,
      reply_to: replyTo ? { id: replyTo.id, sender_id: replyTo.sender.id, preview: (replyTo.content || '').slice(0, 100) } : null,
      attachments: files, reactions: [], state: null, file_ids: files.map((f) => f.id),
    };
    this.pending.set(p.client_id, p);
    this.status.textContent = '';
    this.place(p);
    this.scrollToBottom(false);
    this.post(p);
    return true;
  }

  async post(p) {
    try {
      const m = await this.ctx.api.post('/messages', {
        chat_id: this.chatId, content: p.content, client_id: p.client_id,
        reply_to: p.reply_to ? p.reply_to.id : null, file_ids: p.file_ids,
      });
      if (this.dead) return;
      this.upsert(m);
      this.hooks.messageSent(m);
    } catch (e) {
      if (this.dead || !this.pending.has(p.client_id)) return;
      p.failed = true;
      p.error = this.ctx.describe(e);
      this.place(p);
    }
  }

  // The newest own message, to edit with ArrowUp in an empty composer.
  editLast() {
    const own = [...this.messages.values()].filter((m) => m.sender.id === this.me.id && !m.deleted);
    if (!own.length) return false;
    own.sort((a, b) => (a.id < b.id ? 1 : -1));
    this.composer.edit(own[0]);
    return true;
  }

  // Shows one message (loading older pages up to it) and flashes it.
  async goto(id) {
    for (let i = 0; i < 20 && !this.nodes.has(id) && this.hasMore; i += 1) {
      if (!await this.loadOlder()) break;
    }
    const el = this.nodes.get(id);
    if (!el) {
      this.ctx.toast('That message is no longer in the history', 'error');
      return;
    }
    this.stick = false;
    el.scrollIntoView({ block: 'center' });
    el.classList.remove('flash');
    void el.offsetWidth; // restart the animation
    el.classList.add('flash');
    el.setAttribute('tabindex', '-1');
    el.focus({ preventScroll: true });
  }

  focusComposer() {
    this.composer.focus();
  }

  // -- events of this chat ---------------------------------------------------

  onCreated(m) {
    this.upsert(m);
    this.stopTyper(m.sender.id);
    this.maybeMarkRead();
  }

  onUpdated(m) {
    if (this.messages.has(m.id)) this.upsert(m, { quiet: true });
  }

  onDeleted({ message_id: id }) {
    const m = this.messages.get(id);
    if (!m || m.deleted) return;
    this.upsert({ ...m, deleted: true, content: null, attachments: [], reactions: [] }, { quiet: true });
    if (this.composer.editing && this.composer.editing.id === id) this.composer.cancelBar();
  }

  // reaction.updated carries the counts, not whether the caller is among
  // them: that is kept, and set for the caller's own change.
  onReaction(d) {
    const m = this.messages.get(d.message_id);
    if (!m) return;
    const mine = new Map((m.reactions || []).map((r) => [r.emoji, r.me]));
    if (d.user_id === this.me.id) mine.set(d.emoji, d.added);
    const reactions = d.reactions.map((r) => ({ emoji: r.emoji, count: r.count, me: !!mine.get(r.emoji) }));
    this.upsert({ ...m, reactions }, { quiet: true });
  }

  // Another member's marker moved: one's own messages up to it are read.
  onRead(d) {
    if (d.user_id === this.me.id) {
      const chat = this.chat;
      if (chat && newer(d.message_id, chat.last_read_id)) chat.last_read_id = d.message_id;
      return;
    }
    for (const m of this.messages.values()) {
      if (m.sender.id === this.me.id && !m.deleted && m.id <= d.message_id && m.state !== 'read') {
        this.upsert({ ...m, state: 'read' }, { quiet: true });
      }
    }
  }

  onTyping(d) {
    if (d.user_id === this.me.id) return;
    if (d.state === 'stop') {
      this.stopTyper(d.user_id);
      return;
    }
    clearTimeout(this.typers.get(d.user_id));
    const secs = Number(d.expires_in) > 0 ? Number(d.expires_in) : 6;
    this.typers.set(d.user_id, setTimeout(() => this.stopTyper(d.user_id), secs * 1000));
    this.drawTyping();
  }

  stopTyper(userId) {
    if (!this.typers.has(userId)) return;
    clearTimeout(this.typers.get(userId));
    this.typers.delete(userId);
    this.drawTyping();
  }

  drawTyping() {
    const names = [...this.typers.keys()].map((id) => nameOf(this.state.users.get(id)));
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = 'Several people are typing…';
    this.typingEl.textContent = text;
    this.typingEl.classList.toggle('on', !!text);
  }

  destroy() {
    this.dead = true;
    if (this.closeMenu) this.closeMenu();
    this.composer.destroy();
    for (const t of this.typers.values()) clearTimeout(t);
    this.resize.disconnect();
    document.removeEventListener('visibilitychange', this.onVisible);
    window.removeEventListener('focus', this.onVisible);
  }
}
