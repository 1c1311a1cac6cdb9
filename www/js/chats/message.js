// One message of the chat pane as elements: sender, the message it answers,
// text, attachments, time, "edited", the read state of one's own messages,
// reactions, and its actions menu. Pure rendering: what a click does is the
// pane's (opts.act(action, msg, arg)).

import { attachmentEl } from './files.js';
import { h, nameOf } from './dom.js';

export const QUICK_EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🎉'];

const STATE_LABEL = { sending: 'Sending', failed: 'Not sent', sent: 'Sent', delivered: 'Delivered', read: 'Read' };
const STATE_MARK = { sending: '…', failed: '!', sent: '✓', delivered: '✓✓', read: '✓✓' };

// opts: {ctx, me, chat, act, canDelete(msg), senderName(id)}. msg may be a
// pending one ({pending: true, failed, client_id, ...}).
export function renderMessage(msg, opts) {
  const { ctx, me, chat } = opts;
  const mine = msg.sender.id === me.id;
  const el = h('article', {
    class: `msg${mine ? ' mine' : ''}${msg.deleted ? ' deleted' : ''}${msg.pending ? ' pending' : ''}`,
    dataset: { id: msg.id || '', clientId: msg.client_id || '' },
    'aria-label': `${mine ? 'You' : nameOf(msg.sender)}, ${ctx.fmt.time(msg.created_at)}`,
  });
  const bubble = h('div', { class: 'msg-bubble' });
  if (!mine && chat.kind !== 'direct') {
    bubble.append(h('div', { class: 'msg-sender', text: nameOf(msg.sender) }));
  }
  if (msg.reply_to && !msg.deleted) {
    const r = msg.reply_to;
    const who = r.sender_id ? opts.senderName(r.sender_id) : '';
    bubble.append(h('button', {
      type: 'button', class: 'msg-quote', dataset: { replyTo: r.id },
      'aria-label': `Replying to ${who}: ${r.preview || 'a deleted message'}. Show it`,
      onclick: () => opts.act('goto', msg, r.id),
    }, who ? h('span', { class: 'msg-quote-who', text: who }) : null,
    h('span', { class: 'msg-quote-text', text: r.preview || 'Deleted message' })));
  }
  if (msg.deleted) {
    bubble.append(h('div', { class: 'msg-text msg-tombstone', text: 'Message deleted' }));
  } else {
    bubble.append(h('div', { class: 'msg-text', text: msg.content || '' }));
    if (msg.attachments && msg.attachments.length) {
      bubble.append(h('div', { class: 'msg-files' }, msg.attachments.map((f) => attachmentEl(ctx, f))));
    }
  }
  const meta = h('div', { class: 'msg-meta' },
    h('time', { datetime: msg.created_at, title: new Date(msg.created_at).toLocaleString(),
      text: ctx.fmt.time(msg.created_at) }));
  if (msg.edited_at && !msg.deleted) {
    meta.append(h('span', { class: 'msg-edited', title: `Edited ${new Date(msg.edited_at).toLocaleString()}`, text: 'edited' }));
  }
  if (mine && !msg.deleted) {
    const st = msg.pending ? (msg.failed ? 'failed' : 'sending') : (msg.state || 'sent');
    el.dataset.state = st;
    meta.append(h('span', { class: 'msg-state', dataset: { state: st }, title: STATE_LABEL[st],
      'aria-label': STATE_LABEL[st], text: STATE_MARK[st] }));
  }
  bubble.append(meta);
  el.append(bubble);

  if (msg.failed) {
    el.append(h('div', { class: 'msg-failed', role: 'alert' },
      h('span', { text: msg.error || 'Not sent.' }), ' ',
      h('button', { type: 'button', class: 'link', text: 'Retry', onclick: () => opts.act('retry', msg) }),
      ' ',
      h('button', { type: 'button', class: 'link', text: 'Discard', onclick: () => opts.act('discard', msg) })));
  }
  if (!msg.deleted && msg.reactions && msg.reactions.length) {
    el.append(h('div', { class: 'msg-reactions' }, msg.reactions.map((r) => h('button', {
      type: 'button', class: `reaction${r.me ? ' me' : ''}`, 'aria-pressed': r.me ? 'true' : 'false',
      dataset: { emoji: r.emoji, focusKey: `react:${r.emoji}` },
      'aria-label': `${r.emoji} ${r.count} ${r.count === 1 ? 'reaction' : 'reactions'}${r.me ? ', yours' : ''}`,
      onclick: () => opts.act('react', msg, r.emoji),
    }, h('span', { text: r.emoji }), h('span', { class: 'reaction-count', text: String(r.count) })))));
  }
  if (!msg.deleted && !msg.pending) {
    el.append(h('button', { type: 'button', class: 'msg-menu-btn', 'aria-haspopup': 'menu',
      'aria-expanded': 'false', 'aria-label': 'Message actions', dataset: { focusKey: 'menu' },
      text: '⋯', onclick: (e) => opts.act('menu', msg, e.currentTarget) }));
  }
  return el;
}

// The actions menu of a message, placed under its button: the quick
// reactions, Reply, and Edit / Delete when allowed. Escape or a click
// elsewhere closes it and gives the focus back to the button.
export function openMenu(button, msg, opts) {
  const { me } = opts;
  const mine = msg.sender.id === me.id;
  const close = () => {
    menu.remove();
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', outside, true);
  };
  const choose = (action, arg) => () => {
    close();
    button.focus();
    opts.act(action, msg, arg);
  };
  const items = [
    h('div', { class: 'menu-emoji', role: 'group', 'aria-label': 'React' }, QUICK_EMOJI.map((e) => h('button', {
      type: 'button', role: 'menuitem', class: 'emoji-btn', 'aria-label': `React ${e}`, text: e, onclick: choose('react', e),
    }))),
    h('button', { type: 'button', role: 'menuitem', text: 'Reply', onclick: choose('reply') }),
    h('button', { type: 'button', role: 'menuitem', text: 'Copy text', onclick: choose('copy') }),
  ];
  if (mine) items.push(h('button', { type: 'button', role: 'menuitem', text: 'Edit', onclick: choose('edit') }));
  if (opts.canDelete(msg)) {
    items.push(h('button', { type: 'button', role: 'menuitem', class: 'danger', text: 'Delete', onclick: choose('delete') }));
  }
  const menu = h('div', { class: 'msg-menu', role: 'menu', 'aria-label': 'Message actions' }, items);
  const outside = (e) => {
    if (!menu.contains(e.target) && e.target !== button) close();
  };
  menu.addEventListener('keydown', (e) => {
    const all = [...menu.querySelectorAll('[role=menuitem]')];
    const i = all.indexOf(document.activeElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      close();
      button.focus();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowRight') {
      e.preventDefault();
      all[(i + 1) % all.length].focus();
    } else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') {
      e.preventDefault();
      all[(i - 1 + all.length) % all.length].focus();
    } else if (e.key === 'Tab') {
      close();
    }
  });
  button.setAttribute('aria-expanded', 'true');
  button.after(menu);
  document.addEventListener('pointerdown', outside, true);
  menu.querySelector('[role=menuitem]').focus();
  return close;
}
