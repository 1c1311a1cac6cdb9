// The Files view (#/files): upload to "my files" with tus (progress, speed,
// time left, pause, resume, cancel; resumable after a dropped connection or
// a reload: pick the same file again), the list of my files (pages of
// /files/list) with image previews, download (fetch with the token, streamed
// into a Blob, then saved), delete, and share links (files/links.js).
//
// Uploads belong to the session, not to the view (files/uploads.js): they go
// on when another view is shown, and show again here.

import { h, loadCss, say, saveBlob } from '../files/dom.js';
import { dispositionName, readBody } from '../files/download.js';
import { linksPanel } from '../files/links.js';
import { Meter } from '../files/meter.js';
import { uploadsFor } from '../files/uploads.js';

const PAGE = 50;
const PREVIEW_MAX = 10 * 1024 * 1024;
const PREVIEW_TYPES = /^image\/(png|jpeg|gif|webp|avif|bmp)$/;

const STATE_TEXT = {
  preparing: 'Preparing',
  uploading: 'Uploading',
  paused: 'Paused',
  offline: 'Offline',
  error: 'Stopped',
  done: 'Uploaded',
  cancelled: 'Cancelled',
};

export function mount(el, ctx) {
  if (ctx.css) ctx.css('files');
  else loadCss('/css/files.css');
  const uploads = uploadsFor(ctx);
  const offs = []; // listeners to remove on unmount
  const urls = new Set(); // object URLs of previews
  const aborts = new Set(); // downloads in progress
  let unmounted = false;

  // -- layout -------------------------------------------------------------------

  const input = h('input', { type: 'file', id: 'files-input', multiple: true, class: 'visually-hidden' });
  const drop = h('label', { for: 'files-input', class: 'dropzone' },
    h('strong', {}, 'Choose files'), h('span', { class: 'muted' }, ' or drop them here'));
  const upList = h('div', { class: 'uploads', 'aria-live': 'polite' });
  const unfinished = h('div', { class: 'unfinished', hidden: true });
  const upCard = h('section', { class: 'card files-upload', 'aria-labelledby': 'files-up-h' },
    h('h2', { id: 'files-up-h' }, 'Upload'), input, drop, unfinished, upList);

  const listError = h('p', { class: 'error', role: 'alert', hidden: true });
  const list = h('ul', { class: 'file-list' });
  const empty = h('p', { class: 'muted', hidden: true }, 'No files yet. Upload one above.');
  const more = h('button', { type: 'button', hidden: true }, 'Show more');
  const listCard = h('section', { class: 'card files-mine', 'aria-labelledby': 'files-mine-h' },
    h('h2', { id: 'files-mine-h' }, 'My files'), listError, empty, list, more);

  const root = h('div', { class: 'files-view' }, upCard, listCard);
  el.append(root);

  // -- uploads ------------------------------------------------------------------

  const upRows = new Map(); // Upload -> {el, meter, ...}

  function uploadRow(u) {
    const meter = new Meter(ctx.fmt, `Upload of ${u.name}`);
    const status = h('p', { class: 'status', role: 'status' });
    const pause = h('button', { type: 'button', class: 'pause' }, 'Pause');
    const cancel = h('button', { type: 'button', class: 'cancel danger' }, 'Cancel');
    const dismiss = h('button', { type: 'button', class: 'dismiss', hidden: true }, 'Dismiss');
    const badge = h('span', { class: 'badge state' });
    const row = h('article', { class: 'upload', dataset: { name: u.name } },
      h('div', { class: 'head' }, h('strong', { class: 'name' }, u.name),
        h('span', { class: 'size muted' }, ctx.fmt.bytes(u.size)), badge),
      meter.el, status, h('div', { class: 'actions' }, pause, cancel, dismiss));
    const r = { row, meter, status, pause, cancel, dismiss, badge, lastState: null };
    pause.addEventListener('click', () => {
      if (u.state === 'paused' || u.state === 'error' || u.state === 'offline') u.resume();
      else u.pause();
    });
    cancel.addEventListener('click', () => u.cancel());
    dismiss.addEventListener('click', () => {
      uploads.remove(u);
      row.remove();
      upRows.delete(u);
    });
    upRows.set(u, r);
    render(u);
    return row;
  }

  function render(u) {
    const r = upRows.get(u);
    if (!r) return;
    r.row.dataset.state = u.state;
    if (u.resumedFrom !== null) r.row.dataset.resumedFrom = String(u.resumedFrom);
    r.badge.textContent = STATE_TEXT[u.state] || u.state;
    // A new start (resume, reconnection, the server's offset found): the
    // speed and average count from here.
    if (u.state !== r.lastState || (u.resumedFrom !== null && !r.offsetSeen)) {
      r.meter.reset();
      r.lastState = u.state;
      r.offsetSeen = u.resumedFrom !== null;
    }
    if (u.state === 'done') r.meter.done();
    else r.meter.update(u.bytes, u.size);
    let text = u.message;
    if (!text && u.state === 'uploading') text = 'Uploading...';
    if (u.state === 'uploading' && u.resumedFrom && !u.message.startsWith('Resum')) text = `Resumed at ${ctx.fmt.bytes(u.resumedFrom)}`;
    say(r.status, text);
    r.status.classList.toggle('error', u.state === 'error');
    const paused = u.state === 'paused' || u.state === 'error' || u.state === 'offline';
    r.pause.textContent = paused ? (u.state === 'error' ? 'Retry' : 'Resume') : 'Pause';
    r.pause.hidden = u.ended;
    r.pause.disabled = u.state === 'preparing';
    r.cancel.hidden = u.ended;
    r.dismiss.hidden = !u.ended;
  }

  for (const u of uploads.list) upList.append(uploadRow(u));
  offs.push(uploads.on('added', (u) => upList.prepend(uploadRow(u))));
  offs.push(uploads.on('change', (u) => render(u)));
  offs.push(uploads.on('done', (info) => {
    addFile(info, true);
    refreshUnfinished();
  }));

  function pick(fileList) {
    for (const f of fileList) uploads.add(f);
    refreshUnfinished();
  }
  input.addEventListener('change', () => {
    pick([...input.files]);
    input.value = '';
  });
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    if (ev.dataTransfer && ev.dataTransfer.files.length) pick([...ev.dataTransfer.files]);
  });

  // Uploads of an earlier page (a reload, a crash) that the server still
  // holds: picking the same file again resumes them.
  async function refreshUnfinished() {
    let entries;
    try {
      entries = await uploads.unfinished();
    } catch (e) {
      return;
    }
    if (unmounted) return;
    const items = [];
    for (const e of entries) {
      const name = (e.metadata && e.metadata.filename) || 'a file';
      const pct = h('span', { class: 'muted' });
      const forget = h('button', { type: 'button', class: 'link' }, 'Forget it');
      const again = h('button', { type: 'button', class: 'link' }, 'Choose the file again');
      const li = h('li', { dataset: { name } }, h('strong', {}, name), ' ',
        h('span', { class: 'muted' }, `(${ctx.fmt.bytes(e.size || 0)})`), ' ', pct, ' ', again, ' ', forget);
      again.addEventListener('click', () => input.click());
      forget.addEventListener('click', async () => {
        forget.disabled = true;
        await uploads.forget(e);
        refreshUnfinished();
      });
      uploads.offsetOf(e).then((off) => {
        if (off === null) pct.textContent = '';
        else pct.textContent = `${Math.floor((off * 100) / (e.size || 1))}% on the server`;
      });
      items.push(li);
    }
    unfinished.replaceChildren();
    if (items.length) {
      unfinished.append(h('p', {}, 'Unfinished uploads. Choose the same file again to go on where it stopped:'),
        h('ul', {}, items));
    }
    unfinished.hidden = !items.length;
  }
  refreshUnfinished();

  // -- my files -----------------------------------------------------------------

  let cursor = null;
  const shown = new Map(); // file id -> li

  function fileRow(f) {
    const thumb = h('div', { class: 'thumb', 'aria-hidden': 'true' },
      (f.filename.split('.').pop() || '').slice(0, 4).toUpperCase());
    const meter = new Meter(ctx.fmt, `Download of ${f.filename}`);
    meter.el.hidden = true;
    const status = h('p', { class: 'status', role: 'status', hidden: true });
    const download = h('button', { type: 'button', class: 'download' }, 'Download');
    const share = h('button', { type: 'button', class: 'share', 'aria-expanded': 'false' }, 'Share');
    const del = h('button', { type: 'button', class: 'delete danger' }, 'Delete');
    const info = h('div', { class: 'info' },
      h('strong', { class: 'name' }, f.filename),
      h('span', { class: 'meta muted' }, `${ctx.fmt.bytes(f.size)} · ${ctx.fmt.time(f.created_at)}`));
    const actions = h('div', { class: 'actions' }, download, share, del);
    const li = h('li', { class: 'file', dataset: { fileId: f.id, name: f.filename } },
      h('div', { class: 'file-main' }, thumb, info, actions), meter.el, status);
    let panel = null;
    let abort = null;

    download.addEventListener('click', async () => {
      if (abort) {
        abort.abort();
        return;
      }
      abort = new AbortController();
      aborts.add(abort);
      download.textContent = 'Stop';
      meter.el.hidden = false;
      meter.reset();
      say(status, 'Downloading...');
      try {
        const res = await ctx.api.request('GET', `/files/${f.id}`, { raw: true, signal: abort.signal });
        const blob = await readBody(res, (b, s) => meter.update(b, s || f.size), abort.signal);
        meter.done();
        say(status, '');
        li.dataset.downloaded = String(blob.size);
        saveBlob(blob, dispositionName(res.headers.get('Content-Disposition'), f.filename));
      } catch (e) {
        meter.stop();
        say(status, e.name === 'AbortError' ? 'Download stopped' : ctx.describe(e));
        meter.el.hidden = true;
      } finally {
        aborts.delete(abort);
        abort = null;
        download.textContent = 'Download';
      }
    });

    share.addEventListener('click', () => {
      if (!panel) {
        panel = linksPanel(ctx, f);
        li.append(panel);
      } else panel.hidden = !panel.hidden;
      share.setAttribute('aria-expanded', String(!panel.hidden));
      if (!panel.hidden) panel.querySelector('select').focus();
    });

    let confirming = false;
    del.addEventListener('click', async () => {
      if (!confirming) {
        confirming = true;
        del.textContent = 'Really delete?';
        setTimeout(() => {
          confirming = false;
          if (del.isConnected && !del.disabled) del.textContent = 'Delete';
        }, 4000);
        return;
      }
      del.disabled = true;
      try {
        await ctx.api.del(`/files/${f.id}`);
        li.remove();
        shown.delete(f.id);
        empty.hidden = shown.size > 0;
        ctx.toast(`Deleted ${f.filename}`);
      } catch (e) {
        say(status, ctx.describe(e));
        del.disabled = false;
        del.textContent = 'Delete';
        confirming = false;
      }
    });

    const type = f.sniffed_type && f.sniffed_type.startsWith('image/') ? f.sniffed_type : f.content_type;
    if (PREVIEW_TYPES.test(type || '') && f.size <= PREVIEW_MAX) previews.observe(thumb, f, type);
    return li;
  }

  function addFile(f, first = false) {
    if (!f || shown.has(f.id)) return;
    const li = fileRow(f);
    shown.set(f.id, li);
    if (first) list.prepend(li);
    else list.append(li);
    empty.hidden = true;
  }

  async function loadPage() {
    more.disabled = true;
    say(listError, '');
    try {
      const q = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page = await ctx.api.get(`/files/list?limit=${PAGE}${q}`);
      if (unmounted) return;
      for (const f of page.items) addFile(f);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = shown.size > 0;
    } catch (e) {
      say(listError, `Your files could not be listed: ${ctx.describe(e)}`);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', loadPage);

  // Image previews: fetched (with the token) when the row scrolls into
  // view, at most three at a time.
  const previews = (() => {
    const waiting = new Map(); // thumb -> [file, type]
    let running = 0;
    const queue = [];
    const io = new IntersectionObserver((entries) => {
      for (const en of entries) {
        if (!en.isIntersecting) continue;
        io.unobserve(en.target);
        queue.push([en.target, ...waiting.get(en.target)]);
        waiting.delete(en.target);
      }
      next();
    }, { rootMargin: '200px' });
    async function next() {
      while (running < 3 && queue.length && !unmounted) {
        const [thumb, f, type] = queue.shift();
        running += 1;
        (async () => {
          try {
            const res = await ctx.api.request('GET', `/files/${f.id}`, { raw: true });
            const blob = new Blob([await res.arrayBuffer()], { type });
            if (unmounted) return;
            const url = URL.createObjectURL(blob);
            urls.add(url);
            const img = h('img', { src: url, alt: '', decoding: 'async' });
            img.addEventListener('error', () => img.remove());
            thumb.replaceChildren(img);
            thumb.classList.add('has-img');
          } catch (e) {
            // no preview: the extension stays
          } finally {
            running -= 1;
            next();
          }
        })();
      }
    }
    return {
      observe(thumb, f, type) {
        waiting.set(thumb, [f, type]);
        io.observe(thumb);
      },
      stop() {
        io.disconnect();
      },
    };
  })();

  loadPage();

  return () => {
    unmounted = true;
    for (const off of offs) off();
    for (const a of aborts) a.abort();
    for (const r of upRows.values()) r.meter.stop();
    previews.stop();
    for (const u of urls) URL.revokeObjectURL(u);
    root.remove();
  };
}
