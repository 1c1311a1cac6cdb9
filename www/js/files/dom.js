// Small DOM helpers shared by the Files and Send views and the share page.
// Everything a person typed or the server named goes in as text
// (textContent, attributes), never as HTML.

// h('button', {type: 'button', class: 'primary', onclick: fn}, 'Send')
// makes an element: keys starting with "on" add listeners, "class" sets
// className, "dataset" an object of data-* values, "hidden"/"disabled" and
// other booleans set properties; children are nodes or strings (text), and
// null/false children are skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else if (k in el && typeof el[k] !== 'function' && !k.includes('-')) el[k] = v;
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// Shows text in el (and unhides it), or hides el when text is empty.
export function say(el, text) {
  el.textContent = text || '';
  el.hidden = !text;
}

// Adds <link rel="stylesheet" href> to the head once.
export function loadCss(href) {
  if (document.querySelector(`link[rel="stylesheet"][href="${href}"]`)) return;
  document.head.append(h('link', { rel: 'stylesheet', href }));
}

// Saves a Blob as a file through a temporary object URL.
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename || 'download', hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// Copies text to the clipboard; falls back to selecting an input's text
// and execCommand where the Clipboard API is missing (plain http hosts).
export async function copyText(text, input = null) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (e) {
    if (!input) return false;
    input.select();
    try {
      return document.execCommand('copy');
    } catch (e2) {
      return false;
    }
  }
}
