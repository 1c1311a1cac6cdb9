// Small DOM helpers shared by the Files and Send views and the share page.
// Everything a person typed or the server named goes in as text
// (textContent, attributes), never as HTML.

import { h } from '../dom.js';

export { h };

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
