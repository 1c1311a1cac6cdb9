// Building DOM without innerHTML: h('a', {href, class: 'x', onclick: fn},
// 'text', child, [more children]) -> Element. Strings become text nodes, so
// user content is never parsed as HTML. Attributes: 'class', 'text' (the
// textContent), 'dataset' (an object), 'on<event>' (a listener), the
// properties value/checked/disabled/hidden/type/name, booleans (true sets,
// false omits), anything else with setAttribute. Every view builds with it.

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'type', 'name']);

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// Two letters for a person without an avatar picture.
export function initials(user) {
  const name = (user && (user.display_name || user.username)) || '?';
  const parts = name.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  if (!parts.length) return '?';
  const s = parts.length > 1 ? parts[0][0] + parts[1][0] : parts[0].slice(0, 2);
  return s.toUpperCase();
}

// A round avatar: the initials on a colour derived from the user id.
export function avatar(user, size = 40) {
  const id = (user && user.id) || '';
  let hue = 0;
  for (const ch of id) hue = (hue * 31 + ch.charCodeAt(0)) % 360;
  return h('span', {
    class: 'avatar', 'aria-hidden': 'true',
    style: `--size:${size}px;--hue:${hue}`,
  }, initials(user));
}

// The name to show for a user: the display name, else the username.
export function nameOf(user) {
  return (user && (user.display_name || user.username)) || 'Someone';
}

// A 24x24 line icon from static path data (the shell's navigation).
export function icon(d, cls = 'icon') {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const one of d.split('|')) {
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', one);
    svg.append(p);
  }
  return svg;
}
