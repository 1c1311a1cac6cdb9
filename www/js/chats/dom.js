// Small DOM helpers for the chats view. Everything a user wrote goes into
// the page as text (textContent, text nodes, attributes), never as HTML.

import { h } from '../dom.js';

export { h };

// The nodes of a search snippet: the server marks each hit between U+0002
// and U+0003 (message content never holds them); hits become <mark>, the
// rest text nodes.
export function snippetNodes(snippet) {
  const out = [];
  const parts = String(snippet || '').split('\u0002');
  if (parts[0]) out.push(document.createTextNode(parts[0]));
  for (const part of parts.slice(1)) {
    const end = part.indexOf('\u0003');
    const hit = end < 0 ? part : part.slice(0, end);
    const rest = end < 0 ? '' : part.slice(end + 1).replaceAll('\u0003', '');
    if (hit) out.push(h('mark', { text: hit }));
    if (rest) out.push(document.createTextNode(rest));
  }
  return out;
}

// The name to show for a user-like object ({display_name, username}).
export function nameOf(u) {
  if (!u) return 'Someone';
  return u.display_name || u.username || 'Someone';
}

// One or two letters for an avatar.
export function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((w) => [...w][0]);
  return (letters.join('') || '?').toUpperCase();
}

// A random client_id for idempotent sends (crypto.randomUUID needs a secure
// context; getRandomValues does not).
export function clientId() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return `w-${[...b].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
}

// Loads css/chats.css once: the shell loads only app.css.
export function loadCss(href) {
  if (document.querySelector(`link[data-view-css="${href}"]`)) return;
  const link = h('link', { rel: 'stylesheet', href, 'data-view-css': href });
  document.head.append(link);
}

// A small line icon (SVG, drawn with paths of our own: no emoji font needed).
const ICONS = {
  info: ['M12 2a10 10 0 1 0 0 20a10 10 0 1 0 0-20z', 'M12 11v6', 'M12 7.5v.5'],
  attach: ['M20 11.5l-8.2 8.2a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8'],
  file: ['M6 2h8l5 5v15H6z', 'M14 2v5h5'],
  back: ['M15 5l-7 7l7 7'],
};
export function icon(name) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', `icon icon-${name}`);
  for (const d of ICONS[name] || []) {
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

// Calls fn at most once per `ms` after the last call (a trailing debounce).
export function debounce(fn, ms) {
  let t = null;
  const d = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  d.cancel = () => clearTimeout(t);
  return d;
}
