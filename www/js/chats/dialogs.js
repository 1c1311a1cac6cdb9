// The chats view's modal dialogs (<dialog>: focus kept inside, Escape
// closes): a confirmation, a new chat (direct, group, channel) with a user
// picker, and a chat's details: settings, members and roles, leave, delete.

import { debounce, h, nameOf } from './dom.js';

// A <dialog> added to the page and shown; removed when it closes.
function modal(title, ...body) {
  const d = h('dialog', { class: 'chats-dialog', 'aria-label': title },
    h('div', { class: 'dialog-head' }, h('h2', { text: title }),
      h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Close', text: '✕', onclick: () => d.close() })),
    ...body);
  d.addEventListener('close', () => d.remove());
  document.body.append(d);
  d.showModal();
  return d;
}

// Answers true when the person confirms.
export function confirmDialog(text, okLabel = 'OK', danger = true) {
  return new Promise((resolve) => {
    let ok = false;
    const yes = h('button', { type: 'button', class: danger ? 'primary danger-fill' : 'primary', text: okLabel,
      onclick: () => { ok = true; d.close(); } });
    const d = modal('Please confirm', h('p', { text }),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', text: 'Cancel', onclick: () => d.close() }), yes));
    d.addEventListener('close', () => resolve(ok));
    yes.focus();
  });
}

// A search box over GET /users/search with the chosen users as chips.
// opts: {multiple, exclude: Set of user ids, label, onPick(user) (instead of
// chips)}. Returns {el, selected(), clear()}.
export function userPicker(ctx, opts = {}) {
  const chosen = new Map();
  const input = h('input', { type: 'search', autocomplete: 'off', placeholder: 'Name or username',
    'aria-label': opts.label || 'Find people', class: 'user-search' });
  const results = h('ul', { class: 'user-results', 'aria-label': 'People found' });
  const chips = h('div', { class: 'chips', 'aria-live': 'polite' });
  const msg = h('p', { class: 'muted small', hidden: true });
  const exclude = opts.exclude || new Set();
  let seq = 0;

  const drawChips = () => {
    chips.replaceChildren(...[...chosen.values()].map((u) => h('span', { class: 'chip' },
      nameOf(u), h('button', { type: 'button', class: 'chip-x', 'aria-label': `Remove ${nameOf(u)}`, text: '✕',
        onclick: () => { chosen.delete(u.id); drawChips(); input.focus(); } }))));
  };
  const pick = (u) => {
    if (opts.onPick) {
      opts.onPick(u);
    } else {
      if (!opts.multiple) chosen.clear();
      chosen.set(u.id, u);
      drawChips();
    }
    input.value = '';
    results.replaceChildren();
    input.focus();
  };
  const search = debounce(async () => {
    const q = input.value.trim();
    const mine = ++seq;
    if (!q) {
      results.replaceChildren();
      msg.hidden = true;
      return;
    }
    try {
      const page = await ctx.api.searchUsers(q.slice(0, 64), 8);
      if (mine !== seq) return;
      const items = page.items.filter((u) => u.id !== ctx.me.id && !exclude.has(u.id));
      msg.hidden = items.length > 0;
      msg.textContent = `Nobody found for “${q}”.`;
      results.replaceChildren(...items.map((u) => h('li', {}, h('button', {
        type: 'button', class: 'user-result', dataset: { username: u.username },
        onclick: () => pick(u),
      }, h('span', { class: 'user-name', text: nameOf(u) }), h('span', { class: 'muted', text: ` @${u.username}` })))));
    } catch (e) {
      if (mine !== seq) return;
      msg.hidden = false;
      msg.textContent = ctx.describe(e);
    }
  }, 200);
  input.addEventListener('input', search);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      const first = results.querySelector('button');
      if (first) first.click();
    } else if (e.key === 'ArrowDown') {
      const first = results.querySelector('button');
      if (first) { e.preventDefault(); first.focus(); }
    }
  });
  results.addEventListener('keydown', (e) => {
    const all = [...results.querySelectorAll('button')];
    const i = all.indexOf(document.activeElement);
    if (e.key === 'ArrowDown' && i < all.length - 1) { e.preventDefault(); all[i + 1].focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); (i > 0 ? all[i - 1] : input).focus(); }
  });
  const el = h('div', { class: 'user-picker' }, chips, input, results, msg);
  return { el, input, selected: () => [...chosen.values()], clear() { chosen.clear(); drawChips(); } };
}

// New chat: the kind, a name for groups and channels, the people. Calls
// done(chat) with the created (or, for a direct chat, existing) chat.
export function newChatDialog(ctx, done) {
  const kinds = [['direct', 'Direct message'], ['group', 'Group'], ['channel', 'Channel']];
  const radios = kinds.map(([k, label], i) => h('label', { class: 'radio' },
    h('input', { type: 'radio', name: 'kind', value: k, checked: i === 0 }), ` ${label}`));
  const name = h('input', { name: 'name', maxlength: 128, autocomplete: 'off' });
  const desc = h('textarea', { name: 'description', rows: 2, maxlength: 1000 });
  const pub = h('input', { type: 'checkbox', name: 'is_public' });
  const picker = userPicker(ctx, { multiple: true, label: 'Add people' });
  const nameRow = h('label', { hidden: true }, 'Name', name);
  const descRow = h('label', { hidden: true }, 'Description (optional)', desc);
  const pubRow = h('label', { class: 'check', hidden: true }, pub, ' Public: anyone may join');
  const peopleLabel = h('div', { class: 'field-label', text: 'Person' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Start chat' });
  const form = h('form', { class: 'new-chat', novalidate: true },
    h('fieldset', { class: 'kinds' }, h('legend', { text: 'Kind' }), radios),
    nameRow, descRow, pubRow, peopleLabel, picker.el, error,
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', text: 'Cancel', onclick: () => d.close() }), submit));
  const kind = () => form.querySelector('input[name=kind]:checked').value;
  const sync = () => {
    const k = kind();
    nameRow.hidden = k === 'direct';
    descRow.hidden = k === 'direct';
    pubRow.hidden = k !== 'channel';
    peopleLabel.textContent = k === 'direct' ? 'Person' : 'Members (optional)';
    submit.textContent = k === 'direct' ? 'Start chat' : `Create ${k}`;
  };
  form.addEventListener('change', sync);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    const k = kind();
    const people = picker.selected().map((u) => u.id);
    const body = { kind: k, members: people };
    if (k === 'direct') {
      if (people.length !== 1) {
        error.textContent = 'Choose the one person to write to.';
        error.hidden = false;
        return;
      }
    } else {
      if (!name.value.trim()) {
        error.textContent = 'Give it a name.';
        error.hidden = false;
        name.focus();
        return;
      }
      body.name = name.value.trim();
      if (desc.value.trim()) body.description = desc.value.trim();
      if (k === 'channel') body.is_public = pub.checked;
    }
    submit.disabled = true;
    try {
      const chat = await ctx.api.post('/chats', body);
      d.close();
      done(chat);
    } catch (err) {
      error.textContent = ctx.describe(err);
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  const d = modal('New chat', form);
  sync();
  form.querySelector('input[name=kind]').focus();
  return d;
}

const ROLE_LABEL = { owner: 'Owner', admin: 'Admin', member: 'Member' };

// A chat's details. For a group or channel: its name and description
// (editable by the owner and admins), the members with their roles (the
// owner promotes and demotes; the owner and admins remove; admins and the
// owner add), Leave, and Delete for the owner. Returns {refresh(), close()}
// so the view can redraw it when member events arrive.
export function chatInfoDialog(ctx, state, chatId, { onLeft }) {
  const body = h('div', { class: 'chat-info' });
  const d = modal('Chat details', body);
  let alive = true;
  d.addEventListener('close', () => { alive = false; });

  const act = async (fn, okText) => {
    try {
      await fn();
      if (okText) ctx.toast(okText);
      await refresh();
    } catch (e) {
      ctx.toast(ctx.describe(e), 'error');
    }
  };

  async function refresh() {
    const chat = state.chats.get(chatId);
    if (!chat || !alive) return;
    let members = [];
    try {
      let cursor = null;
      for (let i = 0; i < 5; i += 1) {
        const page = await ctx.api.get(`/chats/${chatId}/members?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
        members = members.concat(page.items);
        cursor = page.next_cursor;
        if (!cursor) break;
      }
    } catch (e) {
      body.replaceChildren(h('p', { class: 'error', text: ctx.describe(e) }));
      return;
    }
    if (!alive) return;
    const focusKey = document.activeElement && body.contains(document.activeElement)
      ? document.activeElement.dataset.focusKey : null;
    for (const m of members) state.rememberUser({ id: m.user_id, username: m.username, display_name: m.display_name });
    const role = chat.my_role;
    const manage = role === 'owner' || role === 'admin';
    const parts = [];
    if (chat.kind === 'direct') {
      const peer = members.find((m) => m.user_id !== ctx.me.id);
      parts.push(h('p', {}, 'Direct messages with ', h('strong', { text: peer ? nameOf(peer) : 'someone' }),
        peer ? ` (@${peer.username})` : ''));
    } else {
      parts.push(settingsForm(chat, manage));
    }
    parts.push(h('h3', { text: `Members (${members.length})` }));
    parts.push(h('ul', { class: 'member-list' }, members.map((m) => memberRow(chat, m))));
    if (chat.kind !== 'direct' && manage) {
      const exclude = new Set(members.map((m) => m.user_id));
      const picker = userPicker(ctx, { exclude, label: 'Add a member',
        onPick: (u) => act(() => ctx.api.post(`/chats/${chatId}/members`, { user_id: u.id }), `${nameOf(u)} was added`) });
      parts.push(h('div', { class: 'add-member' }, h('div', { class: 'field-label', text: 'Add a member' }), picker.el));
    }
    if (chat.kind !== 'direct') {
      const row = h('div', { class: 'dialog-actions spread' });
      row.append(h('button', { type: 'button', class: 'danger', text: `Leave ${chat.kind}`, dataset: { focusKey: 'leave' },
        onclick: async () => {
          if (!await confirmDialog(`Leave “${chat.name}”?`, 'Leave')) return;
          try {
            await ctx.api.post(`/chats/${chatId}/leave`);
            d.close();
            onLeft(`You left “${chat.name}”`);
          } catch (e) {
            ctx.toast(ctx.describe(e), 'error');
          }
        } }));
      if (role === 'owner') {
        row.append(h('button', { type: 'button', class: 'danger', text: `Delete ${chat.kind}`,
          onclick: async () => {
            if (!await confirmDialog(`Delete “${chat.name}” and all its messages for everyone?`, 'Delete')) return;
            try {
              await ctx.api.del(`/chats/${chatId}`);
              d.close();
              onLeft(`“${chat.name}” was deleted`);
            } catch (e) {
              ctx.toast(ctx.describe(e), 'error');
            }
          } }));
      }
      parts.push(row);
    }
    body.replaceChildren(...parts);
    const again = focusKey && body.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`);
    if (again) again.focus();
  }

  function settingsForm(chat, manage) {
    if (!manage) {
      return h('div', { class: 'chat-about' }, h('p', {}, h('strong', { text: chat.name })),
        chat.description ? h('p', { class: 'muted', text: chat.description }) : null,
        h('p', { class: 'muted small', text: `${chat.kind === 'channel' ? (chat.is_public ? 'Public channel' : 'Private channel') : 'Group'}` }));
    }
    const name = h('input', { name: 'name', value: chat.name, maxlength: 128, required: true });
    const desc = h('textarea', { name: 'description', rows: 2, maxlength: 1000 });
    desc.value = chat.description || '';
    const pub = chat.kind === 'channel' ? h('input', { type: 'checkbox', checked: chat.is_public }) : null;
    const form = h('form', { class: 'chat-settings' },
      h('label', {}, 'Name', name), h('label', {}, 'Description', desc),
      pub ? h('label', { class: 'check' }, pub, ' Public: anyone may join') : null,
      h('button', { type: 'submit', text: 'Save', dataset: { focusKey: 'save' } }));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const b = { name: name.value.trim(), description: desc.value.trim() };
      if (pub) b.is_public = pub.checked;
      act(async () => state.upsert(await ctx.api.put(`/chats/${chatId}`, b)), 'Saved');
    });
    return form;
  }

  function memberRow(chat, m) {
    const me = m.user_id === ctx.me.id;
    const row = h('li', { class: 'member', dataset: { userId: m.user_id } },
      h('span', { class: 'member-name' }, nameOf(m), me ? ' (you)' : '',
        h('span', { class: 'muted', text: ` @${m.username}` })));
    const my = chat.my_role;
    if (chat.kind === 'direct') return row;
    if (my === 'owner' && m.role !== 'owner' && !me) {
      const sel = h('select', { 'aria-label': `Role of ${nameOf(m)}`, dataset: { focusKey: `role:${m.user_id}` } },
        h('option', { value: 'member', text: 'Member' }), h('option', { value: 'admin', text: 'Admin' }));
      sel.value = m.role;
      sel.addEventListener('change', () => act(() => ctx.api.put(`/chats/${chatId}/members/${m.user_id}`, { role: sel.value }),
        `${nameOf(m)} is now ${sel.value === 'admin' ? 'an admin' : 'a member'}`));
      row.append(sel);
    } else {
      row.append(h('span', { class: `role role-${m.role}`, text: ROLE_LABEL[m.role] || m.role }));
    }
    const canRemove = !me && m.role !== 'owner' && (my === 'owner' || (my === 'admin' && m.role === 'member'));
    if (canRemove) {
      row.append(h('button', { type: 'button', class: 'danger small-btn', text: 'Remove',
        'aria-label': `Remove ${nameOf(m)}`, dataset: { focusKey: `rm:${m.user_id}` },
        onclick: async () => {
          if (!await confirmDialog(`Remove ${nameOf(m)} from “${chat.name}”?`, 'Remove')) return;
          act(() => ctx.api.del(`/chats/${chatId}/members/${m.user_id}`), `${nameOf(m)} was removed`);
        } }));
    }
    return row;
  }

  body.append(h('p', { class: 'muted', text: 'Loading…' }));
  refresh();
  return { refresh, close: () => d.close(), get open() { return alive; } };
}
