// The relay format of P2P transfers (docs/p2p.md, "Relay mode, end-to-end
// encrypted"): ephemeral ECDH P-256 keys exchanged over signaling, the file
// key HKDF-SHA256(shared secret, salt = transfer id, info =
// "hypersend-p2p-v1"), and the file cut into 64 KiB chunks sealed with
// AES-256-GCM under a 16-byte header:
//
//   header: "HSP2P1" 0x00 0x00 | chunk_size (u32 BE) | 0x00000000
//   chunk i: ciphertext || tag, nonce = 0x00000000 | i (u64 BE),
//            aad = header | i (u64 BE) | last (0x01 for the final chunk)
//
// WebCrypto only (browsers, and Node 20 for the tests). The server never
// sees the key: it stores and serves what encryptBlob produces.

export const CHUNK_SIZE = 65536;
export const HKDF_INFO = 'hypersend-p2p-v1';
const MAGIC = [0x48, 0x53, 0x50, 0x32, 0x50, 0x31, 0x00, 0x00]; // "HSP2P1" 0 0
const TAG = 16;
const MIB = 1024 * 1024;

// A relayed file that cannot be used: code "bad_key", "bad_ciphertext" or
// "decrypt_failed".
export class RelayError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'RelayError';
    this.code = code;
  }
}

const enc = new TextEncoder();

export function b64url(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 1) s += String.fromCharCode(bytes[i]);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function unb64url(text) {
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i += 1) out[i] = s.charCodeAt(i);
  return out;
}

export function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

// The 16-byte header: "HSP2P1" 0x00 0x00 | chunk_size (u32 BE) | 0x00000000.
export function relayHeader(chunkSize = CHUNK_SIZE) {
  const h = new Uint8Array(16);
  h.set(MAGIC, 0);
  new DataView(h.buffer).setUint32(8, chunkSize, false);
  return h;
}

export function chunkCount(size, chunkSize = CHUNK_SIZE) {
  return Math.max(1, Math.ceil(size / chunkSize));
}

// The uploaded file's size: 16 + size + 16 * max(1, ceil(size / chunk_size)).
export function encryptedSize(size, chunkSize = CHUNK_SIZE) {
  return 16 + size + TAG * chunkCount(size, chunkSize);
}

function nonceOf(i) {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, BigInt(i), false);
  return n;
}

function aadOf(header, i, last) {
  const a = new Uint8Array(25);
  a.set(header, 0);
  new DataView(a.buffer).setBigUint64(16, BigInt(i), false);
  a[24] = last ? 1 : 0;
  return a;
}

// An ephemeral ECDH P-256 pair and its public key as the signal carries it
// (base64url of the 65-byte uncompressed point).
export async function makeKeyPair() {
  const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false,
    ['deriveBits']);
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  return { pair, publicKey: b64url(raw) };
}

// The file key: HKDF-SHA256(ECDH shared secret, salt = transfer id,
// info = "hypersend-p2p-v1"), 32 bytes, as an AES-256-GCM key.
export async function deriveFileKey(privateKey, peerPublicB64, transferId) {
  let peer;
  try {
    const raw = unb64url(peerPublicB64);
    if (raw.length !== 65 || raw[0] !== 4) throw new Error('not an uncompressed P-256 point');
    peer = await crypto.subtle.importKey('raw', raw, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
  } catch (e) {
    throw new RelayError('bad_key', 'The peer sent a malformed public key');
  }
  const secret = await crypto.subtle.deriveBits({ name: 'ECDH', public: peer }, privateKey, 256);
  const ikm = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: enc.encode(transferId), info: enc.encode(HKDF_INFO) },
    ikm, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

export async function encryptChunk(key, header, i, last, plain) {
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: nonceOf(i), additionalData: aadOf(header, i, last), tagLength: 128 },
    key, plain);
  return new Uint8Array(ct);
}

export async function decryptChunk(key, header, i, last, sealed) {
  try {
    const pt = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: nonceOf(i), additionalData: aadOf(header, i, last), tagLength: 128 },
      key, sealed);
    return new Uint8Array(pt);
  } catch (e) {
    throw new RelayError('decrypt_failed', `Chunk ${i} of the relayed file does not decrypt (tampered, truncated or another key)`);
  }
}

// Encrypts a Blob (a File) into the relay format, yielding Uint8Arrays in
// order: the header, then each chunk's ciphertext || tag. Reads the file a
// few MiB at a time and encrypts those chunks concurrently.
export async function* encryptBlob(blob, key, chunkSize = CHUNK_SIZE) {
  const header = relayHeader(chunkSize);
  yield header;
  const n = chunkCount(blob.size, chunkSize);
  const perRead = Math.max(1, Math.floor((4 * MIB) / chunkSize));
  for (let first = 0; first < n; first += perRead) {
    const last = Math.min(n, first + perRead);
    const buf = new Uint8Array(await blob.slice(first * chunkSize, last * chunkSize).arrayBuffer());
    const jobs = [];
    for (let i = first; i < last; i += 1) {
      const off = (i - first) * chunkSize;
      jobs.push(encryptChunk(key, header, i, i === n - 1, buf.subarray(off, off + chunkSize)));
    }
    for (const sealed of await Promise.all(jobs)) yield sealed;
  }
}

// Decrypts the relay format fed in pieces of any size (as a download
// arrives) into `out` (a Uint8Array of the plaintext's size, which the
// transfer declares). push() resolves once the complete chunks in hand are
// decrypted (a few run concurrently); finish() checks nothing is missing
// or left over. onChunk(bytesDone) reports progress.
export class RelayDecryptor {
  constructor(key, out, onChunk = null) {
    this.key = key;
    this.out = out;
    this.size = out.length;
    this.onChunk = onChunk;
    this.pieces = [];
    this.have = 0;
    this.header = null;
    this.chunkSize = 0;
    this.count = 0;
    this.next = 0; // next chunk index to start
    this.done = 0; // plaintext bytes written
    this.inflight = [];
  }

  take(n) {
    const buf = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const p = this.pieces[0];
      const k = Math.min(p.length, n - at);
      buf.set(p.subarray(0, k), at);
      at += k;
      if (k === p.length) this.pieces.shift();
      else this.pieces[0] = p.subarray(k);
    }
    this.have -= n;
    return buf;
  }

  parseHeader() {
    const h = this.take(16);
    const dv = new DataView(h.buffer);
    if (MAGIC.some((b, i) => h[i] !== b) || dv.getUint32(12) !== 0) {
      throw new RelayError('bad_ciphertext', 'The relayed file does not start with the HSP2P1 header');
    }
    const cs = dv.getUint32(8);
    if (cs < 1 || cs > 16 * MIB) throw new RelayError('bad_ciphertext', `Unusable chunk size ${cs} in the relayed file`);
    this.header = h;
    this.chunkSize = cs;
    this.count = chunkCount(this.size, cs);
  }

  async push(bytes) {
    if (bytes.length) {
      this.pieces.push(bytes);
      this.have += bytes.length;
    }
    if (!this.header) {
      if (this.have < 16) return;
      this.parseHeader();
    }
    while (this.next < this.count) {
      const i = this.next;
      const plainLen = i < this.count - 1 ? this.chunkSize : this.size - i * this.chunkSize;
      if (this.have < plainLen + TAG) break;
      const sealed = this.take(plainLen + TAG);
      this.next += 1;
      const job = decryptChunk(this.key, this.header, i, i === this.count - 1, sealed).then((pt) => {
        this.out.set(pt, i * this.chunkSize);
        this.done += pt.length;
        if (this.onChunk) this.onChunk(this.done);
      });
      job.catch(() => {});
      this.inflight.push(job);
      if (this.inflight.length >= 8) await this.inflight.shift();
    }
  }

  async finish() {
    await this.push(new Uint8Array(0));
    while (this.inflight.length) await this.inflight.shift();
    if (!this.header || this.next < this.count) {
      throw new RelayError('bad_ciphertext', 'The relayed file is truncated');
    }
    if (this.have) throw new RelayError('bad_ciphertext', `The relayed file has ${this.have} bytes too many`);
  }
}
