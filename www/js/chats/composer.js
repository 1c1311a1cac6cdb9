// The message composer of the chat pane: a growing textarea (Enter sends,
// Shift+Enter is a new line, Escape drops a reply or an edit), the "replying
// to" / "editing" bar, attachments uploaded as they are picked (or pasted),
// and the typing notices sent over the socket (throttled).

import { ATTACH_MAX, uploadFile } from './files.js';
import { h, icon, nameOf } from './dom.js';

const TYPING_EVERY_MS = 3000; // a new "start" at most this often while typing
const TYPING_IDLE_MS = 5000; // "stop" after this long without a key

export class Composer {
  // hooks: {submit({text, files, replyTo, editing}) -> Promise<bool>,
  // typing(state), draft(text)}
  constructor(ctx, chatId, hooks) {
    this.ctx = ctx;
    this.chatId = chatId;
    this.hooks = hooks;
    this.replyTo = null; // the message answered
    this.editing = null; // the message edited
    this.savedDraft = '';
    this.files = []; // {name, file (once uploaded), error, el}
    this.typingSentAt = 0;
    this.typingIdle = null;

    this.bar = h('div', { class: 'composer-bar', hidden: true });
    this.chips = h('div', { class: 'composer-files', 'aria-live': 'polite' });
    this.input = h('textarea', { class: 'composer-input', rows: 1, 'aria-label': 'Message',
      placeholder: 'Write a message', maxlength: 16384 });
    this.fileInput = h('input', { type: 'file', multiple: true, hidden: true, tabindex: -1, 'aria-hidden': 'true' });
    this.attachBtn = h('button', { type: 'button', class: 'icon-btn attach-btn', 'aria-label': 'Attach files',
      title: 'Attach files', onclick: () => this.fileInput.click() }, icon('attach'));
    this.sendBtn = h('button', { type: 'submit', class: 'primary send-btn', text: 'Send' });
    this.note = h('p', { class: 'composer-note muted small', hidden: true });
    this.el = h('form', { class: 'composer', novalidate: true },
      this.bar, this.chips,
      h('div', { class: 'composer-row' }, this.attachBtn, this.fileInput, this.input, this.sendBtn),
      this.note);

    this.el.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (e) => this.onKey(e));
    this.input.addEventListener('input', () => this.onInput());
    this.input.addEventListener('blur', () => this.stopTyping());
    this.input.addEventListener('paste', (e) => {
      const files = [...((e.clipboardData && e.clipboardData.files) || [])];
      if (files.length) {
        e.preventDefault();
        this.attach(files);
      }
    });
    this.fileInput.addEventListener('change', () => {
      this.attach([...this.fileInput.files]);
      this.fileInput.value = '';
    });
  }

  // Posting allowed or not (a channel's plain members only read).
  setWritable(ok, why = '') {
    this.input.disabled = !ok;
    this.sendBtn.disabled = !ok;
    this.attachBtn.disabled = !ok;
    this.note.hidden = ok;
    this.note.textContent = why;
  }

  setText(text) {
    this.input.value = text;
    this.grow();
  }

  focus() {
    if (!this.input.disabled) this.input.focus();
  }

  grow() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight + 2, 200)}px`;
  }

  onKey(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      this.submit();
    } else if (e.key === 'Escape' && (this.replyTo || this.editing)) {
      e.preventDefault();
      this.cancelBar();
    } else if (e.key === 'ArrowUp' && !this.input.value && this.hooks.editLast) {
      // the last own message, as many chat apps do
      if (this.hooks.editLast()) e.preventDefault();
    }
  }

  onInput() {
    this.grow();
    if (!this.editing) this.hooks.draft(this.input.value);
    if (!this.input.value.trim() || this.editing) {
      this.stopTyping();
      return;
    }
    const now = Date.now();
    if (now - this.typingSentAt > TYPING_EVERY_MS) {
      this.typingSentAt = now;
      this.hooks.typing('start');
    }
    clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingIdle);
    if (this.typingSentAt) {
      this.typingSentAt = 0;
      this.hooks.typing('stop');
    }
  }

  reply(msg) {
    this.editing = null;
    this.replyTo = msg;
    this.showBar('Replying to', nameOf(msg.sender), msg.content || '');
    this.focus();
  }

  edit(msg) {
    if (!this.editing) this.savedDraft = this.input.value;
    this.replyTo = null;
    this.editing = msg;
    this.showBar('Editing', '', msg.content || '');
    this.setText(msg.content || '');
    this.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  }

  showBar(what, who, text) {
    this.bar.replaceChildren(
      h('div', { class: 'composer-bar-text' }, h('strong', { text: `${what}${who ? ` ${who}` : ''}` }),
        h('span', { class: 'muted', text: ` ${text.slice(0, 120)}` })),
      h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Cancel ${what.toLowerCase()}`, text: '✕',
        onclick: () => this.cancelBar() }));
    this.bar.hidden = false;
  }

  cancelBar() {
    if (this.editing) this.setText(this.savedDraft);
    this.editing = null;
    this.replyTo = null;
    this.bar.hidden = true;
    this.focus();
  }

  // Uploads the picked files at once, each shown as a chip with its state.
  attach(list) {
    for (const file of list) {
      if (this.files.length >= 10) {
        this.ctx.toast('At most 10 files per message', 'error');
        break;
      }
      if (file.size > ATTACH_MAX) {
        this.ctx.toast(`${file.name} is larger than ${this.ctx.fmt.bytes(ATTACH_MAX)}: send it from the Files page`, 'error');
        continue;
      }
      if (file.size === 0) {
        this.ctx.toast(`${file.name} is empty`, 'error');
        continue;
      }
      const item = { name: file.name, file: null, error: '', done: false };
      const status = h('span', { class: 'chip-status', text: ' uploading…' });
      item.el = h('span', { class: 'chip file-chip', dataset: { state: 'uploading' } }, file.name, status,
        h('button', { type: 'button', class: 'chip-x', 'aria-label': `Remove ${file.name}`, text: '✕',
          onclick: () => this.unattach(item) }));
      this.files.push(item);
      this.chips.append(item.el);
      item.promise = uploadFile(this.ctx.api, file, this.chatId, (sent, total) => {
        status.textContent = ` ${Math.floor((sent / total) * 100)}%`;
      }).then((f) => {
        item.file = f;
        item.done = true;
        item.el.dataset.state = 'done';
        status.textContent = ` ${this.ctx.fmt.bytes(f.size)}`;
      }, (e) => {
        item.error = this.ctx.describe(e);
        item.done = true;
        item.el.dataset.state = 'error';
        status.textContent = ` failed: ${item.error}`;
      });
    }
  }

  unattach(item) {
    this.files = this.files.filter((x) => x !== item);
    item.el.remove();
    this.focus();
  }

  // Hands the message to the pane; the composer is cleared when it took it.
  async submit() {
    if (this.input.disabled) return;
    const text = this.input.value.replace(/^\s*\n|\s+$/g, '');
    if (this.editing) {
      if (!text.trim()) {
        this.ctx.toast('A message cannot be empty: delete it instead', 'error');
        return;
      }
      const msg = this.editing;
      if (await this.hooks.submit({ text, editing: msg })) {
        this.editing = null;
        this.bar.hidden = true;
        this.setText(this.savedDraft);
      }
      return;
    }
    if (this.files.some((f) => !f.done)) {
      this.sendBtn.disabled = true;
      this.note.hidden = false;
      this.note.textContent = 'Waiting for the attachments to upload…';
      await Promise.all(this.files.map((f) => f.promise));
      this.sendBtn.disabled = false;
      this.note.hidden = true;
    }
    if (this.files.some((f) => f.error)) {
      this.ctx.toast('An attachment failed to upload: remove it or pick it again', 'error');
      return;
    }
    const files = this.files.map((f) => f.file);
    if (!text.trim() && !files.length) return;
    const replyTo = this.replyTo;
    this.stopTyping();
    const took = await this.hooks.submit({ text, files, replyTo });
    if (!took) return;
    this.files = [];
    this.chips.replaceChildren();
    this.replyTo = null;
    this.bar.hidden = true;
    this.setText('');
    this.hooks.draft('');
    this.focus();
  }

  destroy() {
    this.stopTyping();
  }
}
