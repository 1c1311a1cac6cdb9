// A small client of the Hypersend REST API (www/openapi.json): fetch with the
// access token, the API's errors as ApiError (error.code / message / hint),
// and a refresh of the token pair when the access token has expired.
//
//   import { Api } from '/js/api.js';
//   const api = new Api({ onTokens: (s) => sessionStorage.setItem('hs', JSON.stringify(s)) });
//   await api.login('alice', 'correct horse battery staple');
//   const me = await api.get('/auth/me');
//
// Paths are relative to /api/v1. Nothing is kept beyond the access token and
// the signed-in user, which the caller may persist through onTokens. The
// refresh token is out of script's reach: the server keeps it in an HttpOnly
// cookie scoped to /api/v1/auth/refresh (sign-in sends "cookie": true), so
// what onTokens persists is no more than a short-lived access token. A
// session from before (one holding a refresh_token) moves to the cookie at
// its next refresh.

export const API_PREFIX = '/api/v1';

// One error of the API: {"error":{"status","code","message","hint"}}. A
// network failure is an ApiError too, with status 0 and code
// "network_error".
export class ApiError extends Error {
  constructor(status, code, message, hint = '') {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.hint = hint;
  }

  // "message (code)", plus the hint when there is one: what a page shows.
  describe() {
    const hint = this.hint ? ` ${this.hint}.` : '';
    return `${this.message} (${this.code}).${hint}`;
  }
}

// What a person should read for an error of the API (or anything else).
export function describe(e) {
  if (e instanceof ApiError) return e.describe();
  return (e && e.message) || String(e);
}

// Reads an error body; anything else than the API's shape (a proxy's HTML
// page) becomes http_<status>.
async function errorOf(res) {
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  const e = body && body.error;
  if (e && typeof e.code === 'string') {
    return new ApiError(res.status, e.code, e.message || e.code, e.hint || '');
  }
  return new ApiError(res.status, `http_${res.status}`, `The server answered ${res.status} ${res.statusText}`);
}

// A session object with the refresh token when the server gave one (a
// client that did not ask for the cookie), else marked as renewed by cookie.
function withRefresh(session, refreshToken) {
  const s = { ...session };
  delete s.refresh_token;
  delete s.cookie;
  if (refreshToken) s.refresh_token = refreshToken;
  else s.cookie = true;
  return s;
}

// The user id (sub) of an access token, or null when unreadable.
function subOf(token) {
  try {
    const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(b64)).sub || null;
  } catch (e) {
    return null;
  }
}

export class Api {
  // base: the server's origin ('' for the page's own); session: a previous
  // {access_token, session_id, user, cookie} to resume; onTokens(session |
  // null) is called whenever the tokens change (sign-in, refresh, sign-out);
  // cookie: false keeps the refresh token in the session instead (for a
  // client on another origin, where the cookie is not sent).
  constructor({ base = '', session = null, onTokens = null, cookie = true } = {}) {
    this.base = base;
    this.session = session;
    this.onTokens = onTokens;
    this.cookie = cookie;
    this.refreshing = null;
    this.inflight = new Set(); // AbortControllers of the requests under way
  }

  // Whether the session can be renewed (a refresh token, or the cookie).
  get canRefresh() {
    const s = this.session;
    return !!(s && (s.refresh_token || s.cookie));
  }

  get token() {
    return this.session ? this.session.access_token : null;
  }

  get user() {
    return this.session ? this.session.user : null;
  }

  url(path) {
    return `${this.base}${API_PREFIX}${path}`;
  }

  // Sends one request. opts: json (a body sent as JSON), body (sent as is:
  // a Blob, an ArrayBuffer...), headers, signal, auth (default true), raw
  // (return the Response instead of its JSON). 2xx answers JSON (or null for
  // an empty body); anything else throws ApiError. A 401 token_expired is
  // retried once after refreshing the tokens.
  async request(method, path, opts = {}) {
    const { auth = true, raw = false } = opts;
    let res = await this.send(method, path, opts);
    if (res.status === 401 && auth && this.canRefresh) {
      const err = await errorOf(res.clone());
      if (err.code === 'token_expired') {
        await this.refresh();
        res = await this.send(method, path, opts);
      }
    }
    if (!res.ok) throw await errorOf(res);
    if (raw) return res;
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  async send(method, path, { json, body, headers = {}, signal, auth = true } = {}) {
    const h = { ...headers };
    let payload = body;
    if (json !== undefined) {
      h['Content-Type'] = 'application/json';
      payload = JSON.stringify(json);
    }
    if (auth && this.token) h.Authorization = `Bearer ${this.token}`;
    // A request with the access token can be aborted by abortAll() as well
    // as by its caller (not a refresh: its answer carries the next cookie).
    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    if (signal) {
      if (signal.aborted) ctl.abort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    if (h.Authorization) this.inflight.add(ctl);
    try {
      return await fetch(this.url(path), { method, headers: h, body: payload, signal: ctl.signal,
        credentials: 'same-origin' });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(0, 'network_error', `The server could not be reached (${e.message})`);
    } finally {
      this.inflight.delete(ctl);
      if (signal) signal.removeEventListener('abort', onAbort);
    }
  }

  // Aborts every request with the access token under way (their promises
  // reject with an AbortError): at sign-out, so that none of them comes
  // back with the 401 of a session that has just ended.
  abortAll() {
    for (const ctl of this.inflight) ctl.abort();
    this.inflight.clear();
  }

  get(path, opts) {
    return this.request('GET', path, opts);
  }

  post(path, json = {}, opts = {}) {
    return this.request('POST', path, { ...opts, json });
  }

  put(path, json = {}, opts = {}) {
    return this.request('PUT', path, { ...opts, json });
  }

  del(path, opts) {
    return this.request('DELETE', path, opts);
  }

  // -- accounts --------------------------------------------------------------

  setSession(session) {
    this.session = session;
    if (this.onTokens) this.onTokens(session);
  }

  // The answer of register and login: tokens and who signed in.
  adopt(b) {
    const user = { id: b.id, username: b.username, email: b.email, role: b.role };
    this.setSession(withRefresh({ access_token: b.access_token, session_id: b.session_id, user },
      b.refresh_token));
    return user;
  }

  // The opt-in to the refresh-token cookie, added to a body.
  withCookie(body) {
    return this.cookie ? { ...body, cookie: true } : body;
  }

  async login(username, password) {
    return this.adopt(await this.post('/auth/login', this.withCookie({ username, password }),
      { auth: false }));
  }

  async register(username, email, password) {
    return this.adopt(await this.post('/auth/register',
      this.withCookie({ username, email, password }), { auth: false }));
  }

  // Rotates the token pair (single-use refresh tokens); concurrent callers
  // share one refresh, as a second use of the same refresh token would
  // revoke the session. With the cookie the body carries no token (the
  // browser sends the cookie); a refresh token still in the session (from
  // before the cookie) is spent once to move the session to the cookie.
  refresh() {
    if (!this.refreshing) {
      const s = this.session;
      this.refreshing = (async () => {
        if (!this.canRefresh) throw new ApiError(401, 'not_signed_in', 'You are not signed in');
        try {
          const body = this.withCookie(s.refresh_token ? { refresh_token: s.refresh_token } : {});
          const t = await this.post('/auth/refresh', body, { auth: false });
          const user = this.session && this.session.user;
          if (user && subOf(t.access_token) && subOf(t.access_token) !== user.id) {
            // The cookie belongs to another account signed in since, in
            // another page of this browser: this session is over.
            throw new ApiError(401, 'session_replaced', 'Another account signed in in this browser');
          }
          const next = { ...this.session, access_token: t.access_token, session_id: t.session_id };
          this.setSession(withRefresh(next, t.refresh_token));
        } catch (e) {
          if (e.status === 401 || e.status === 403) this.setSession(null);
          throw e;
        }
      })().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  // Signs out on the server (best effort) and forgets the tokens.
  async logout() {
    try {
      if (this.token) await this.post('/auth/logout');
    } catch (e) {
      // the session is forgotten here whatever the server said
    }
    this.setSession(null);
  }

  me() {
    return this.get('/auth/me');
  }

  searchUsers(q, limit = 10) {
    return this.get(`/users/search?q=${encodeURIComponent(q)}&limit=${limit}`);
  }
}
