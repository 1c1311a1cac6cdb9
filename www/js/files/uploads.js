// Resumable uploads to "my files" with tus (tus-js-client, vendored in
// www/vendor/tus-js-client) against /api/v1/files/tus: 8 MiB PATCHes one
// after the other, pause and resume, cancel (the upload is terminated on the
// server), and resumption after a dropped connection or a page reload.
//
// Resuming: tus-js-client keeps each upload's URL in localStorage under a
// fingerprint of the file (here: the user's id, the file's name, type, size
// and modification time). Picking the same file again after a reload finds
// that URL (findPreviousUploads), asks the server for its offset (HEAD) and
// sends only the rest. When the browser goes offline the upload stops and
// starts again by itself once it is back online.
//
// One Uploads per signed-in session (uploadsFor(ctx)) outlives the Files
// view, so uploads go on while another view is shown.

import { ApiError } from '../api.js';
import { Emitter } from '../ws.js';
import { perSession } from './per-session.js';

export const CHUNK_SIZE = 8 * 1024 * 1024;
const TUS_SRC = '/vendor/tus-js-client/tus.min.js';
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];

let tusLoading = null;

// The tus-js-client UMD build is a classic script that sets window.tus:
// load it once, on first use.
export function loadTus() {
  if (window.tus) return Promise.resolve(window.tus);
  if (!tusLoading) {
    tusLoading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = TUS_SRC;
      s.onload = () => (window.tus ? resolve(window.tus) : reject(new Error('tus-js-client did not load')));
      s.onerror = () => {
        tusLoading = null;
        s.remove();
        reject(new Error('The upload library could not be loaded; check your connection'));
      };
      document.head.append(s);
    });
  }
  return tusLoading;
}

function fingerprintPrefix(userId) {
  return `hs-${userId}-`;
}

// What a person should read for an error of tus-js-client: the API's own
// error when the server answered one.
export function describeTusError(err) {
  const res = err && err.originalResponse;
  if (res) {
    const status = res.getStatus();
    let body = null;
    try {
      body = JSON.parse(res.getBody() || 'null');
    } catch (e) {
      body = null;
    }
    const e = body && body.error;
    if (e && e.code) return new ApiError(status, e.code, e.message || e.code, e.hint || '').describe();
    if (status) return `The server answered ${status}`;
  }
  if (err && err.originalRequest) return 'The server could not be reached';
  return (err && err.message) || String(err);
}

function isOffline() {
  return typeof navigator !== 'undefined' && navigator.onLine === false;
}

// One upload. Emits 'change' whenever its state or bytes move and 'done'
// (the File of the API) at the end.
//
// state: 'preparing' | 'uploading' | 'paused' | 'offline' | 'error' |
// 'done' | 'cancelled'.
export class Upload extends Emitter {
  constructor(owner, file) {
    super();
    this.owner = owner;
    this.file = file;
    this.name = file.name || 'upload';
    this.size = file.size;
    this.bytes = 0;
    this.state = 'preparing';
    this.message = '';
    this.resumedFrom = null; // the server's offset when an earlier upload was found
    this.fileInfo = null;
    this.tus = null;
    this.refreshing = null;
  }

  set(state, message = '') {
    this.state = state;
    this.message = message;
    this.emit('change', this);
  }

  get active() {
    return this.state === 'preparing' || this.state === 'uploading';
  }

  get ended() {
    return this.state === 'done' || this.state === 'cancelled';
  }

  async start() {
    const { api, me } = this.owner.ctx;
    let tus;
    try {
      tus = await loadTus();
    } catch (e) {
      this.set('error', e.message);
      return;
    }
    const prefix = fingerprintPrefix(me.id);
    this.tus = new tus.Upload(this.file, {
      endpoint: `${location.origin}/api/v1/files/tus`,
      chunkSize: CHUNK_SIZE,
      parallelUploads: 1,
      retryDelays: RETRY_DELAYS,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      fingerprint: (f) => Promise.resolve(`${prefix}${[f.name, f.type, f.size, f.lastModified].join('-')}`),
      metadata: { filename: this.name, filetype: this.file.type || 'application/octet-stream' },
      // The token of the moment (it may have been refreshed since the start).
      onBeforeRequest: async (req) => {
        if (this.refreshing) await this.refreshing;
        if (api.token) req.setHeader('Authorization', `Bearer ${api.token}`);
      },
      onAfterResponse: (req, res) => {
        if (req.getMethod() === 'HEAD' && res.getStatus() === 200 && this.resumedFrom === null) {
          const off = Number(res.getHeader('Upload-Offset'));
          if (Number.isFinite(off)) {
            this.resumedFrom = off;
            this.bytes = off;
            this.emit('change', this);
          }
        }
      },
      onShouldRetry: (err, attempt) => {
        const status = err.originalResponse ? err.originalResponse.getStatus() : 0;
        if (status === 401 && attempt < 2 && api.canRefresh) {
          // An expired access token: refresh it once, then the same request again.
          this.refreshing = api.refresh().catch(() => {}).finally(() => {
            this.refreshing = null;
          });
          return true;
        }
        if (isOffline()) return false;
        return status === 0 || status >= 500 || status === 409 || status === 423 || status === 429;
      },
      onProgress: (sent, total) => {
        this.bytes = sent;
        this.size = total;
        if (this.state !== 'uploading') this.state = 'uploading';
        this.emit('change', this);
      },
      onError: (err) => {
        if (this.state === 'cancelled' || this.state === 'paused') return;
        if (isOffline() || (err.originalRequest && !err.originalResponse && this.owner.offline)) {
          this.set('offline', 'Connection lost; the upload goes on when you are back online');
          return;
        }
        this.set('error', describeTusError(err));
      },
      onSuccess: () => this.finish(),
    });
    try {
      const previous = await this.tus.findPreviousUploads();
      if (previous.length) {
        previous.sort((a, b) => String(b.creationTime).localeCompare(String(a.creationTime)));
        this.tus.resumeFromPreviousUpload(previous[0]);
        this.message = 'Resuming an earlier upload of this file...';
      }
    } catch (e) {
      // no storage: a fresh upload
    }
    if (this.state === 'cancelled') return;
    if (isOffline()) {
      this.set('offline', 'You are offline; the upload starts when you are back online');
      return;
    }
    this.set('uploading', this.message);
    this.tus.start();
  }

  async finish() {
    const id = String(this.tus.url || '').split('/').pop();
    try {
      this.fileInfo = await this.owner.ctx.api.get(`/files/${id}/info`);
    } catch (e) {
      this.fileInfo = { id, filename: this.name, size: this.size, content_type: this.file.type,
        created_at: new Date().toISOString() };
    }
    this.bytes = this.size;
    this.set('done', this.resumedFrom ? `Uploaded (resumed at ${this.owner.ctx.fmt.bytes(this.resumedFrom)})` : 'Uploaded');
    this.emit('done', this.fileInfo);
  }

  pause() {
    if (!this.tus || this.ended) return;
    this.tus.abort(false);
    this.set('paused', 'Paused');
  }

  resume() {
    if (!this.tus || this.ended) return;
    if (isOffline()) {
      this.set('offline', 'You are offline; the upload goes on when you are back online');
      return;
    }
    this.set('uploading', 'Resuming...');
    this.tus.start();
  }

  // Stops for good: the server forgets the bytes and this browser the URL.
  async cancel() {
    if (this.ended) return;
    const t = this.tus;
    this.set('cancelled', 'Cancelled');
    if (!t) return;
    try {
      await t.abort(true);
    } catch (e) {
      // The server may be unreachable: the upload then expires there.
    }
  }
}

// The uploads of one session, and the offline/online handling.
export class Uploads extends Emitter {
  constructor(ctx) {
    super();
    this.ctx = ctx;
    this.list = [];
    this.offline = isOffline();
    this.onOffline = () => {
      this.offline = true;
      // Stop now rather than wait for a request to time out.
      for (const u of this.list) {
        if (u.state === 'uploading' && u.tus) {
          u.tus.abort(false);
          u.set('offline', 'Connection lost; the upload goes on when you are back online');
        }
      }
    };
    this.onOnline = () => {
      this.offline = false;
      for (const u of this.list) if (u.state === 'offline') u.resume();
    };
    window.addEventListener('offline', this.onOffline);
    window.addEventListener('online', this.onOnline);
  }

  add(file) {
    const u = new Upload(this, file);
    this.list.unshift(u);
    u.on('change', () => this.emit('change', u));
    u.on('done', (info) => this.emit('done', info, u));
    this.emit('added', u);
    u.start();
    return u;
  }

  remove(u) {
    this.list = this.list.filter((x) => x !== u);
  }

  // Uploads begun in an earlier page of this user and not finished, as
  // tus-js-client stored them: [{urlStorageKey, uploadUrl, metadata,
  // size, creationTime}], minus those running here.
  async unfinished() {
    const tus = await loadTus();
    const prefix = `tus::${fingerprintPrefix(this.ctx.me.id)}`;
    const all = await tus.defaultOptions.urlStorage.findAllUploads();
    const running = new Set(this.list.filter((u) => u.tus && !u.ended).map((u) => u.tus.url));
    return all.filter((e) => e.urlStorageKey.startsWith(prefix) && !running.has(e.uploadUrl));
  }

  // How far the server has an unfinished upload (its tus offset), or null
  // when it is gone (expired, finished elsewhere).
  async offsetOf(entry) {
    const res = await this.ctx.api.request('HEAD', new URL(entry.uploadUrl).pathname.replace(/^\/api\/v1/, ''), {
      raw: true, headers: { 'Tus-Resumable': '1.0.0' } }).catch(() => null);
    if (!res) return null;
    const off = Number(res.headers.get('Upload-Offset'));
    return Number.isFinite(off) ? off : null;
  }

  // Drops an unfinished upload: terminated on the server, forgotten here.
  async forget(entry) {
    const tus = await loadTus();
    try {
      await this.ctx.api.request('DELETE', new URL(entry.uploadUrl).pathname.replace(/^\/api\/v1/, ''), {
        raw: true, headers: { 'Tus-Resumable': '1.0.0' } });
    } catch (e) {
      // already gone on the server: forget it here all the same
    }
    await tus.defaultOptions.urlStorage.removeUpload(entry.urlStorageKey);
  }

  // Sign-out: stop everything (the uploads stay resumable).
  destroy() {
    window.removeEventListener('offline', this.onOffline);
    window.removeEventListener('online', this.onOnline);
    for (const u of this.list) if (u.tus && !u.ended) u.tus.abort(false);
    this.list = [];
  }
}

const uploads = perSession((ctx) => new Uploads(ctx));

// The Uploads of ctx's session (a new session stops the old one's).
export const uploadsFor = (ctx) => uploads.of(ctx);

// For the shell's sign-out: stop the session's uploads (they stay
// resumable from this browser).
export const stopUploads = () => uploads.stop();
