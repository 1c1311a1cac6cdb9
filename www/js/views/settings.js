// Settings (#/settings): one's own profile (display name, bio), the
// password, the signed-in sessions (device, IP, last use; revoke any) and
// signing out. Errors are the API's own messages, next to what they concern.

const MAX_NAME = 64;
const MAX_BIO = 500;

export function mount(el, ctx) {
  ctx.css('settings');
  const { h } = ctx;
  const state = { alive: true, cleanup: [] };
  const root = h('section', { class: 'settings' }, h('h1', {}, 'Settings'));
  el.append(root);
  root.append(profileCard(ctx, state), passwordCard(ctx, state), sessionsCard(ctx, state),
    h('section', { class: 'card', 'aria-labelledby': 'signout-title' },
      h('h2', { id: 'signout-title' }, 'Sign out'),
      h('p', { class: 'muted' }, 'Ends the session of this browser. Your other sessions stay signed in.'),
      h('button', { type: 'button', id: 'settings-signout', class: 'danger',
        onclick: () => ctx.signOut() }, 'Sign out')));
  return () => {
    state.alive = false;
    for (const fn of state.cleanup) fn();
    root.remove();
  };
}

// A labelled input (or textarea) with a message line under it.
function field(ctx, id, label, attrs, tag = 'input') {
  const { h } = ctx;
  const input = h(tag, { id, name: id, 'aria-describedby': `${id}-msg`, ...attrs });
  const msg = h('p', { class: 'field-msg', id: `${id}-msg` });
  return { el: h('div', { class: 'field' }, h('label', { for: id }, label), input, msg), input, msg };
}

function setMsg(f, text, bad) {
  f.msg.textContent = text || '';
  f.msg.classList.toggle('bad', Boolean(bad));
  if (bad) f.input.setAttribute('aria-invalid', 'true');
  else f.input.removeAttribute('aria-invalid');
}

function profileCard(ctx, state) {
  const { h } = ctx;
  const me = ctx.me;
  const name = field(ctx, 'profile-display-name', 'Display name',
    { maxlength: String(MAX_NAME), value: me.display_name || '', autocomplete: 'name',
      placeholder: me.username });
  const bio = field(ctx, 'profile-bio-input', 'Bio', { maxlength: String(MAX_BIO), rows: '3' },
    'textarea');
  bio.input.value = me.bio || '';
  const count = () => setMsg(bio, `${bio.input.value.length} / ${MAX_BIO}`);
  count();
  bio.input.addEventListener('input', count);
  const status = h('p', { class: 'form-status', role: 'status', id: 'profile-status' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'profile-save' }, 'Save profile');
  const form = h('form', { class: 'card', id: 'profile-form', 'aria-labelledby': 'profile-title' },
    h('h2', { id: 'profile-title' }, 'Profile'),
    h('div', { class: 'account-line' }, ctx.avatar(me, 48),
      h('div', {},
        h('div', {}, h('strong', {}, `@${me.username}`), me.role === 'admin' ? h('span', { class: 'tag' }, 'admin') : null),
        h('div', { class: 'muted' }, me.email || ''),
        h('a', { href: `#/people/${me.id}` }, 'See your public profile'))),
    name.el, bio.el, status, save);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = '';
    status.classList.remove('error');
    setMsg(name, '');
    save.disabled = true;
    try {
      const u = await ctx.api.put(`/users/${me.id}`,
        { display_name: name.input.value.trim(), bio: bio.input.value });
      if (!state.alive) return;
      ctx.updateMe(u);
      status.textContent = 'Profile saved.';
      ctx.toast('Profile saved');
    } catch (err) {
      if (!state.alive) return;
      status.textContent = ctx.describe(err);
      status.classList.add('error');
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

function passwordCard(ctx, state) {
  const { h } = ctx;
  const old = field(ctx, 'pw-old', 'Current password', { type: 'password', autocomplete: 'current-password', required: true });
  const neu = field(ctx, 'pw-new', 'New password', { type: 'password', autocomplete: 'new-password', required: true });
  const again = field(ctx, 'pw-again', 'New password again', { type: 'password', autocomplete: 'new-password', required: true });
  const rules = 'At least 8 characters; not a common password, not one character repeated, '
    + 'and not containing your username.';
  setMsg(neu, rules);
  const status = h('p', { class: 'form-status', role: 'status', id: 'pw-status' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'pw-submit' }, 'Change password');
  const form = h('form', { class: 'card', id: 'pw-form', novalidate: true, 'aria-labelledby': 'pw-title' },
    h('h2', { id: 'pw-title' }, 'Password'),
    h('p', { class: 'muted' }, 'Changing it signs out your other sessions; this one stays signed in.'),
    old.el, neu.el, again.el, status, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = '';
    status.classList.remove('error');
    delete status.dataset.code;
    setMsg(old, '');
    setMsg(neu, rules);
    setMsg(again, '');
    if (!old.input.value) {
      setMsg(old, 'Enter your current password.', true);
      old.input.focus();
      return;
    }
    if (!neu.input.value) {
      setMsg(neu, 'Choose a new password.', true);
      neu.input.focus();
      return;
    }
    if (neu.input.value !== again.input.value) {
      setMsg(again, 'The two new passwords are not the same.', true);
      again.input.focus();
      return;
    }
    submit.disabled = true;
    try {
      const r = await ctx.api.put('/auth/change-password',
        { old_password: old.input.value, new_password: neu.input.value });
      if (!state.alive) return;
      form.reset();
      setMsg(neu, rules);
      const n = r && r.revoked_sessions ? r.revoked_sessions : 0;
      status.textContent = `Password changed.${n ? ` ${n} other session${n === 1 ? ' was' : 's were'} signed out.` : ''}`;
      status.dataset.code = 'ok';
      ctx.toast('Password changed');
      document.dispatchEvent(new CustomEvent('hs:sessions-changed'));
    } catch (err) {
      if (!state.alive) return;
      const text = ctx.describe(err);
      status.dataset.code = err.code || 'error';
      if (err.code === 'wrong_password') {
        setMsg(old, text, true);
        old.input.focus();
      } else if (err.code === 'weak_password') {
        setMsg(neu, text, true);
        neu.input.focus();
      } else {
        status.textContent = text;
        status.classList.add('error');
      }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// "Chrome on Linux" from a User-Agent; the raw string stays in the title.
export function deviceOf(ua) {
  if (!ua) return 'Unknown device';
  const browser = /Edg\//.test(ua) ? 'Edge' : /OPR\//.test(ua) ? 'Opera'
    : /Firefox\//.test(ua) ? 'Firefox' : /(Chrome|Chromium|HeadlessChrome)\//.test(ua) ? 'Chrome'
      : /Safari\//.test(ua) ? 'Safari' : /curl\//.test(ua) ? 'curl'
        : /python-requests/.test(ua) ? 'Python' : null;
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad|iPod/.test(ua) ? 'iOS'
    : /Windows/.test(ua) ? 'Windows' : /Mac OS X|Macintosh/.test(ua) ? 'macOS'
      : /CrOS/.test(ua) ? 'ChromeOS' : /Linux/.test(ua) ? 'Linux' : null;
  if (browser && os) return `${browser} on ${os}`;
  return browser || os || ua.slice(0, 40);
}

function sessionsCard(ctx, state) {
  const { h } = ctx;
  const list = h('ul', { class: 'sessions', id: 'sessions', 'aria-label': 'Signed-in sessions' });
  const status = h('p', { class: 'muted', role: 'status', id: 'sessions-status' }, 'Loading…');
  const others = h('button', { type: 'button', id: 'revoke-others', hidden: true },
    'Sign out all other sessions');
  const card = h('section', { class: 'card', 'aria-labelledby': 'sessions-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'sessions-title' }, 'Sessions'),
      h('button', { type: 'button', class: 'link', onclick: () => load() }, 'Refresh')),
    h('p', { class: 'muted' }, 'Where your account is signed in. Sign out any you do not recognise.'),
    status, list, others);
  let items = [];

  async function revoke(s, btn) {
    if (s.current) {
      ctx.signOut();
      return;
    }
    btn.disabled = true;
    try {
      await ctx.api.del(`/auth/sessions/${s.id}`);
      if (!state.alive) return;
      ctx.toast('Session signed out');
    } catch (e) {
      if (e.code !== 'session_not_found') ctx.toast(ctx.describe(e), 'error');
    }
    if (state.alive) load();
  }

  function row(s) {
    const btn = h('button', { type: 'button', class: 'danger revoke', dataset: { sessionId: s.id },
      'aria-label': s.current ? 'Sign out of this browser' : `Sign out the session of ${deviceOf(s.user_agent)}, ${s.ip}` },
    'Sign out');
    btn.addEventListener('click', () => revoke(s, btn));
    return h('li', { class: 'session', dataset: { sessionId: s.id, current: String(Boolean(s.current)) } },
      h('div', { class: 'session-main' },
        h('div', {}, h('strong', { title: s.user_agent || '' }, deviceOf(s.user_agent)),
          s.current ? h('span', { class: 'tag tag-ok' }, 'this browser') : null),
        h('div', { class: 'muted small' },
          `${s.ip || 'unknown IP'} · last used ${ctx.fmt.ago(s.last_used_at)} · signed in ${ctx.fmt.ago(s.created_at)}`)),
      btn);
  }

  async function load() {
    try {
      const r = await ctx.api.get('/auth/sessions');
      if (!state.alive) return;
      items = r.items || [];
      list.replaceChildren(...items.map(row));
      const n = items.length;
      status.textContent = `${n} active session${n === 1 ? '' : 's'}`;
      list.dataset.count = String(n);
      others.hidden = n < 2;
    } catch (e) {
      if (!state.alive) return;
      status.textContent = ctx.describe(e);
    }
  }

  others.addEventListener('click', async () => {
    others.disabled = true;
    let n = 0;
    for (const s of items.filter((x) => !x.current)) {
      try {
        await ctx.api.del(`/auth/sessions/${s.id}`);
        n += 1;
      } catch (e) {
        if (e.code !== 'session_not_found') ctx.toast(ctx.describe(e), 'error');
      }
    }
    others.disabled = false;
    if (!state.alive) return;
    ctx.toast(`${n} session${n === 1 ? '' : 's'} signed out`);
    load();
  });
  const onChanged = () => load();
  document.addEventListener('hs:sessions-changed', onChanged);
  state.cleanup.push(() => document.removeEventListener('hs:sessions-changed', onChanged));
  load();
  return card;
}
