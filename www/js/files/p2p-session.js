// The P2P engine (js/p2p.js) of the signed-in session, on the shell's own
// Api and Socket (no second socket): made on first use and kept while the
// session lasts, so transfers go on when the Send view is left and show again
// when it comes back. It also keeps the incoming offers and the transfers of
// this page.
//
//   const s = p2pFor(ctx);
//   s.on('offers', () => ...);          // s.offers: Map id -> offer
//   s.on('transfer', (entry) => ...);   // entry: {tx, peer}
//
// The URL may carry ?relay_after=<ms>: how long mode "auto" waits for the
// direct connection (15000 by default).

import { P2P } from '../p2p.js';
import { Emitter } from '../ws.js';
import { perSession } from './per-session.js';

class P2PSession extends Emitter {
  constructor(ctx) {
    super();
    this.ctx = ctx;
    this.socket = ctx.socket;
    const relayAfter = Number(new URLSearchParams(location.search).get('relay_after')) || 15000;
    this.engine = new P2P({ api: ctx.api, socket: ctx.socket, relayAfterMs: relayAfter });
    this.offers = new Map(); // id -> transfer.offer data
    this.entries = []; // [{tx, peer}], newest first
    this.gone = []; // lines about offers withdrawn or expired
    this.offs = [];
    this.offs.push(this.engine.on('offer', (t) => this.addOffer(t)));
    this.offs.push(this.engine.on('update', (type, info) => {
      if (type !== 'transfer.offer') this.removeOffer(info.id, type);
    }));
    this.offs.push(this.engine.on('resync', () => this.loadOffers()));
    this.offs.push(ctx.socket.on('hello', () => this.loadOffers()));
    if (ctx.socket.connected) this.loadOffers();
  }

  addOffer(t) {
    if (!t || t.state !== 'pending' || this.offers.has(t.id) || this.entries.some((e) => e.tx.id === t.id)) return;
    this.offers.set(t.id, t);
    this.emit('offers');
  }

  removeOffer(id, type = null) {
    const t = this.offers.get(id);
    if (!t) return;
    this.offers.delete(id);
    const verb = { 'transfer.cancelled': 'withdrew', 'transfer.expired': 'let expire' }[type];
    if (verb) {
      const who = (t.sender && (t.sender.display_name || t.sender.username)) || 'Someone';
      this.emit('notice', `${who} ${verb} the offer of ${t.filename}.`);
    }
    this.emit('offers');
  }

  // Offers made while no page of this session was open.
  async loadOffers() {
    try {
      const list = await this.engine.pendingOffers();
      for (const t of list) {
        if (!t.sender) {
          try {
            const u = await this.ctx.api.get(`/users/${t.sender_id}`);
            t.sender = { id: u.id, username: u.username, display_name: u.display_name };
          } catch (e) {
            t.sender = { id: t.sender_id, username: 'someone', display_name: '' };
          }
        }
        this.addOffer(t);
      }
    } catch (e) {
      this.emit('notice', `Your offers could not be loaded: ${this.ctx.describe(e)}`);
    }
  }

  track(tx, peer) {
    const entry = { tx, peer, url: null };
    this.entries.unshift(entry);
    this.emit('transfer', entry);
    return entry;
  }

  async send(file, to, mode) {
    const tx = await this.engine.send(file, to.id, { mode });
    return this.track(tx, to);
  }

  async accept(offer) {
    const tx = await this.engine.accept(offer);
    this.offers.delete(offer.id);
    this.emit('offers');
    return this.track(tx, offer.sender || null);
  }

  async reject(offer) {
    await this.engine.reject(offer.id);
    this.offers.delete(offer.id);
    this.emit('offers');
  }

  destroy() {
    for (const off of this.offs) off();
    this.engine.destroy();
    for (const e of this.entries) if (e.url) URL.revokeObjectURL(e.url);
    this.entries = [];
  }
}

const sessions = perSession((ctx) => new P2PSession(ctx),
  (s, ctx) => s.ctx === ctx && s.socket === ctx.socket);

// The P2PSession of ctx's session (a new session ends the old one's).
export const p2pFor = (ctx) => sessions.of(ctx);

// For sign-out: end the session's transfers and forget its offers.
export const stopP2P = () => sessions.stop();
