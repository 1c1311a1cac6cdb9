// A client of the WebSocket bridge (docs/ws.md): connects to /ws with the
// token in the subprotocol list, splits each frame on "\n" into JSON
// objects, reconnects with since=<last stored event id> so nothing stored is
// missed, refreshes the token when the bridge says it is expiring, and
// hands everything out through a tiny event emitter.
//
//   import { Socket } from '/js/ws.js';
//   const ws = new Socket({ api });            // api: an Api of api.js
//   ws.on('transfer.offer', (data, ev) => ...);
//   ws.on('p2p.signal', (data) => ...);
//   ws.connect();
//   ws.send({ type: 'ping', ref: 1 });
//
// Emitted: 'open', 'hello' (the hello object), 'close' ({code, reason,
// willRetry}), 'event' (every stored event, with its id), '<type>' (the data
// of any object by its type: 'message.created', 'typing', 'p2p.signal'...,
// called with (data, object)), 'resync_required', 'error' (the bridge
// refused a client event: {code, message, ref}), 'state' ('connecting' |
// 'open' | 'closed').

// The emitter the engine and the socket share: on() returns an unsubscribe
// function.
export class Emitter {
  constructor() {
    this.handlers = new Map();
  }

  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.off(type, fn);
  }

  off(type, fn) {
    const set = this.handlers.get(type);
    if (set) set.delete(fn);
  }

  once(type, fn) {
    const off = this.on(type, (...args) => {
      off();
      fn(...args);
    });
    return off;
  }

  emit(type, ...args) {
    const set = this.handlers.get(type);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (e) {
        // one bad listener must not stop the others nor the socket
        setTimeout(() => {
          throw e;
        });
      }
    }
  }
}

// Close codes after which reconnecting cannot help.
const FATAL = new Set([4403]);
// Reasons of a 4401 that no refresh can help: the session was revoked (sign
// out, password change, revoked from another device) or the account
// disabled. A refresh would only be refused (one more 401).
const SESSION_ENDED = new Set(['token_revoked', 'account_disabled', 'user_disabled']);
const QUEUE_MAX = 256;

export class Socket extends Emitter {
  // api: the Api (token and refresh); url: the bridge's URL (default: /ws on
  // the page's host); since: the last event id already processed (e.g.
  // stored by a previous page), or null for live events only.
  constructor({ api, url = null, since = null, minDelay = 500, maxDelay = 10000 } = {}) {
    super();
    this.api = api;
    this.url = url || Socket.defaultUrl();
    this.lastId = since;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.ws = null;
    this.ready = false; // hello received: events and sends flow
    this.stopped = true;
    this.attempt = 0;
    this.timer = null;
    this.queue = []; // client events sent while not ready
  }

  static defaultUrl() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/ws`;
  }

  get connected() {
    return this.ready;
  }

  connect() {
    this.stopped = false;
    if (!this.ws) this.open();
  }

  // Closes for good (sign-out); connect() starts again.
  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      this.ready = false;
      ws.close(1000, 'bye');
    }
    this.emit('state', 'closed');
  }

  // Sends one client event (an object). Until the bridge has said hello the
  // events wait in a bounded queue (a reconnect flushes them in order);
  // returns false when one had to be dropped.
  send(obj) {
    if (this.ready && this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(obj));
      return true;
    }
    if (this.queue.length >= QUEUE_MAX) return false;
    this.queue.push(obj);
    return true;
  }

  open() {
    const token = this.api.token;
    if (!token) {
      this.stopped = true;
      this.emit('state', 'closed');
      return;
    }
    const q = this.lastId ? `?since=${encodeURIComponent(this.lastId)}` : '';
    const ws = new WebSocket(this.url + q, ['hypersend', `token.${token}`]);
    this.ws = ws;
    this.ready = false;
    this.emit('state', 'connecting');
    ws.onmessage = (m) => {
      if (this.ws === ws) this.onFrame(m.data);
    };
    ws.onclose = (e) => {
      if (this.ws === ws) this.onClose(e);
    };
  }

  onFrame(text) {
    if (typeof text !== 'string') return;
    for (const line of text.split('\n')) {
      if (!line) continue;
      let obj;
      try {
        obj = JSON.parse(line);
      } catch (e) {
        continue;
      }
      this.dispatch(obj);
    }
  }

  dispatch(obj) {
    switch (obj.type) {
      case 'hello':
        this.ready = true;
        this.attempt = 0;
        // With no since given, the hello's last_id is where live events
        // start: a reconnect resumes from there.
        if (!this.lastId && obj.last_id) this.lastId = obj.last_id;
        this.emit('state', 'open');
        this.emit('open', obj);
        this.emit('hello', obj);
        this.flush();
        return;
      case 'token.expiring':
        this.renewToken();
        break;
      case 'resync_required':
        this.emit('resync_required', obj);
        return;
      case 'error':
        this.emit('error', { ...(obj.error || {}), ref: obj.ref });
        return;
      default:
        break;
    }
    if (obj.id) {
      this.lastId = obj.id;
      this.emit('event', obj);
    }
    this.emit(obj.type, obj.data, obj);
  }

  flush() {
    const q = this.queue;
    this.queue = [];
    for (const obj of q) this.send(obj);
  }

  // A fresh token for this connection before the old one expires.
  async renewToken() {
    try {
      await this.api.refresh();
      if (this.ws && this.ready) this.ws.send(JSON.stringify({ type: 'auth', token: this.api.token }));
    } catch (e) {
      // the bridge closes with 4401 at exp; onClose handles it
    }
  }

  async onClose(e) {
    this.ws = null;
    this.ready = false;
    const code = e.code;
    // 4400: our since is not an event id; drop it and start live.
    if (code === 4400) this.lastId = null;
    const ended = code === 4401 && SESSION_ENDED.has(e.reason);
    if (ended) this.stopped = true;
    const willRetry = !this.stopped && !FATAL.has(code);
    this.emit('state', willRetry ? 'connecting' : 'closed');
    this.emit('close', { code, reason: e.reason, willRetry });
    if (!willRetry) return;
    if (code === 4401) {
      // An expired (or otherwise refused) token: one refresh; if that
      // fails, the user has to sign in again.
      try {
        await this.api.refresh();
      } catch (err) {
        this.stopped = true;
        this.emit('state', 'closed');
        return;
      }
    }
    const base = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempt);
    this.attempt += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped && !this.ws) this.open();
    }, delay);
  }
}
