// Sign in or create an account. ctx: {api, toast, describe}; params.done()
// is called once signed in, params.notice (optional) is shown above the form
// (e.g. "Your session has ended").
//
// The rules for usernames and passwords are the API's: the form checks only
// that the fields are filled in and shows the API's own message (and code)
// next to the field it concerns.

import { h } from '../dom.js';

// error.code -> the field it is about.
const FIELD_OF = {
  invalid_username: 'login', username_taken: 'login',
  invalid_email: 'email', email_taken: 'email',
  weak_password: 'password', invalid_credentials: 'password',
};
const RULES = 'At least 8 characters; not a common password, not one character repeated, '
  + 'and not containing your username.';

export function mount(el, ctx, params = {}) {
  let registering = false;
  const field = (name, label, attrs, extra = null) => {
    const input = h('input', { name, id: `auth-${name}`, required: true, ...attrs,
      'aria-describedby': `auth-${name}-msg` });
    const msg = h('p', { class: 'field-msg', id: `auth-${name}-msg` }, extra || '');
    const lab = h('label', { for: `auth-${name}`, id: `auth-${name}-label` }, label);
    return { wrap: h('div', { class: 'field' }, lab, input, msg), input, msg, lab, extra };
  };
  const login = field('login', 'Username or email', { autocomplete: 'username',
    autocapitalize: 'none', spellcheck: 'false' });
  const email = field('email', 'Email', { type: 'email', autocomplete: 'email' });
  const password = field('password', 'Password', { type: 'password',
    autocomplete: 'current-password' });
  const reveal = h('button', { type: 'button', class: 'link reveal', 'aria-pressed': 'false',
    'aria-controls': 'auth-password' }, 'Show');
  password.wrap.insertBefore(h('div', { class: 'pw-row' }, password.input, reveal), password.msg);
  email.wrap.hidden = true;

  const title = h('h2', { id: 'auth-title' }, 'Sign in');
  const error = h('p', { class: 'form-error', role: 'alert', id: 'auth-error', hidden: true });
  const notice = h('p', { class: 'notice', role: 'status', hidden: !params.notice },
    params.notice || '');
  const submit = h('button', { type: 'submit', class: 'primary', id: 'auth-submit' }, 'Sign in');
  const other = h('button', { type: 'button', class: 'link', id: 'auth-switch' },
    'Create an account');
  const otherText = h('span', { class: 'muted' }, 'New here? ');
  const form = h('form', { class: 'card', id: 'auth-form', novalidate: true,
    'aria-labelledby': 'auth-title' },
  title, notice, login.wrap, email.wrap, password.wrap, error, submit,
  h('p', { class: 'switch' }, otherText, other));
  const box = h('section', { class: 'auth' }, h('h1', {}, 'Hypersend'), form);
  el.append(box);

  function clearErrors() {
    error.hidden = true;
    error.textContent = '';
    delete error.dataset.code;
    for (const f of [login, email, password]) {
      f.input.removeAttribute('aria-invalid');
      f.msg.classList.remove('bad');
      f.msg.textContent = f.extra || '';
    }
  }

  function showError(f, text, code = '') {
    if (f) {
      f.input.setAttribute('aria-invalid', 'true');
      f.msg.classList.add('bad');
      f.msg.textContent = text;
      f.input.focus();
    }
    // The form-wide line says it too (role=alert announces it); seen only
    // when no field shows it.
    error.textContent = text;
    error.classList.toggle('sr-only', Boolean(f));
    if (code) error.dataset.code = code;
    error.hidden = false;
  }

  reveal.addEventListener('click', () => {
    const shown = password.input.type === 'text';
    password.input.type = shown ? 'password' : 'text';
    reveal.textContent = shown ? 'Show' : 'Hide';
    reveal.setAttribute('aria-pressed', String(!shown));
  });

  other.addEventListener('click', () => {
    registering = !registering;
    clearErrors();
    title.textContent = registering ? 'Create an account' : 'Sign in';
    submit.textContent = registering ? 'Create account' : 'Sign in';
    other.textContent = registering ? 'Sign in' : 'Create an account';
    otherText.textContent = registering ? 'Have an account? ' : 'New here? ';
    email.wrap.hidden = !registering;
    login.lab.textContent = registering ? 'Username' : 'Username or email';
    password.extra = registering ? RULES : null;
    password.msg.textContent = password.extra || '';
    password.input.autocomplete = registering ? 'new-password' : 'current-password';
    box.dataset.mode = registering ? 'register' : 'signin';
    login.input.focus();
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors();
    const name = login.input.value.trim();
    const mail = email.input.value.trim();
    const pass = password.input.value;
    if (!name) return showError(login, registering ? 'Choose a username.' : 'Enter your username or email.');
    if (registering && !mail) return showError(email, 'Enter your email address.');
    if (!pass) return showError(password, registering ? 'Choose a password.' : 'Enter your password.');
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    try {
      if (registering) await ctx.api.register(name, mail, pass);
      else await ctx.api.login(name, pass);
      await params.done();
    } catch (err) {
      const f = { login, email, password }[FIELD_OF[err.code]];
      showError(f, ctx.describe(err), err.code || '');
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
    return undefined;
  });
  box.dataset.mode = 'signin';
  login.input.focus();
  return () => box.remove();
}
