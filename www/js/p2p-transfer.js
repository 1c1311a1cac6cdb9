// One P2P transfer as one side sees it (docs/p2p.md): the sender's or the
// recipient's state, the direct path (RTCPeerConnection + DataChannel
// "file", signaling over the bridge), the encrypted relay (p2p-relay.js and
// the files chunk API), progress and its reports. Made and driven by P2P in
// p2p.js, which routes the socket's events and signals to it.

import {
  CHUNK_SIZE, RelayDecryptor, RelayError, deriveFileKey, encryptBlob, encryptedSize, hex,
  makeKeyPair,
} from './p2p-relay.js';
import { Emitter } from './ws.js';

const MIB = 1024 * 1024;

// Why a transfer did not complete: code is the transfer's end state
// ('rejected', 'cancelled', 'expired', 'failed') or an API error code.
export class P2PError extends Error {
  constructor(code, message, reason = null) {
    super(message);
    this.name = 'P2PError';
    this.code = code;
    this.reason = reason;
  }
}

// -- helpers --------------------------------------------------------------------

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export async function sha256Hex(data) {
  return hex(await crypto.subtle.digest('SHA-256', data));
}

function hasWebRTC() {
  return typeof RTCPeerConnection === 'function';
}

const END_TEXT = {
  rejected: 'The recipient declined the file',
  cancelled: 'The transfer was cancelled',
  expired: 'The offer expired before it was accepted',
  failed: 'The transfer failed',
};

// -- one transfer -------------------------------------------------------------------

export class Transfer extends Emitter {
  constructor(engine, role, info, file = null) {
    super();
    this.engine = engine;
    this.api = engine.api;
    this.role = role; // 'sender' | 'recipient'
    this.info = info;
    this.id = info.id;
    this.file = file;
    this.size = info.size;
    this.path = null; // 'direct' | 'relay'
    this.bytes = 0;
    this.peerBytes = 0;
    this.ended = false;
    this.result = null;
    this.startedAt = null; // when bytes started to move
    this.endedAt = null;
    // direct
    this.pc = null;
    this.dc = null;
    this.remoteSet = false;
    this.iceQueue = [];
    this.signalQueue = []; // signals that came before the connection was set up
    this.pcReady = null;
    this.buf = null; // recipient: the file as it arrives
    // relay
    this.keys = null;
    this.keySent = false;
    this.peerKey = deferred();
    this.peerKey.promise.catch(() => {});
    this.relayReady = deferred();
    this.relayReady.promise.catch(() => {});
    // progress reports to the server
    this.lastReport = 0;
    this.reportTimer = null;
    this.reportedBytes = -1;
    const d = deferred();
    this.done = d.promise;
    this.done.catch(() => {});
    this.settle = d;
  }

  get mode() {
    return this.info.mode || 'auto';
  }

  get state() {
    return this.info.state;
  }

  status(text) {
    this.statusText = text;
    this.emit('status', text);
  }

  setPath(path) {
    if (this.path === path) return;
    this.path = path;
    this.emit('path', path);
  }

  progress(bytes, phase) {
    if (this.startedAt === null) this.startedAt = performance.now();
    this.bytes = bytes;
    this.emit('progress', { bytes, size: this.size, phase });
    if (this.role === 'sender') this.report(bytes);
  }

  // The sender's p2p.progress over the socket: at most one every
  // progressInterval ms, and the last one always.
  report(bytes) {
    if (this.ended || bytes === this.reportedBytes) return;
    const wait = this.lastReport + this.engine.progressInterval - performance.now();
    if (wait <= 0 || bytes >= this.size) {
      clearTimeout(this.reportTimer);
      this.reportTimer = null;
      this.lastReport = performance.now();
      this.reportedBytes = bytes;
      this.engine.socket.send({ type: 'p2p.progress', transfer_id: this.id, bytes,
        ref: `p2p:${this.id}:progress` });
    } else if (!this.reportTimer) {
      this.reportTimer = setTimeout(() => {
        this.reportTimer = null;
        this.report(this.bytes);
      }, wait);
    }
  }

  signal(data) {
    if (this.ended) return;
    this.engine.socket.send({ type: 'p2p.signal', transfer_id: this.id, data,
      ref: `p2p:${this.id}:${data.kind}` });
  }

  // -- server state -------------------------------------------------------------

  // A transfer.* event (or a fresh GET) about this transfer.
  onState(type, info) {
    if (info && info.id === this.id) this.info = { ...this.info, ...info };
    this.emit('state', this.info);
    switch (type) {
      case 'transfer.accepted':
        if (this.role === 'sender') this.engine.run(this, () => this.startSending());
        break;
      case 'transfer.relay_ready':
        this.relayReady.resolve(this.info);
        if (this.role === 'recipient' && this.mode !== 'direct' && this.buf) {
          this.engine.run(this, () => this.switchToRelay(null));
        }
        break;
      case 'transfer.completed':
        this.finish();
        break;
      case 'transfer.rejected':
      case 'transfer.cancelled':
      case 'transfer.expired':
      case 'transfer.failed': {
        const state = type.slice('transfer.'.length);
        const reason = this.info.reason ? ` (${this.info.reason})` : '';
        this.end(new P2PError(state, `${END_TEXT[state]}${reason}`, this.info.reason || null));
        break;
      }
      default:
        break;
    }
  }

  // A transfer the server answered with (progress, relay, complete):
  // its state may have moved without an event (there is no
  // transfer.transferring).
  merge(info) {
    if (!info || info.id !== this.id) return;
    const moved = info.state !== this.info.state;
    this.info = { ...this.info, ...info };
    if (moved) this.emit('state', this.info);
  }

  onPeerProgress(data) {
    if (this.info.state === 'accepted') this.merge({ ...this.info, state: 'transferring' });
    if (this.role === 'recipient') {
      this.peerBytes = data.bytes;
      this.emit('peer-progress', { bytes: data.bytes, size: data.size });
    }
  }

  finish() {
    if (this.ended) return;
    if (this.role === 'recipient' && !this.result) {
      // completed by another device of this user
      this.end(new P2PError('completed', 'Received on another device'));
      return;
    }
    this.endedAt = performance.now();
    this.ended = true;
    if (this.role === 'sender') this.progress(this.size, this.path);
    this.status('Completed');
    this.teardown();
    this.settle.resolve(this.result || this.info);
    this.emit('end', null);
  }

  end(err) {
    if (this.ended) return;
    this.endedAt = performance.now();
    this.ended = true;
    this.error = err;
    this.status(err.message);
    this.teardown();
    this.peerKey.reject(err);
    this.relayReady.reject(err);
    this.settle.reject(err);
    this.emit('end', err);
  }

  teardown() {
    this.wake();
    clearTimeout(this.reportTimer);
    clearTimeout(this.directTimer);
    if (this.dc) {
      try {
        this.dc.close();
      } catch (e) {
        /* already closed */
      }
    }
    if (this.pc) this.pc.close();
    this.dc = null;
    this.pc = null;
    this.engine.forget(this);
  }

  // Fails the transfer on the server (best effort) and here.
  async fail(reason, message) {
    if (this.ended) return;
    const err = new P2PError('failed', message, reason);
    this.end(err);
    try {
      await this.api.post(`/p2p/${this.id}/fail`, { reason });
    } catch (e) {
      // the transfer may already have ended on the server
    }
  }

  // -- signals ----------------------------------------------------------------

  onSignal(data) {
    if (this.ended || !data || typeof data !== 'object') return;
    switch (data.kind) {
      case 'sdp':
      case 'ice':
        if (this.path === 'relay') return;
        if (!this.pcReady) {
          this.signalQueue.push(data);
          return;
        }
        this.engine.run(this, () => this.onRtcSignal(data));
        return;
      case 'relay':
        // The sender gave up on the direct connection (or, from a recipient,
        // it cannot make one).
        if (this.mode === 'direct') return;
        this.engine.run(this, () => this.switchToRelay(null));
        return;
      case 'key':
        if (typeof data.public_key === 'string') this.peerKey.resolve(data.public_key);
        if (this.mode !== 'direct') this.engine.run(this, () => this.switchToRelay(null));
        return;
      default:
        break;
    }
  }

  async onRtcSignal(data) {
    await this.pcReady;
    if (!this.pc) return;
    if (data.kind === 'sdp' && data.sdp) {
      await this.pc.setRemoteDescription(data.sdp);
      this.remoteSet = true;
      if (data.sdp.type === 'offer') {
        await this.pc.setLocalDescription(await this.pc.createAnswer());
        const d = this.pc.localDescription;
        this.signal({ kind: 'sdp', sdp: { type: d.type, sdp: d.sdp } });
      }
      const q = this.iceQueue;
      this.iceQueue = [];
      for (const c of q) await this.addIce(c);
    } else if (data.kind === 'ice' && data.candidate) {
      if (this.remoteSet) await this.addIce(data.candidate);
      else this.iceQueue.push(data.candidate);
    }
  }

  async addIce(candidate) {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (e) {
      // a candidate of another generation or a closed connection: harmless
    }
  }

  // -- direct mode ------------------------------------------------------------

  async makePeer() {
    const iceServers = await this.engine.iceServers();
    if (this.ended) return;
    this.pc = new RTCPeerConnection({ iceServers });
    this.pc.onicecandidate = (e) => {
      if (e.candidate) this.signal({ kind: 'ice', candidate: e.candidate.toJSON() });
    };
    if (this.role === 'recipient') this.pc.ondatachannel = (e) => this.onChannel(e.channel);
  }

  startPeer() {
    this.pcReady = this.makePeer();
    const q = this.signalQueue;
    this.signalQueue = [];
    for (const s of q) this.engine.run(this, () => this.onRtcSignal(s));
    return this.pcReady;
  }

  // Sender, once accepted: the path the mode asks for.
  async startSending() {
    if (this.started) return;
    this.started = true;
    if (this.mode === 'relay') return this.switchToRelay(null);
    if (!hasWebRTC()) {
      if (this.mode === 'direct') return this.fail('webrtc_unavailable', 'This browser cannot make WebRTC connections');
      return this.switchToRelay('This browser has no WebRTC');
    }
    this.setPath('direct');
    this.status('Connecting directly...');
    await this.startPeer();
    if (this.ended || this.path !== 'direct') return;
    const dc = this.pc.createDataChannel('file', { ordered: true });
    dc.binaryType = 'arraybuffer';
    this.dc = dc;
    const wait = this.mode === 'auto' ? this.engine.relayAfter : this.engine.directTimeout;
    this.directTimer = setTimeout(() => {
      if (this.ended || this.path !== 'direct' || (this.dc && this.dc.readyState === 'open')) return;
      if (this.mode === 'auto') {
        this.engine.run(this, () => this.switchToRelay(`No direct connection after ${Math.round(wait / 1000)} s`));
      } else {
        this.fail('direct_connect_timeout', `No direct connection after ${Math.round(wait / 1000)} s`);
      }
    }, wait);
    dc.onopen = () => {
      clearTimeout(this.directTimer);
      if (this.path === 'direct') this.engine.run(this, () => this.pumpDirect(dc));
    };
    dc.onbufferedamountlow = () => this.wake();
    dc.onclose = () => {
      this.wake();
      if (this.ended || this.path !== 'direct' || this.eofSent) return;
      if (this.mode === 'auto' && this.pumping) {
        this.engine.run(this, () => this.switchToRelay('The direct connection broke'));
      } else if (this.pumping) {
        this.fail('connection_lost', 'The direct connection broke');
      }
    };
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const d = this.pc.localDescription;
    this.signal({ kind: 'sdp', sdp: { type: d.type, sdp: d.sdp } });
  }

  wake() {
    const w = this.waiter;
    this.waiter = null;
    if (w) w();
  }

  // Sends the file in CHUNK_SIZE messages with at most maxBuffered bytes
  // queued in the channel, then "eof".
  async pumpDirect(dc) {
    this.pumping = true;
    this.status('Sending directly (WebRTC)...');
    // The transfer is "transferring" before the first byte leaves, so the
    // recipient's complete can never race a progress report.
    this.merge(await this.api.post(`/p2p/${this.id}/progress`, { bytes: 0 }));
    const max = this.engine.maxBuffered;
    dc.bufferedAmountLowThreshold = Math.floor(max / 4);
    const read = 4 * MIB;
    let queued = 0;
    this.progress(0, 'direct');
    for (let off = 0; off < this.size; off += read) {
      const buf = new Uint8Array(await this.file.slice(off, off + read).arrayBuffer());
      for (let p = 0; p < buf.length; p += CHUNK_SIZE) {
        if (dc.bufferedAmount > max - CHUNK_SIZE) {
          await new Promise((resolve) => {
            this.waiter = resolve;
          });
          this.progress(queued - dc.bufferedAmount, 'direct');
        }
        if (this.ended || this.path !== 'direct' || dc.readyState !== 'open') return;
        dc.send(buf.subarray(p, p + CHUNK_SIZE));
        queued += Math.min(CHUNK_SIZE, buf.length - p);
      }
    }
    dc.send('eof');
    this.eofSent = true;
    // Wait for the queue to drain: the bytes are then on their way.
    while (dc.readyState === 'open' && dc.bufferedAmount > 0 && !this.ended) {
      this.progress(queued - dc.bufferedAmount, 'direct');
      await sleep(20);
    }
    if (!this.ended) {
      this.progress(this.size, 'direct');
      this.status('Sent; waiting for the recipient to check the file...');
    }
  }

  // Recipient, after accepting: ready for an offer (or for the relay).
  async startReceiving() {
    this.buf = new Uint8Array(this.size);
    if (this.mode === 'relay') return this.switchToRelay(null);
    if (!hasWebRTC()) {
      if (this.mode === 'direct') return this.fail('webrtc_unavailable', 'This browser cannot make WebRTC connections');
      this.signal({ kind: 'relay' });
      return this.switchToRelay('This browser has no WebRTC');
    }
    this.setPath('direct');
    this.status('Waiting for the direct connection...');
    await this.startPeer();
  }

  onChannel(dc) {
    if (dc.label !== 'file' || this.path !== 'direct' || this.ended) return;
    dc.binaryType = 'arraybuffer';
    this.dc = dc;
    this.received = 0;
    this.status('Receiving directly (WebRTC)...');
    dc.onmessage = (m) => this.onDirectData(m.data);
  }

  onDirectData(data) {
    if (this.ended || this.path !== 'direct') return;
    if (typeof data === 'string') {
      if (data === 'eof') this.engine.run(this, () => this.directEof());
      return;
    }
    const chunk = new Uint8Array(data);
    if (this.received + chunk.length > this.size) {
      this.fail('size_mismatch', 'The sender sent more bytes than the file has');
      return;
    }
    this.buf.set(chunk, this.received);
    this.received += chunk.length;
    this.progress(this.received, 'direct');
  }

  async directEof() {
    if (this.received !== this.size) {
      return this.fail('size_mismatch', `Received ${this.received} of ${this.size} bytes`);
    }
    if (this.dc) this.dc.close();
    return this.completeWith(this.buf);
  }

  // -- relay mode -------------------------------------------------------------

  async sendKey() {
    if (this.keySent) return;
    this.keySent = true;
    this.keys = await makeKeyPair();
    this.signal({ kind: 'key', public_key: this.keys.publicKey });
  }

  async fileKey() {
    await this.sendKey();
    this.status('Exchanging keys...');
    const peer = await this.peerKey.promise;
    return deriveFileKey(this.keys.pair.privateKey, peer, this.id);
  }

  // Both sides: leave the direct path (if on it) and go through the relay.
  async switchToRelay(why) {
    if (this.ended || this.path === 'relay') return;
    const wasDirect = this.path === 'direct';
    this.setPath('relay');
    clearTimeout(this.directTimer);
    if (this.pc) this.pc.close();
    this.pc = null;
    this.dc = null;
    if (this.role === 'sender' && wasDirect) this.signal({ kind: 'relay' });
    if (why) this.status(`${why}; using the encrypted relay`);
    if (this.role === 'recipient') {
      this.received = 0;
      return this.receiveRelay();
    }
    this.started = true;
    return this.sendRelay();
  }

  // Sender: encrypt, upload through the chunk API, bind to the transfer.
  async sendRelay() {
    const key = await this.fileKey();
    if (this.ended) return;
    this.status('Encrypting and uploading to the relay...');
    const total = encryptedSize(this.size);
    const init = await this.api.post('/files/upload/init', {
      filename: `${this.id}.hsp2p`, file_size: total, content_type: 'application/octet-stream' });
    const uid = init.upload_id;
    const cs = init.chunk_size;
    let uploaded = 0;
    this.progress(0, 'relay');
    const put = async (n, blob) => {
      for (let attempt = 0; ; attempt += 1) {
        try {
          await this.api.request('PUT', `/files/upload/${uid}/chunks/${n}`, {
            body: blob, headers: { 'Content-Type': 'application/octet-stream' } });
          break;
        } catch (e) {
          if (attempt >= 2 || this.ended || (e.status && e.status < 500 && e.status !== 429)) throw e;
          await sleep(500 * (attempt + 1));
        }
      }
      uploaded += blob.size;
      this.progress(Math.min(this.size, Math.floor((uploaded * this.size) / total)), 'relay');
    };
    const inflight = new Set();
    let failed = null;
    let parts = [];
    let partLen = 0;
    let n = 0;
    const flush = async (final) => {
      while (partLen >= cs || (final && partLen > 0)) {
        const all = new Blob(parts);
        const piece = all.slice(0, cs);
        const rest = all.slice(cs);
        parts = rest.size ? [rest] : [];
        partLen = rest.size;
        const job = put(n, piece).catch((e) => {
          failed = failed || e;
        });
        n += 1;
        inflight.add(job);
        job.finally(() => inflight.delete(job));
        while (inflight.size >= this.engine.uploadParallel) await Promise.race(inflight);
        if (failed) throw failed;
        if (this.ended) return;
      }
    };
    // Until the relay is bound, a failure or a cancel leaves an upload (or
    // a file) of the sender's behind: remove it.
    let file = null;
    try {
      for await (const part of encryptBlob(this.file, key)) {
        if (this.ended) break;
        parts.push(part);
        partLen += part.length;
        if (partLen >= cs) await flush(false);
      }
      if (!this.ended) await flush(true);
      await Promise.all(inflight);
      if (failed) throw failed;
      if (this.ended) throw new P2PError('cancelled', 'The transfer ended during the upload');
      file = await this.api.post('/files/upload/complete', { upload_id: uid });
      this.merge(await this.api.post(`/p2p/${this.id}/relay`, { file_id: file.id }));
    } catch (e) {
      await Promise.all(inflight);
      const gone = file ? this.api.del(`/files/${file.id}`) : this.api.del(`/files/upload/${uid}`);
      await gone.catch(() => {});
      if (this.ended) return;
      throw e;
    }
    this.progress(this.size, 'relay');
    if (!this.ended) this.status('Uploaded (encrypted); waiting for the recipient...');
  }

  // Recipient: wait for the relay, download, decrypt, check, complete.
  async receiveRelay() {
    const key = await this.fileKey();
    if (this.ended) return;
    if (!this.info.relay_file_id) {
      this.status('Waiting for the sender to upload (encrypted)...');
      await this.relayReady.promise;
    }
    if (this.ended) return;
    this.status('Downloading and decrypting...');
    const res = await this.api.request('GET', `/p2p/${this.id}/download`, { raw: true });
    const expect = encryptedSize(this.size);
    const len = res.headers.get('Content-Length');
    if (len !== null && Number(len) !== expect) {
      return this.fail('bad_ciphertext', `The relayed file has ${len} bytes, not ${expect}`);
    }
    const dec = new RelayDecryptor(key, this.buf, (done) => this.progress(done, 'relay'));
    this.progress(0, 'relay');
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (this.ended) {
          reader.cancel();
          return;
        }
        await dec.push(value);
      }
      await dec.finish();
    } catch (e) {
      if (e instanceof RelayError) return this.fail(e.code, e.message);
      throw e;
    }
    return this.completeWith(this.buf);
  }

  // Recipient: the whole file is in; hash it and tell the server.
  async completeWith(buf) {
    this.status('Checking the file (SHA-256)...');
    const sha256 = await sha256Hex(buf);
    const blob = new Blob([buf]);
    this.buf = null;
    this.result = { blob, sha256, filename: this.info.filename, size: this.size };
    let info;
    for (let attempt = 0; ; attempt += 1) {
      try {
        info = await this.api.post(`/p2p/${this.id}/complete`, { sha256 });
        break;
      } catch (e) {
        // The sender's first progress report may still be on its way.
        if (e.code === 'invalid_transition' && /accepted/.test(e.hint) && attempt < 10) {
          await sleep(200);
          continue;
        }
        if (e.code === 'sha256_mismatch') {
          this.result = null;
          return this.end(new P2PError('failed', 'The file arrived damaged: its SHA-256 is not the one the sender declared', 'sha256_mismatch'));
        }
        throw e;
      }
    }
    this.merge(info);
    if (this.info.state === 'completed') this.finish();
  }
}
