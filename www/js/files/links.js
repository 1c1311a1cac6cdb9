// The share links of one file, as a panel of the Files view: make one
// (expiry, download limit, optional password), copy it, list them and revoke
// them. A link's token is shown once, at creation (the server keeps only its
// hash), so the panel says so.
//
// The link given out is the public page www/share.html:
//   /share.html#t=<token>&n=<file name>&s=<size>[&p=1]
// The name, size and "has a password" in the fragment are hints for the page
// (a fragment never reaches the server); the download itself is
// GET /s/<token>.

import { copyText, h, say } from './dom.js';

const EXPIRY = [
  [3600, '1 hour'],
  [86400, '1 day'],
  [7 * 86400, '7 days'],
  [30 * 86400, '30 days'],
  [365 * 86400, '1 year'],
];

export function shareUrl(token, file, hasPassword) {
  const q = new URLSearchParams({ t: token, n: file.filename, s: String(file.size) });
  if (hasPassword) q.set('p', '1');
  return `${location.origin}/share.html#${q.toString()}`;
}

let seq = 0;

// Makes the panel for file (a File of the API); returns its element.
export function linksPanel(ctx, file) {
  const id = `lk${++seq}`;
  const expiry = h('select', { id: `${id}-exp`, name: 'expires_in' },
    EXPIRY.map(([s, label]) => h('option', { value: String(s), selected: s === 7 * 86400 }, label)));
  const limit = h('input', { id: `${id}-max`, name: 'max_downloads', type: 'number', min: 0,
    max: 1000000000, step: 1, value: '0', inputmode: 'numeric' });
  const password = h('input', { id: `${id}-pw`, name: 'password', type: 'password', minLength: 8,
    maxLength: 256, autocomplete: 'new-password', placeholder: 'none' });
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create link');
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('form', { class: 'link-form' },
    h('div', { class: 'link-fields' },
      h('label', { for: expiry.id }, 'Expires after', expiry),
      h('label', { for: limit.id }, 'Download limit (0: none)', limit),
      h('label', { for: password.id }, 'Password (optional)', password)),
    create, error);

  const url = h('input', { type: 'text', readOnly: true, class: 'link-url', 'aria-label': 'The new share link' });
  const copy = h('button', { type: 'button', class: 'copy' }, 'Copy link');
  const copied = h('span', { class: 'muted', role: 'status' });
  const fresh = h('div', { class: 'link-new', hidden: true },
    h('p', {}, 'New link. Copy it now: it is not shown again.'),
    h('div', { class: 'link-copy' }, url, copy), copied);
  copy.addEventListener('click', async () => {
    const ok = await copyText(url.value, url);
    copied.textContent = ok ? 'Copied.' : 'Select the link and copy it.';
  });

  const list = h('ul', { class: 'link-list' });
  const empty = h('p', { class: 'muted' }, 'No share links yet.');
  const panel = h('section', { class: 'links', 'aria-label': `Share links of ${file.filename}` },
    form, fresh, h('h4', {}, 'Links'), empty, list);

  function row(l) {
    const revoke = h('button', { type: 'button', class: 'danger' }, 'Revoke');
    const err = h('span', { class: 'error', role: 'alert', hidden: true });
    const expired = new Date(l.expires_at) <= new Date();
    const used = l.max_downloads ? `${l.downloads} of ${l.max_downloads} downloads` : `${l.downloads} downloads`;
    const li = h('li', { dataset: { linkId: l.id } },
      h('span', { class: 'link-desc' },
        `Made ${ctx.fmt.time(l.created_at)}, ${expired ? 'expired' : 'expires'} ${ctx.fmt.time(l.expires_at)} · ${used}`,
        l.has_password ? ' · password' : ''),
      revoke, err);
    revoke.addEventListener('click', async () => {
      revoke.disabled = true;
      say(err, '');
      try {
        await ctx.api.del(`/files/${file.id}/links/${l.id}`);
        li.remove();
        empty.hidden = list.children.length > 0;
        ctx.toast('Link revoked');
      } catch (e) {
        say(err, ctx.describe(e));
        revoke.disabled = false;
      }
    });
    return li;
  }

  async function load() {
    try {
      const r = await ctx.api.get(`/files/${file.id}/links`);
      list.replaceChildren(...r.items.map(row));
      empty.hidden = r.items.length > 0;
    } catch (e) {
      say(error, ctx.describe(e));
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    say(error, '');
    const body = { expires_in: Number(expiry.value) };
    const max = Number(limit.value || 0);
    if (!Number.isInteger(max) || max < 0) {
      say(error, 'The download limit is a whole number (0 for none)');
      limit.focus();
      return;
    }
    body.max_downloads = max;
    if (password.value) {
      if (password.value.length < 8) {
        say(error, 'A password has at least 8 characters');
        password.focus();
        return;
      }
      body.password = password.value;
    }
    create.disabled = true;
    try {
      const l = await ctx.api.post(`/files/${file.id}/links`, body);
      url.value = shareUrl(l.token, file, l.has_password);
      fresh.dataset.token = l.token;
      fresh.hidden = false;
      copied.textContent = '';
      password.value = '';
      list.prepend(row(l));
      empty.hidden = true;
      url.focus();
      url.select();
    } catch (e) {
      say(error, ctx.describe(e));
    } finally {
      create.disabled = false;
    }
  });

  load();
  return panel;
}
