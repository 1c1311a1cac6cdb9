// A small client of the Hypersend REST API (www/openapi.json): fetch with the
// access token, the API's errors as ApiError (error.code / message / hint),
// and a refresh of the token pair when the access token has expired.
//
//   import { Api } from '/js/api.js';
//   const api = new Api({ onTokens: (s) => sessionStorage.setItem('hs', JSON.stringify(s)) });
//   await api.login('alice', 'correct horse battery staple');
//   const me = await api.get('/auth/me');
//
// Paths are relative to /api/v1. Nothing is kept beyond the tokens and the
// signed-in user, which the caller may persist through onTokens.

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

export class Api {
  // base: the server's origin ('' for the page's own); session: a previous
  // {access_token, refresh_token, user} to resume; onTokens(session | null)
  // is called whenever the tokens change (sign-in, refresh, sign-out).
  constructor({ base = '', session = null, onTokens = null } = {}) {
    this.base = base;
    this.session = session;
    this.onTokens = onTokens;
    this.refreshing = null;
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
    if (res.status === 401 && auth && this.session && this.session.refresh_token) {
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
    try {
      return await fetch(this.url(path), { method, headers: h, body: payload, signal });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(0, 'network_error', `The server could not be reached (${e.message})`);
    }
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
    this.setSession({ access_token: b.access_token, refresh_token: b.refresh_token,
      session_id: b.session_id, user });
    return user;
  }

  async login(username, password) {
    return this.adopt(await this.post('/auth/login', { username, password }, { auth: false }));
  }

  async register(username, email, password) {
    return this.adopt(await this.post('/auth/register', { username, email, password },
      { auth: false }));
  }

  // Rotates the token pair (single-use refresh tokens); concurrent callers
  // share one refresh, as a second use of the same refresh token would
  // revoke the session.
  refresh() {
    if (!this.refreshing) {
      const rt = this.session && this.session.refresh_token;
      this.refreshing = (async () => {
        if (!rt) throw new ApiError(401, 'not_signed_in', 'You are not signed in');
        try {
          const t = await this.post('/auth/refresh', { refresh_token: rt }, { auth: false });
          this.setSession({ ...this.session, access_token: t.access_token,
            refresh_token: t.refresh_token, session_id: t.session_id });
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
