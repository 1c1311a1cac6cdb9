// Attachments: the bytes of a file fetched with the token (an <img> cannot
// send it) and shown through a blob: URL, and a plain chunk upload for the
// files a message carries (the big resumable uploader is the files view's).

import { h, icon } from './dom.js';

const PREVIEW_MAX = 15 * 1024 * 1024; // larger images are offered as a download
export const ATTACH_MAX = 200 * 1024 * 1024; // larger files: the Files page
const urls = new Map(); // file id -> Promise<blob URL>, for the page's life
const URLS_MAX = 200;

export function isImage(file) {
  const t = file.sniffed_type || file.content_type || '';
  return /^image\/(png|jpeg|gif|webp|bmp|avif)$/.test(t);
}

// A blob: URL for a file (fetched once, then shared). The oldest URLs are
// released past URLS_MAX.
export function blobUrl(api, file) {
  if (!urls.has(file.id)) {
    const p = api.request('GET', `/files/${file.id}`, { raw: true })
      .then((res) => res.blob())
      .then((b) => URL.createObjectURL(b));
    p.catch(() => urls.delete(file.id));
    urls.set(file.id, p);
    if (urls.size > URLS_MAX) {
      const [oldest] = urls.keys();
      urls.get(oldest).then((u) => URL.revokeObjectURL(u), () => {});
      urls.delete(oldest);
    }
  }
  return urls.get(file.id);
}

// The element of one attachment: an image preview, or a button that
// downloads the file under its name.
export function attachmentEl(ctx, file) {
  const label = `${file.filename} (${ctx.fmt.bytes(file.size)})`;
  if (isImage(file) && file.size <= PREVIEW_MAX) {
    const img = h('img', { class: 'att-img', alt: file.filename, loading: 'lazy' });
    const box = h('button', { type: 'button', class: 'att att-image', title: `Open ${label}`,
      'aria-label': `Open image ${label}` }, img);
    blobUrl(ctx.api, file).then((u) => { img.src = u; }, () => {
      box.replaceWith(h('span', { class: 'att att-error', text: `${file.filename}: could not be loaded` }));
    });
    box.addEventListener('click', () => blobUrl(ctx.api, file).then((u) => window.open(u, '_blank', 'noopener')));
    return box;
  }
  const btn = h('button', { type: 'button', class: 'att att-file', 'aria-label': `Download ${label}` },
    icon('file'), label);
  btn.addEventListener('click', async () => {
    try {
      const u = await blobUrl(ctx.api, file);
      const a = h('a', { href: u, download: file.filename, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) {
      ctx.toast(`${file.filename}: ${ctx.describe(e)}`, 'error');
    }
  });
  return btn;
}

// Uploads one file with the chunk API (init, each chunk as one multipart
// request, complete) and answers the file. onProgress(sent, total).
export async function uploadFile(api, file, chatId, onProgress = () => {}) {
  const init = await api.post('/files/upload/init', {
    filename: file.name || 'file', file_size: file.size,
    content_type: file.type || 'application/octet-stream', chat_id: chatId,
  });
  let sent = 0;
  for (let n = 0; n < init.chunk_count; n += 1) {
    const part = file.slice(n * init.chunk_size, Math.min(file.size, (n + 1) * init.chunk_size));
    const form = new FormData();
    form.append('upload_id', init.upload_id);
    form.append('chunk_number', String(n));
    form.append('chunk', part, 'chunk');
    await api.request('POST', '/files/upload/chunk', { body: form });
    sent += part.size;
    onProgress(sent, file.size);
  }
  return api.post('/files/upload/complete', { upload_id: init.upload_id });
}
