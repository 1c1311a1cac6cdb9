// The long-poll fallback of the WebSocket bridge (docs/ws.md, "Long-poll"),
// and Realtime, the one event source the shell hands to every view as
// ctx.socket whichever transport carries the events.
//
//   Poller    GET /api/v1/updates?since=<id>&timeout=25 in a loop; emits what
//             Socket emits for stored events ('event', '<type>' with (data,
//             event), 'resync_required', 'open' and 'hello' (a hello of its
//             own, transport 'poll'), 'state', 'close'). No typing, no
//             presence, no p2p.signal: the endpoint does not carry them.
//             A reply with retry_ms (the server's waiting polls are all
//             taken: updates_max_waiting) makes it wait that long before
//             the next poll (a short poll); each poll asks to wait again, so
//             it long-polls once the server lets it.
//   Realtime  starts on the WebSocket (ws.js); after FALLBACK_AFTER attempts
//             that never got the bridge's hello (or WS_PATIENCE ms without
//             one) it long-polls instead, and probes the WebSocket now and then
//             (PROBE_MIN doubling to PROBE_MAX): the first probe that gets a
//             hello switches back. Events are de-duplicated by id across the
//             switch, so a view sees each stored event once, in order. With
//             websocket: false (the server runs no bridge: /health says so)
//             it long-polls from the start and never probes.
//
// Realtime's interface is Socket's: on/off/once, send(obj), connect(),
// close(), connected, lastId; plus transport ('ws' | 'poll') and the
// 'transport' event. 'state' is 'connecting' | 'open' | 'closed'.

import { Emitter, Socket } from './ws.js';

const FALLBACK_AFTER = 3;
const WS_PATIENCE = 8000;
const PROBE_MIN = 15000;
const PROBE_MAX = 300000;

// Event ids are "<ms>-<seq>": one order across every stream.
export function idAfter(a, b) {
  if (!b) return true;
  if (!a) return false;
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am > bm || (am === bm && as > bs);
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  if (signal) signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

export class Poller extends Emitter {
  // api: the Api of api.js; since: the last event id already processed (or
  // null: start from now); timeout: seconds each poll may wait (at most 60).
  constructor({ api, since = null, timeout = 25 } = {}) {
    super();
    this.api = api;
    this.lastId = since;
    this.timeout = timeout;
    this.running = false;
    this.ready = false;
    this.abort = null;
    this.retryMs = 0; // the last reply's retry_ms: short-polling when > 0
  }

  get connected() {
    return this.ready;
  }

  connect() {
    if (this.running) return;
    this.running = true;
    this.gen = (this.gen || 0) + 1;
    this.loop(this.gen);
  }

  close() {
    this.running = false;
    this.ready = false;
    if (this.abort) this.abort.abort();
    this.abort = null;
    this.emit('state', 'closed');
  }

  // One polling loop; a close() and connect() start another generation and
  // this one ends at its next step.
  async loop(gen) {
    let failures = 0;
    const live = () => this.running && this.gen === gen;
    this.emit('state', 'connecting');
    while (live()) {
      const abort = new AbortController();
      this.abort = abort;
      try {
        const q = this.lastId
          ? `?since=${encodeURIComponent(this.lastId)}&timeout=${this.ready ? this.timeout : 0}`
          : '';
        const r = await this.api.get(`/updates${q}`, { signal: abort.signal });
        if (!live()) return;
        failures = 0;
        if (!this.ready) {
          this.ready = true;
          this.emit('state', 'open');
          const hello = { type: 'hello', transport: 'poll', last_id: r.next, resumed: Boolean(this.lastId) };
          this.emit('open', hello);
          this.emit('hello', hello);
        }
        if (r.resync_required) this.emit('resync_required', { type: 'resync_required', reason: 'retention' });
        for (const ev of r.events || []) this.dispatch(ev);
        if (r.next) this.lastId = r.next;
        this.retryMs = r.retry_ms > 0 ? Math.min(r.retry_ms, 60000) : 0;
        if (this.retryMs) await sleep(this.retryMs, abort.signal);
      } catch (e) {
        if (!live() || (e && e.name === 'AbortError')) return;
        if (e && (e.status === 401 || e.status === 403)) {
          // The session is gone (the Api has already tried a refresh).
          this.running = false;
          this.ready = false;
          this.emit('state', 'closed');
          this.emit('close', { code: 4401, reason: e.code, willRetry: false });
          return;
        }
        if (e && e.status === 400 && e.code === 'invalid_value') this.lastId = null;
        failures += 1;
        if (this.ready) {
          this.ready = false;
          this.emit('state', 'connecting');
          this.emit('close', { code: 1006, reason: e.code || 'poll_failed', willRetry: true });
        }
        await sleep(Math.min(10000, 500 * 2 ** Math.min(failures, 5)), abort.signal);
      }
    }
  }

  dispatch(ev) {
    if (!ev || !ev.id) return;
    this.lastId = ev.id;
    this.emit('event', ev);
    this.emit(ev.type, ev.data, ev);
  }

  // What the WebSocket would do with a client event, over REST where there
  // is a route for it: 'chat_message', 'read' and 'ping' are answered with
  // the same 'ack' / 'pong' objects; 'typing', 'presence' and 'p2p.signal'
  // cannot be carried and return false.
  send(obj) {
    if (!obj || typeof obj !== 'object') return false;
    const reply = (p) => p.then((data) => {
      this.emit('ack', data, { type: 'ack', ref: obj.ref, data });
    }, (e) => {
      const error = { code: e.code || 'network_error', message: e.message, ref: obj.ref };
      this.emit('error', error);
    });
    switch (obj.type) {
      case 'ping':
        setTimeout(() => this.emit('pong', undefined, { type: 'pong', ref: obj.ref }));
        return true;
      case 'chat_message': {
        const body = { chat_id: obj.chat_id, content: obj.content };
        for (const k of ['client_id', 'reply_to', 'file_ids']) if (obj[k] !== undefined) body[k] = obj[k];
        reply(this.api.request('POST', '/messages', { json: body, raw: true }).then(async (res) => {
          const message = await res.json();
          return { message_id: message.id, message, existed: res.status === 200 };
        }));
        return true;
      }
      case 'read':
        reply(this.api.post(`/chats/${encodeURIComponent(obj.chat_id)}/read`, { message_id: obj.message_id }));
        return true;
      default:
        return false;
    }
  }
}

// A Socket that also hands everything it emits to a sink (Realtime).
class TappedSocket extends Socket {
  constructor(opts, sink) {
    super(opts);
    this.sink = sink;
  }

  emit(type, ...args) {
    super.emit(type, ...args);
    this.sink(type, args);
  }
}

export class Realtime extends Emitter {
  // api: the Api; since: the last event id processed (a previous page's);
  // url: the bridge's URL (default /ws); fallbackAfter, patience,
  // probeMin, probeMax: see the top of this file (tests shorten them);
  // websocket: false when the server offers none.
  constructor({ api, since = null, url = null, fallbackAfter = FALLBACK_AFTER,
    patience = WS_PATIENCE, probeMin = PROBE_MIN, probeMax = PROBE_MAX, websocket = true } = {}) {
    super();
    this.api = api;
    this.websocket = websocket;
    this.lastId = since;
    this.fallbackAfter = fallbackAfter;
    this.patience = patience;
    this.probeMin = probeMin;
    this.probeMax = probeMax;
    this.transport = websocket ? 'ws' : 'poll'; // no 'transport' event (nor toast) for a server without one
    this.state = 'closed';
    this.failed = 0; // WebSocket attempts in a row that never got a hello
    this.probing = false;
    this.delivering = null; // the id of the stored event being emitted
    this.probeDelay = probeMin;
    this.timer = null;
    this.stopped = true;
    this.ws = new TappedSocket({ api, url, since }, (type, args) => this.fromWs(type, args));
    this.poller = new Poller({ api });
    const forward = this.poller.emit.bind(this.poller);
    this.poller.emit = (type, ...args) => {
      forward(type, ...args);
      this.fromPoll(type, args);
    };
  }

  get connected() {
    return this.transport === 'ws' ? this.ws.connected : this.poller.connected;
  }

  connect() {
    this.stopped = false;
    if (this.websocket) this.useWs();
    else this.usePoll();
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
    this.ws.close();
    this.poller.close();
    this.setState('closed');
  }

  send(obj) {
    return this.transport === 'ws' ? this.ws.send(obj) : this.poller.send(obj);
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  setTransport(t) {
    if (this.transport === t) return;
    this.transport = t;
    this.emit('transport', t);
  }

  useWs() {
    this.failed = 0;
    this.ws.lastId = this.lastId;
    this.ws.connect();
    this.armPatience();
  }

  // Falls back when no hello came for `patience` ms (a connection that
  // hangs rather than fails).
  armPatience() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped && this.transport === 'ws' && !this.ws.connected) this.usePoll();
    }, this.patience);
  }

  usePoll() {
    clearTimeout(this.timer);
    this.timer = null;
    this.setTransport('poll');
    this.ws.close();
    this.poller.lastId = this.lastId;
    this.poller.connect();
    this.scheduleProbe();
  }

  // One WebSocket attempt while long-polling; its hello switches back.
  scheduleProbe() {
    clearTimeout(this.timer);
    if (!this.websocket) return; // nothing to probe
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped || this.transport !== 'poll') return;
      this.probing = true;
      this.ws.lastId = this.lastId;
      this.ws.connect();
    }, this.probeDelay);
    this.probeDelay = Math.min(this.probeMax, this.probeDelay * 2);
  }

  fromWs(type, args) {
    if (this.stopped) return;
    if (type === 'hello') {
      this.failed = 0;
      this.probeDelay = this.probeMin;
      if (this.transport === 'poll') {
        this.probing = false;
        this.setTransport('ws');
        this.poller.close();
        this.setState('open');
      }
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (type === 'close') {
      const { willRetry } = args[0] || {};
      if (this.transport === 'poll' && this.probing) {
        // The probe failed: back to waiting, the poller carries on.
        this.probing = false;
        this.ws.close();
        this.scheduleProbe();
        return;
      }
      if (this.transport === 'ws' && willRetry) {
        this.failed += 1;
        if (this.failed >= this.fallbackAfter) {
          this.usePoll();
          return;
        }
      }
    }
    if (this.transport !== 'ws') return;
    this.relay(type, args);
  }

  fromPoll(type, args) {
    if (this.stopped || this.transport !== 'poll') return;
    this.relay(type, args);
  }

  // Hands one emission on to the views. Socket and Poller emit 'event' and
  // then '<type>' for each stored event: one already delivered by the other
  // transport (an id not after lastId) is dropped, both emissions.
  relay(type, args) {
    if (type === 'state') {
      this.setState(args[0]);
      return;
    }
    if (type === 'event') {
      const ev = args[0];
      this.delivering = null;
      if (!idAfter(ev.id, this.lastId)) return;
      this.lastId = ev.id;
      this.delivering = ev.id;
      this.emit('event', ev);
      return;
    }
    const obj = args[1];
    if (obj && obj.id) {
      if (this.delivering !== obj.id) return;
      this.delivering = null;
    }
    this.emit(type, ...args);
  }
}
