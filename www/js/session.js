// The browser's one signed-in session, shared by every page of the origin
// (the shell of index.html and the standalone p2p.html): the access token
// and who signed in, kept in localStorage so a reload and the other tabs
// stay signed in. The refresh token is never in reach of page script: the
// server keeps it in an HttpOnly cookie (see js/api.js), and a cookie is one
// per browser, so every page must use this one session too.
//
//   const api = new SessionApi({ session: loadSession(), onTokens: saveSession });

import { Api, ApiError } from './api.js';

export const SESSION_KEY = 'hs.session';
const REFRESH_LOCK = 'hs.refresh';
// 401 codes after which the session cannot be used again.
export const SESSION_GONE = new Set(['token_revoked', 'invalid_token', 'missing_token',
  'not_signed_in', 'account_disabled', 'user_disabled']);

// The stored session, or null.
export function loadSession() {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY));
  } catch (e) {
    return null;
  }
}

// Stores what the tabs share (null forgets it). The access token lives at
// most its 15 minutes and page script could use it from memory just as
// well, so localStorage gives a thief nothing that lasts; what lasts (the
// refresh token) is in the HttpOnly cookie, and is never written here.
export function saveSession(session) {
  if (session) {
    const { refresh_token: dropped, ...shared } = session;
    localStorage.setItem(SESSION_KEY, JSON.stringify(shared));
  } else {
    localStorage.removeItem(SESSION_KEY);
  }
}

// Seconds left on a JWT by this machine's clock (negative once expired;
// Infinity when unreadable: the server will say).
function tokenTtl(token) {
  try {
    const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const exp = JSON.parse(atob(b64)).exp;
    return Number.isFinite(exp) ? exp - Date.now() / 1000 : Infinity;
  } catch (e) {
    return Infinity;
  }
}

// The Api of a page on the shared session: tabs of one browser share the
// session (and the cookie), so a refresh (which spends the refresh token)
// runs under a lock across tabs and first looks whether another tab has
// just renewed the access token; a 401 that means the session is gone
// (revoked elsewhere, signed out) calls onGone, when set.
export class SessionApi extends Api {
  constructor(opts) {
    super(opts);
    this.shared = null;
    this.onGone = null;
  }

  // Renews an access token that has expired (or is about to) before
  // sending, rather than after the server's 401 token_expired (which api.js
  // still handles, e.g. when this machine's clock is wrong).
  async request(method, path, opts = {}) {
    if (opts.auth !== false && this.canRefresh && tokenTtl(this.session.access_token) < 5) {
      try {
        await this.refresh();
      } catch (e) {
        if (!(e instanceof ApiError) || e.status === 0) throw e;
        // refused: the session has ended (onTokens(null) has said so)
      }
    }
    try {
      return await super.request(method, path, opts);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401 && opts.auth !== false
        && SESSION_GONE.has(e.code) && this.onGone) this.onGone(e);
      throw e;
    }
  }

  refresh() {
    if (!this.shared) {
      const run = () => this.refreshShared();
      const locked = navigator.locks ? navigator.locks.request(REFRESH_LOCK, run) : run();
      this.shared = locked.finally(() => {
        this.shared = null;
      });
    }
    return this.shared;
  }

  async refreshShared() {
    const stored = loadSession();
    const mine = this.session;
    if (stored && mine && stored.access_token !== mine.access_token
      && stored.user && mine.user && stored.user.id === mine.user.id
      && tokenTtl(stored.access_token) > 30) {
      this.session = stored; // another tab renewed it: use its token
      return;
    }
    await super.refresh();
  }
}

// The stored session resumed: a session saved before the cookie still
// holds its refresh token in storage, spent at once for the cookie (and
// forgotten); then who is signed in (GET /auth/me). A 401 or 403 means the
// session is over: it is forgotten and the error thrown; so is any other
// error (the server unreachable), the session kept. Null when none is stored.
export async function resumeSession(api) {
  if (!api.session) return null;
  try {
    if (api.session.refresh_token) await api.refresh();
    return await api.me();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) saveSession(null);
    throw e;
  }
}
