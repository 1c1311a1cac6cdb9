// The P2P transfer engine (docs/p2p.md), independent of any page: a sender
// offers a file to a user; once the recipient accepts, the bytes go directly
// over a WebRTC DataChannel, or end-to-end encrypted through the server's
// relay (ECDH P-256 + HKDF-SHA256 + AES-256-GCM in 64 KiB chunks), or the
// first and then the second when the direct connection does not open in
// time (mode "auto").
//
//   import { P2P } from '/js/p2p.js';
//   const p2p = new P2P({ api, socket });       // api.js Api, ws.js Socket
//   p2p.on('offer', (t) => ...);                 // transfer.offer, with t.sender
//   const tx = await p2p.send(file, recipientId, { mode: 'auto' });
//   tx.on('progress', ({ bytes, size }) => ...);
//   await tx.done;                               // the completed transfer
//   const rx = await p2p.accept(offer);
//   const { blob, sha256 } = await rx.done;      // recipient: the file
//
// A Transfer emits 'progress' ({bytes, size, phase}: the sender counts bytes
// sent, the recipient bytes received), 'peer-progress' (the other side's
// transfer.progress), 'path' ('direct' | 'relay'), 'state' (the transfer as
// the server last told it), 'status' (a line for people) and 'end'; its
// `done` promise resolves when the transfer is completed and rejects with a
// P2PError otherwise (rejected, cancelled, failed, expired).

import { ApiError } from './api.js';
import { P2PError, Transfer, sha256Hex } from './p2p-transfer.js';
import { Emitter } from './ws.js';

export { CHUNK_SIZE, encryptedSize } from './p2p-relay.js';
export { P2PError, Transfer, sha256Hex } from './p2p-transfer.js';

const MIB = 1024 * 1024;
const FINAL = new Set(['completed', 'rejected', 'cancelled', 'failed', 'expired']);

// -- the engine -----------------------------------------------------------------

export class P2P extends Emitter {
  // api: an Api; socket: a Socket. relayAfterMs: how long mode "auto"
  // waits for the DataChannel before it uses the relay (15 s);
  // directTimeoutMs: how long mode "direct" waits before it fails;
  // progressIntervalMs: least time between two p2p.progress reports;
  // maxBuffered: bytes queued in the DataChannel at most; uploadParallel:
  // relay chunks uploaded at once; hashLimit: files up to this size are
  // hashed before the offer, so the server can check what arrives;
  // maxReceive: the largest file accepted (it is assembled in memory).
  constructor({ api, socket, relayAfterMs = 15000, directTimeoutMs = 30000,
    progressIntervalMs = 250, maxBuffered = 4 * MIB, uploadParallel = 3,
    hashLimit = 512 * MIB, maxReceive = 2048 * MIB } = {}) {
    super();
    this.api = api;
    this.socket = socket;
    this.relayAfter = relayAfterMs;
    this.directTimeout = directTimeoutMs;
    this.progressInterval = progressIntervalMs;
    this.maxBuffered = maxBuffered;
    this.uploadParallel = uploadParallel;
    this.hashLimit = hashLimit;
    this.maxReceive = maxReceive;
    this.transfers = new Map(); // id -> Transfer in progress here
    this.early = new Map(); // id -> [[kind, payload, at]] for ids not yet known
    this.ice = null;
    this.offs = [];
    const on = (t, fn) => this.offs.push(socket.on(t, fn));
    on('transfer.offer', (data) => this.emit('offer', data));
    for (const t of ['accepted', 'rejected', 'cancelled', 'failed', 'completed', 'expired', 'relay_ready']) {
      on(`transfer.${t}`, (data) => this.onEvent(`transfer.${t}`, data));
    }
    on('transfer.progress', (data) => {
      const tx = data && this.transfers.get(data.transfer_id);
      if (tx) tx.onPeerProgress(data);
      this.emit('progress', data);
    });
    on('p2p.signal', (data) => {
      if (!data || !data.transfer_id) return;
      const tx = this.transfers.get(data.transfer_id);
      if (tx) tx.onSignal(data.data);
      else this.keepEarly(data.transfer_id, 'signal', data.data);
    });
    on('error', (err) => this.onSocketError(err));
    on('resync_required', () => this.resync());
  }

  destroy() {
    for (const off of this.offs) off();
    for (const tx of [...this.transfers.values()]) tx.end(new P2PError('cancelled', 'Signed out'));
  }

  onEvent(type, info) {
    if (!info || !info.id) return;
    const tx = this.transfers.get(info.id);
    if (tx) tx.onState(type, info);
    else if (!FINAL.has(info.state)) this.keepEarly(info.id, 'event', [type, info]);
    this.emit('update', type, info);
  }

  // Events and signals can beat the answer of initiate or accept; they are
  // kept a minute for the transfer they name.
  keepEarly(id, kind, payload) {
    const now = Date.now();
    for (const [k, list] of this.early) {
      if (now - list[0][2] > 60000) this.early.delete(k);
    }
    if (!this.early.has(id)) {
      if (this.early.size >= 64) return;
      this.early.set(id, []);
    }
    const list = this.early.get(id);
    if (list.length < 64) list.push([kind, payload, now]);
  }

  adopt(tx) {
    this.transfers.set(tx.id, tx);
    const list = this.early.get(tx.id) || [];
    this.early.delete(tx.id);
    for (const [kind, payload] of list) {
      if (kind === 'signal') tx.onSignal(payload);
      else tx.onState(payload[0], payload[1]);
    }
    this.emit('transfer', tx);
    return tx;
  }

  forget(tx) {
    if (this.transfers.get(tx.id) === tx) this.transfers.delete(tx.id);
  }

  get(id) {
    return this.transfers.get(id) || null;
  }

  // Runs a step of a transfer; an error ends it (and fails it on the server
  // when it was ours to report).
  run(tx, fn) {
    Promise.resolve()
      .then(fn)
      .catch((e) => {
        if (tx.ended) return;
        if (e instanceof ApiError && e.status === 409 && e.code === 'invalid_transition') {
          // The server has already moved on; its event will say where.
          tx.status(e.describe());
          return;
        }
        const reason = e instanceof P2PError ? e.code : (e && e.code) || 'client_error';
        const msg = e instanceof ApiError ? e.describe() : (e && e.message) || String(e);
        tx.fail(reason, msg);
      });
  }

  onSocketError(err) {
    const m = /^p2p:([0-9a-f]{24}):(.*)$/.exec(String(err.ref || ''));
    if (!m) return;
    const tx = this.transfers.get(m[1]);
    if (tx && !tx.ended && m[2] !== 'progress') tx.status(`The server refused a ${m[2]} signal: ${err.message} (${err.code})`);
  }

  // After a gap the socket could not replay: ask for the state of every
  // transfer in progress.
  async resync() {
    for (const tx of [...this.transfers.values()]) {
      try {
        const info = await this.api.get(`/p2p/${tx.id}`);
        const type = `transfer.${info.state}`;
        if (info.state !== tx.info.state) tx.onState(type, info);
        if (info.relay_file_id && !tx.info.relay_file_id) tx.onState('transfer.relay_ready', info);
      } catch (e) {
        // tried again at the next resync
      }
    }
    this.emit('resync');
  }

  async iceServers() {
    if (!this.ice || Date.now() > this.ice.until) {
      const r = await this.api.get('/p2p/ice-servers');
      const list = (r.ice_servers || []).map((s) => {
        const o = { urls: s.urls };
        if (s.username) o.username = s.username;
        if (s.credential) o.credential = s.credential;
        return o;
      });
      this.ice = { list, until: Date.now() + Math.max(60, (r.ttl || 3600) / 2) * 1000 };
    }
    return this.ice.list;
  }

  // Offers a File (or Blob with a name) to recipientId; returns the
  // sender's Transfer, which starts on its own once the recipient accepts.
  async send(file, recipientId, { mode = 'auto', filename = null } = {}) {
    let sha256 = null;
    if (file.size <= this.hashLimit) sha256 = await sha256Hex(await file.arrayBuffer());
    const body = { recipient_id: recipientId, filename: filename || file.name || 'file',
      size: file.size, mode };
    if (sha256) body.sha256 = sha256;
    const info = await this.api.post('/p2p/initiate', body);
    const tx = new Transfer(this, 'sender', info, file);
    tx.sha256 = sha256;
    tx.status('Waiting for the recipient to accept...');
    this.adopt(tx);
    if (info.state === 'accepted') this.run(tx, () => tx.startSending());
    return tx;
  }

  // Accepts an offer (the transfer object of transfer.offer or of GET);
  // returns the recipient's Transfer.
  async accept(offer) {
    if (offer.size > this.maxReceive) {
      throw new P2PError('too_large', `This page can receive files of up to ${Math.floor(this.maxReceive / MIB)} MiB (it keeps the file in memory)`);
    }
    const tx = new Transfer(this, 'recipient', offer);
    this.adopt(tx); // before the POST: the sender's first signal may beat its answer
    try {
      const info = await this.api.post(`/p2p/${offer.id}/accept`);
      tx.info = { ...tx.info, ...info };
    } catch (e) {
      this.forget(tx);
      tx.ended = true;
      throw e;
    }
    tx.status('Accepted');
    this.run(tx, () => tx.startReceiving());
    return tx;
  }

  async reject(id) {
    return this.api.post(`/p2p/${id}/reject`);
  }

  // Cancels a transfer (either party): the server tells the other side.
  async cancel(id) {
    const info = await this.api.post(`/p2p/${id}/cancel`);
    const tx = this.transfers.get(id);
    if (tx) tx.onState('transfer.cancelled', info);
    return info;
  }

  // Pending offers made to the signed-in user (a page that opens late).
  async pendingOffers() {
    const me = this.api.user && this.api.user.id;
    const r = await this.api.get('/p2p/history?state=pending&limit=50');
    return (r.items || []).filter((t) => t.recipient_id === me);
  }
}
