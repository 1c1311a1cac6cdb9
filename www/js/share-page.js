// The public page of a share link (www/share.html), for people without an
// account. The link the Files view gives out is
//
//   /share.html#t=<token>&n=<file name>&s=<size>[&p=1]     (or /share.html#<token>)
//
// The fragment never reaches the server: the name, size and password flag in
// it are hints shown before the download; the download itself is
// GET /s/<token> (docs: www/openapi.json), with the password in
// X-Share-Password when the link has one. Each GET counts as one download of
// the link; for a bare #<token> the page first asks HEAD /s/<token>, which
// counts nothing: the real name and size (Content-Disposition,
// Content-Length), or that a password is needed, or that the link no longer
// works. The body is then
// streamed into a Blob with progress and saved.

import { say, saveBlob } from './files/dom.js';
import { dispositionName, readBody } from './files/download.js';
import { Meter } from './files/meter.js';
import { bytes, duration } from './format.js';

const $ = (id) => document.getElementById(id);

const fmt = { bytes, duration };

// {token, name, size, password} from the fragment; token null when absent.
function parseLink(hash) {
  const frag = hash.replace(/^#/, '');
  if (/^[A-Za-z0-9_-]{8,64}$/.test(frag)) return { token: frag, name: '', size: null, password: false };
  const q = new URLSearchParams(frag);
  const token = q.get('t');
  const size = Number(q.get('s'));
  return {
    token: token && /^[A-Za-z0-9_-]{8,64}$/.test(token) ? token : null,
    name: (q.get('n') || '').slice(0, 255),
    size: q.get('s') !== null && Number.isSafeInteger(size) && size >= 0 ? size : null,
    password: q.get('p') === '1',
  };
}

// The API's error body as one line for people.
async function errorText(res) {
  let e = null;
  try {
    e = (await res.json()).error;
  } catch (err) {
    e = null;
  }
  const wait = res.headers.get('Retry-After');
  switch (e && e.code) {
    case 'link_not_found':
      return 'This link does not work: it was revoked, or its file was deleted.';
    case 'link_expired':
      return 'This link has expired.';
    case 'link_exhausted':
      return 'This link has been used as many times as it allows.';
    case 'rate_limited':
      return `Too many wrong passwords. Try again in ${fmt.duration(Number(wait) || 60)}.`;
    default:
      if (e && e.message) return `${e.message} (${e.code}).`;
      return `The server answered ${res.status} ${res.statusText}.`;
  }
}

function main() {
  const link = parseLink(location.hash);
  const form = $('form');
  const button = $('download');
  const password = $('password');
  const pwLabel = $('pw-label');
  const message = $('message');
  const progress = $('progress');
  const meter = new Meter(fmt, 'Download');
  progress.append(meter.el);
  let url = null;

  if (!link.token) {
    $('intro').textContent = 'This link is incomplete.';
    say(message, 'Ask the person who sent it for the whole link (it ends with a long code after "#").');
    form.hidden = true;
    return;
  }
  say($('name'), link.name);
  say($('size'), link.size !== null ? fmt.bytes(link.size) : '');
  if (link.password) {
    pwLabel.hidden = false;
    password.required = true;
  }

  function showFile(name, size) {
    say($('name'), name);
    if (size !== null) say($('size'), fmt.bytes(size));
    document.title = `${name} - Hypersend`;
  }

  // What the link holds, without spending a download (HEAD counts nothing).
  async function peek() {
    let res;
    try {
      res = await fetch(`/s/${encodeURIComponent(link.token)}`, { method: 'HEAD', cache: 'no-store' });
    } catch (e) {
      return; // the download will say so
    }
    if (res.ok) {
      const len = res.headers.get('Content-Length');
      showFile(dispositionName(res.headers.get('Content-Disposition'), link.name || 'download'),
        len === null ? link.size : Number(len));
    } else if (res.status === 403) {
      pwLabel.hidden = false;
      password.required = true;
    } else if (res.status === 404 || res.status === 410) {
      say(message, res.status === 404 ? 'This link does not work: it was revoked or never existed.'
        : 'This link has expired or has no downloads left.');
      message.className = 'error';
      button.disabled = true;
    }
  }
  // a full link carries the name and size already; a bare #<token> asks
  if (!link.name || link.size === null) peek();

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    say(message, '');
    message.className = '';
    if (!pwLabel.hidden && !password.value) {
      say(message, 'Enter the password of this link.');
      message.className = 'error';
      password.focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Connecting...';
    const headers = {};
    if (password.value) headers['X-Share-Password'] = password.value;
    let res;
    try {
      res = await fetch(`/s/${encodeURIComponent(link.token)}`, { headers, cache: 'no-store' });
    } catch (e) {
      say(message, 'The server could not be reached. Check your connection and try again.');
      message.className = 'error';
      button.disabled = false;
      button.textContent = 'Download';
      return;
    }
    if (!res.ok) {
      const text = await errorText(res);
      const body = res.status === 403;
      if (body) {
        // password_required: missing or wrong
        pwLabel.hidden = false;
        password.required = true;
        password.value = '';
        password.focus();
      }
      say(message, text);
      message.className = 'error';
      button.disabled = res.status === 404 || res.status === 410;
      button.textContent = 'Download';
      return;
    }
    const len = res.headers.get('Content-Length');
    const size = len === null ? link.size : Number(len);
    const name = dispositionName(res.headers.get('Content-Disposition'), link.name || 'download');
    showFile(name, size);
    pwLabel.hidden = true;
    button.textContent = 'Downloading...';
    progress.hidden = false;
    try {
      const blob = await readBody(res, (b, s) => meter.update(b, s || size || b));
      meter.done();
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(blob);
      const a = $('save');
      a.href = url;
      a.download = name;
      a.textContent = `Save ${name}`;
      $('saved').hidden = false;
      $('share').dataset.done = String(blob.size);
      say(message, 'Downloaded. If it was not saved, use the button below.');
      form.hidden = true;
      saveBlob(blob, name);
      a.focus();
    } catch (e) {
      meter.stop();
      say(message, `The download broke off: ${e.message}. Try again (it counts as another download).`);
      message.className = 'error';
      button.disabled = false;
      button.textContent = 'Download';
    }
  });
  window.addEventListener('hashchange', () => location.reload());
}

main();
