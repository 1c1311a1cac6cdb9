"""Rate limits, each on a stack of its own with small limits (bursts of 3
failed logins per account, 5 per address, 3 registrations per address; one
more allowed per 60 s)."""
from hsapi import API, PASSWORD, assert_error, assert_ok, uniq

SMALL = {
    "HS_LOGIN_ACCOUNT_BURST": "3", "HS_LOGIN_ACCOUNT_PERIOD": "60",
    "HS_LOGIN_IP_BURST": "5", "HS_LOGIN_IP_PERIOD": "60",
    "HS_REGISTER_IP_BURST": "3", "HS_REGISTER_IP_PERIOD": "60",
}
LOGIN = f"{API}/auth/login"


def assert_limited(r):
    assert_error(r, 429, "rate_limited")
    retry = r.headers.get("Retry-After")
    assert retry is not None and retry.isdigit(), f"Retry-After: {retry!r}"
    assert 1 <= int(retry) <= 60
    assert "access_token" not in r.text


def login(s, ident, password, by="username"):
    return s.post(LOGIN, json={by: ident, "password": password})


def test_login_failures_per_account(make_stack):
    s = make_stack(**SMALL)
    u, other = s.register(), s.register()
    # successes cost nothing, even past both bursts
    for _ in range(6):
        assert login(s, u.username, PASSWORD).status_code == 200
    for _ in range(3):
        assert_error(login(s, u.username, "wrong password 123"), 401, "invalid_credentials")
    assert_limited(login(s, u.username, "wrong password 123"))
    # once limited, even the right password is refused
    assert_limited(login(s, u.username, PASSWORD))
    assert_limited(login(s, u.username.upper(), PASSWORD))
    # per account: another account from the same address is fine
    assert login(s, other.username, PASSWORD).status_code == 200
    # and the limited account's live sessions are untouched
    assert s.me(u.access).status_code == 200


def test_login_failures_per_account_whatever_the_identifier(make_stack):
    """The account is the same whether it is named by username or email: the
    failures counted against one must limit the other."""
    s = make_stack(**SMALL)
    u = s.register()
    for _ in range(3):
        assert_error(login(s, u.username, "wrong password 123"), 401, "invalid_credentials")
    assert_limited(login(s, u.username, PASSWORD))
    assert_limited(login(s, u.email, PASSWORD, by="email"))


def test_login_failures_per_address(make_stack):
    s = make_stack(**SMALL)
    u = s.register()
    # five failures, each on a different (unknown) account, each claiming
    # another client address (not trusted: trust_proxy is off)
    for i in range(5):
        r = s.post(LOGIN, json={"username": uniq("ghost"), "password": "wrong password 123"},
                   headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})
        assert_error(r, 401, "invalid_credentials")
    assert_limited(login(s, uniq("ghost"), "wrong password 123"))
    assert_limited(s.post(LOGIN, json={"username": uniq("ghost"), "password": "x" * 12},
                          headers={"X-Forwarded-For": "198.51.100.7"}))
    # a real account with the right password, never failed itself
    assert_limited(login(s, u.username, PASSWORD))
    assert_limited(login(s, u.email, PASSWORD, by="email"))
    # tokens already issued keep working
    assert s.me(u.access).status_code == 200


def test_registrations_per_address(make_stack):
    s = make_stack(**SMALL)
    made = [s.register() for _ in range(3)]
    r = s.post(f"{API}/auth/register", json={"username": uniq(), "email": f"{uniq()}@example.com",
                                             "password": PASSWORD})
    assert_limited(r)
    assert "id" not in r.json()
    # the limit is on creating accounts, not on using them
    assert login(s, made[0].username, PASSWORD).status_code == 200


def test_email_probing_is_limited(make_stack):
    """Asking whether an email is registered (409 email_taken) spends the
    same budget, so addresses cannot be enumerated at speed."""
    s = make_stack(**SMALL)
    known = s.register()
    for _ in range(2):
        r = s.post(f"{API}/auth/register", json={"username": uniq(), "email": known.email,
                                                 "password": PASSWORD})
        assert_error(r, 409, "email_taken")
    r = s.post(f"{API}/auth/register", json={"username": uniq(), "email": known.email,
                                             "password": PASSWORD})
    assert_limited(r)


def test_behind_a_trusted_proxy_the_rightmost_forwarded_address_counts(make_stack):
    """trust_proxy = 1: the proxy appends the address it saw to
    X-Forwarded-For; what is left of it is the client's to write. Rotating
    a fake leftmost entry must not escape the per-address limit."""
    s = make_stack(HS_TRUST_PROXY="1", **SMALL)
    u = s.register()
    for i in range(5):
        r = s.post(LOGIN, json={"username": uniq("ghost"), "password": "wrong password 123"},
                   headers={"X-Forwarded-For": f"203.0.113.{i + 1}, 198.51.100.9"})
        assert_error(r, 401, "invalid_credentials")
    for fake in ("203.0.113.77", "10.0.0.1,", "1.2.3.4 , 5.6.7.8"):
        r = s.post(LOGIN, json={"username": u.username, "password": PASSWORD},
                   headers={"X-Forwarded-For": f"{fake}, 198.51.100.9"})
        assert_limited(r)
    # another client behind the same proxy is not limited
    r = s.post(LOGIN, json={"username": u.username, "password": PASSWORD},
               headers={"X-Forwarded-For": "203.0.113.1, 198.51.100.10"})
    assert r.status_code == 200, r.text


def test_guess_limits_fail_closed_without_redis(make_stack):
    """The limits that protect accounts and secrets live in Redis; with
    Redis down, login, registration, password changes and share-link
    passwords are refused with 503 limiter_unavailable (Retry-After)
    instead of allowing unlimited guesses. Tokens already issued keep
    working (the store answers for them)."""
    from test_03_helpers import upload_file
    s = make_stack(**SMALL)
    u = s.register()
    f = upload_file(s, u, b"guarded bytes")
    link = assert_ok(s.post(f"{API}/files/{f['id']}/links", token=u.access,
                            json={"password": "open sesame"}), 201)
    s.kill_redis()
    for _ in range(8):
        r = login(s, u.username, "wrong password 123")
        e = assert_error(r, 503, "limiter_unavailable")
        assert r.headers.get("Retry-After", "").isdigit(), e
    assert_error(login(s, u.username, PASSWORD), 503, "limiter_unavailable")
    r = s.post(f"{API}/auth/register", json={"username": uniq(), "email": f"{uniq()}@example.com",
                                             "password": PASSWORD})
    assert_error(r, 503, "limiter_unavailable")
    r = s.put(f"{API}/auth/change-password", token=u.access,
              json={"old_password": "wrong password 123", "new_password": "another pass 456"})
    assert_error(r, 503, "limiter_unavailable")
    for _ in range(8):
        r = s.get(link["url"], headers={"X-Share-Password": "not it"})
        assert_error(r, 503, "limiter_unavailable")
    assert s.me(u.access).status_code == 200
    # Redis back (empty): the limits apply again
    s.start_redis()
    assert login(s, u.username, PASSWORD).status_code == 200
