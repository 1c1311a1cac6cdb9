"""Every front for real (issue 14): the same suite behind lighttpd, nginx
(the apps under spawn-fcgi, X-Accel-Redirect) and Apache 2.4 (mod_fcgid
starting the apps, mod_xsendfile, mod_proxy_wstunnel), one stack per front
(conf/stack.sh HS_FRONT=...), touching every route group: register, login
and refresh, the profile, the seed's three-step upload, tus with
tus-js-client, downloads with Range and If-None-Match sent by the front
(the app writes no body), share links, chat events over the WebSocket and
the long-poll, and a P2P offer accepted and relayed.

And each front's config checked against the apps' route tables (`hs-<app>
--routes`): every route's path goes to the app that serves it, in
conf/lighttpd.conf, conf/nginx.conf and conf/apache.conf, so a route a
config forgets fails here."""
import asyncio
import base64
import os
import re
import shutil
import signal
import socket
import threading
import time
from datetime import datetime, timezone

import pytest

from browser import random_file
from hsapi import API, ROOT, app_routes, assert_error, assert_ok
from p2p_helpers import download as p2p_download
from p2p_helpers import offer, step, upload_relay
from test_03_helpers import FILES, MIB, complete, init_upload, post_chunk, sha256
from test_03_tus_client import check_download, node, run_client  # noqa: F401 (node: fixture)
from conftest import Stack
from test_03_helpers import app_pids, kill_apps, start_stack, stop_stack
from test_04_helpers import direct, register_many, send
from wsclient import Clients, match, rest

FRONTS = ("lighttpd", "nginx", "apache")
APACHE_MODULES = "/usr/lib/apache2/modules"
# An override of the stack's environment (HS_<KEY>) that the apps must see,
# whoever starts them: P2P offers live this long (default 600).
OFFER_TTL = 777
# The FastCGI apps, as the Makefile builds them.
APPS = re.search(r"^APPS := (.+)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()


def missing(front):
    """What this machine lacks to run the front (conf/install-deps.sh test
    installs it all), or None."""
    need = {"lighttpd": ["lighttpd"], "nginx": ["nginx", "spawn-fcgi"],
            "apache": ["apache2"]}[front]
    lack = [b for b in need if not shutil.which(b) and not os.path.exists(f"/usr/sbin/{b}")]
    if front == "apache":
        lack += [m for m in ("mod_fcgid.so", "mod_xsendfile.so", "mod_proxy_wstunnel.so")
                 if not os.path.exists(os.path.join(APACHE_MODULES, m))]
    return ", ".join(lack) or None


@pytest.fixture(scope="module", params=FRONTS)
def front(request):
    """One stack per front (the main stack's generous limits, two bridges),
    stopped before the next front's starts."""
    lack = missing(request.param)
    if lack:
        pytest.fail(f"the {request.param} front needs {lack} (conf/install-deps.sh test)")
    s = start_stack(f"front-{request.param}", HS_FRONT=request.param,
                    HS_P2P_OFFER_TTL=OFFER_TTL)
    assert s.front == request.param
    yield s
    stop_stack(s)


def app_lines(stack, path):
    """The apps' access-log lines of requests for path."""
    return [ln for ln in stack.read_log().splitlines() if f" path={path} " in ln]


def via_front(stack, path, size, fetch):
    """fetch() downloads path; asserts that the front read the size bytes
    from the blob itself: the app's own answer (its access-log line, written
    after the reply: bytes=) had no body, and the handover header stayed
    inside the front. nginx keeps no header of the app's answer after the
    X-Accel-Redirect, so the line is found by path, not by X-Request-Id."""
    before = len(app_lines(stack, path))
    r = fetch()
    assert r.status_code in (200, 206), (r.status_code, r.text[:300])
    assert len(r.content) == size
    for h in ("X-Sendfile", "X-Accel-Redirect"):
        assert h not in r.headers, f"{h} reached the client: {r.headers[h]}"
    deadline = time.monotonic() + 5
    while len(app_lines(stack, path)) <= before:
        assert time.monotonic() < deadline, f"no access-log line for {path}"
        time.sleep(0.05)
    line = app_lines(stack, path)[before]
    assert " status=200 " in line and " bytes=0 " in line, line
    return r


# -- accounts -------------------------------------------------------------------------
def test_register_login_refresh(front):
    u = front.register(prefix="fr")
    me = assert_ok(front.me(u.access))
    assert me["id"] == u.id and me["username"] == u.username
    again = front.login(u)
    assert again.session_id != u.session_id
    b = assert_ok(front.post(f"{API}/auth/refresh", json={"refresh_token": again.refresh}))
    assert b["access_token"] != again.access and b["refresh_token"] != again.refresh
    assert assert_ok(front.me(b["access_token"]))["id"] == u.id
    # the spent refresh token is refused (a replay revokes the session)
    assert_error(front.post(f"{API}/auth/refresh", json={"refresh_token": again.refresh}), 401)
    assert_error(front.me("not-a-token"), 401)
    h = assert_ok(front.get("/health"))
    assert h["status"] == "ok"


def test_page_policy(front):
    """The web client's page comes with the page policy, once, behind every
    front; so does an app's JSON error."""
    for r in (front.get("/"), front.get(f"{API}/auth/me")):
        csp = r.headers.get("Content-Security-Policy", "")
        assert csp.count("frame-ancestors 'none'") == 1, (r.status_code, csp)
        assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_profile(front):
    u, other = register_many(front, 2, prefix="fp")
    b = assert_ok(front.put(f"{API}/users/{u.id}", token=u.access,
                            json={"display_name": "Zoë at the front", "bio": "hi"}))
    assert (b["display_name"], b["bio"]) == ("Zoë at the front", "hi")
    seen = assert_ok(front.get(f"{API}/users/{u.id}", token=other.access))
    assert seen["display_name"] == "Zoë at the front"
    found = assert_ok(front.get(f"{API}/users/search", token=other.access,
                                params={"q": u.username}))
    assert u.id in [x["id"] for x in found["items"]], found
    assert_error(front.put(f"{API}/users/{u.id}", token=other.access, json={"bio": "x"}), 403)


# -- files ------------------------------------------------------------------------------
def seed_upload(stack, user, data, filename):
    """The seed's three steps: init, each chunk as a multipart form, complete."""
    up = init_upload(stack, user, len(data), filename=filename)
    cs = up["chunk_size"]
    for n, i in enumerate(range(0, len(data), cs)):
        c = data[i:i + cs]
        b = assert_ok(post_chunk(stack, user, up["upload_id"], n, c, sha=sha256(c)))
        assert b["chunk_number"] == n, b
    return assert_ok(complete(stack, user, up["upload_id"]))


@pytest.fixture(scope="module")
def stored(front):
    """A user and a file of 1.5 chunks uploaded the seed's way."""
    u = front.register(prefix="ff")
    up = init_upload(front, u, 1, filename="probe.bin")
    data = os.urandom(up["chunk_size"] + up["chunk_size"] // 2)
    assert front.delete(f"{FILES}/upload/{up['upload_id']}", token=u.access).status_code == 204
    f = seed_upload(front, u, data, "report.bin")
    assert f["size"] == len(data) and f["filename"] == "report.bin"
    return u, f, data


def test_seed_upload_and_download(front, stored):
    u, f, data = stored
    path = f"{FILES}/{f['id']}"
    r = via_front(front, path, len(data), lambda: front.get(path, token=u.access))
    assert r.status_code == 200
    assert int(r.headers["Content-Length"]) == len(data)
    assert r.content == data
    assert "report.bin" in r.headers["Content-Disposition"]
    # user bytes stay passive behind every front: the app's sandbox policy
    # reaches the browser beside the front's page policy, with nosniff
    assert r.headers["Content-Disposition"].startswith("attachment")
    policies = [p.strip() for p in r.headers["Content-Security-Policy"].split(",")]
    assert "sandbox" in policies, r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    info = assert_ok(front.get(f"{FILES}/{f['id']}/info", token=u.access))
    assert info["size"] == len(data)
    assert f["id"] in [x["id"] for x in assert_ok(front.get(f"{FILES}/list",
                                                            token=u.access))["items"]]


def test_range_and_if_none_match(front, stored):
    u, f, data = stored
    path = f"{FILES}/{f['id']}"
    r = via_front(front, path, 1000, lambda: front.get(path, token=u.access,
                                                     headers={"Range": "bytes=100-1099"}))
    assert r.status_code == 206
    assert r.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert r.content == data[100:1100]
    r = front.get(f"{FILES}/{f['id']}", token=u.access, headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == data[-10:]
    etag = front.get(f"{FILES}/{f['id']}", token=u.access, stream=True).headers["ETag"]
    r = front.get(f"{FILES}/{f['id']}", token=u.access, headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    r = front.get(f"{FILES}/{f['id']}", token=u.access, headers={"If-None-Match": '"other"'})
    assert r.status_code == 200 and r.content == data
    # the app still decides who may read: another user gets its JSON 404
    stranger = front.register(prefix="fs")
    assert_error(front.get(f"{FILES}/{f['id']}", token=stranger.access), 404, "file_not_found")


def test_share_link(front, stored):
    u, f, data = stored
    link = assert_ok(front.post(f"{FILES}/{f['id']}/links", token=u.access,
                                json={"max_downloads": 5}), 201)
    r = via_front(front, link["url"], len(data), lambda: front.get(link["url"]))
    assert r.status_code == 200 and r.content == data
    r = front.get(link["url"], headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    links = assert_ok(front.get(f"{FILES}/{f['id']}/links", token=u.access))["items"]
    assert [x["downloads"] for x in links] == [2]
    assert front.delete(f"{FILES}/{f['id']}/links/{link['id']}",
                        token=u.access).status_code == 204
    assert_error(front.get(link["url"]), 404)


def test_tus_js_client(front, node, tmp_path):  # noqa: F811 (node is the fixture)
    u = front.register(prefix="ft")
    path = tmp_path / "tus.bin"
    size = 3 * MIB + 12345
    digest = random_file(path, size)
    out = run_client(node, front, u, path, "plain", "--chunk-size", str(MIB))
    run = out["runs"][0]
    assert out["size"] == size and run["bytes_sent"] == size
    assert run["posts"] == 1 and run["patches"] == 4, run
    assert all(s in ("POST 201", "PATCH 204") for s in run["statuses"]), run["statuses"]
    check_download(front, u, out["file_id"], size, digest, "tus.bin")


# -- chats and events -------------------------------------------------------------------
def test_chat_events_over_websocket(front):
    a, b = register_many(front, 2, prefix="fw")
    d = direct(front, a, b)["id"]

    async def run():
        async with Clients() as cs:
            wb = await cs.open(front.ws_proxy_url, b.access, name="b through the front")
            m = await rest(send, front, a, d, "hello through the front")
            ev = await wb.take(match("message.created", chat_id=d))
            assert ev["data"]["message"]["id"] == m["id"], ev
            assert ev["data"]["message"]["content"] == "hello through the front"
            # and a client event the other way, through the same tunnel
            wa = await cs.open(front.ws_proxy_url, a.access, how="header", name="a")
            await wa.send({"type": "typing", "chat_id": d, "state": "start"})
            ev = await wb.take(match("typing"))
            assert ev["data"]["user_id"] == a.id, ev
    asyncio.run(run())


def test_chat_events_over_long_poll(front):
    a, b = register_many(front, 2, prefix="fl")
    d = direct(front, a, b)["id"]
    updates = f"{API}/updates"
    since = assert_ok(front.get(updates, token=b.access))["next"]
    # A poll that waits (timeout=20) answers as soon as the message is sent.
    got = {}

    def wait():
        t0 = time.monotonic()
        got["r"] = front.get(updates, token=b.access, params={"since": since, "timeout": 20})
        got["took"] = time.monotonic() - t0

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.5)  # the poll is waiting (if not, it answers at once: same result)
    m = send(front, a, d, "hello by long poll")
    t.join(30)
    body = assert_ok(got["r"])
    msgs = [e["data"]["message"] for e in body["events"] if e["type"] == "message.created"]
    assert [x["id"] for x in msgs] == [m["id"]], body
    assert got["took"] < 15, f"the waiting poll answered after {got['took']:.1f} s"
    # the history is the chats app's
    hist = assert_ok(front.get(f"{API}/messages/{d}", token=b.access))
    assert m["id"] in [x["id"] for x in hist["items"]], hist


# -- P2P ---------------------------------------------------------------------------------
def test_p2p_offer_accept_and_relay(front):
    a, b = register_many(front, 2, prefix="fq")
    size = 100000

    async def run():
        async with Clients() as cs:
            wb = await cs.open(front.ws_proxy_url, b.access, name="b")
            t = await rest(offer, front, a, b, size=size, filename="clip.mp4", mode="relay")
            ev = await wb.take(match("transfer.offer"))
            assert ev["data"]["id"] == t["id"], ev
            return t
    t = asyncio.run(run())
    # the stack's HS_P2P_OFFER_TTL reached hs-p2p (Apache: FcgidInitialEnv)
    assert ms(t["expires_at"]) - ms(t["created_at"]) == OFFER_TTL * 1000, t
    acc = assert_ok(step(front, b, t["id"], "accept"))
    assert acc["state"] == "accepted", acc
    f, data = upload_relay(front, a, size)
    r = assert_ok(step(front, a, t["id"], "relay", {"file_id": f["id"]}))
    assert r["state"] == "transferring", r
    got = via_front(front, f"{API}/p2p/{t['id']}/download", len(data),
                    lambda: p2p_download(front, b, t["id"]))
    assert got.status_code == 200 and got.content == data
    part = p2p_download(front, b, t["id"], headers={"Range": "bytes=65000-70999"})
    assert part.status_code == 206 and part.content == data[65000:71000]
    done = assert_ok(step(front, b, t["id"], "complete", {"sha256": "d" * 64}))
    assert done["state"] == "completed", done


# -- a killed app ------------------------------------------------------------------------
def test_a_killed_app_comes_back(front):
    """Every process of an app SIGKILLed (a crash): the front starts new ones
    (lighttpd and mod_fcgid on the next request; under nginx the watcher of
    conf/stack-nginx.sh, as spawn-fcgi never does) and the group answers
    again within seconds; meanwhile only the front's own error pages."""
    u = front.register(prefix="fk")
    assert_ok(front.get(f"{API}/chats", token=u.access))
    killed = kill_apps(front, "hs-chats")
    seen = []
    deadline = time.monotonic() + 10
    while True:
        r = front.get(f"{API}/chats", token=u.access)
        seen.append(r.status_code)
        if r.status_code == 200:
            break
        assert r.status_code in (500, 502, 503), (r.status_code, r.text[:200])
        assert not r.headers.get("Content-Type", "").startswith("application/json"), r.text
        assert time.monotonic() < deadline, f"hs-chats not back after 10 s: {seen}"
        time.sleep(0.05)
    fresh = app_pids(front, "hs-chats")
    assert fresh and not set(fresh) & set(killed), (killed, fresh)


def ms(iso):
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc).timestamp() * 1000)


# -- stopping -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", FRONTS)
def test_ctrl_c_with_a_websocket_open_leaves_nothing(name):
    """A terminal's Ctrl-C (SIGINT to the whole process group) while a
    browser holds a WebSocket through the front: the front, every app it or
    its process manager started, the bridge and Redis are gone within a few
    seconds."""
    if missing(name):
        pytest.fail(f"the {name} front needs {missing(name)} (conf/install-deps.sh test)")
    s = Stack(f"front-stop-{name}", {"HS_WS_BRIDGES": "1", "HS_FRONT": name})
    s.start()
    try:
        for path in ("/health", f"{API}/users/search", f"{API}/chats", f"{FILES}/list",
                     f"{API}/p2p/history", f"{API}/updates"):
            s.get(path)  # every app has started (mod_fcgid: on the first request)
        apps = [c for _, c in s.leftovers() if "/hs-" in c and "hs-ws-bridge" not in c]
        assert len(apps) >= 6, s.leftovers()
        u = s.register(prefix="fc")
        ws = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        ws.sendall((f"GET /ws?token={u.access} HTTP/1.1\r\nHost: t\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        assert b" 101 " in ws.recv(4096).split(b"\r\n")[0]
        os.killpg(s.proc.pid, signal.SIGINT)
        deadline = time.monotonic() + 8
        left = s.leftovers()
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = s.leftovers()
        assert not left, "8 s after SIGINT: " + "; ".join(f"{p} {c}" for p, c in left)
        ws.close()
    finally:
        problems = s.stop()
        assert not problems, problems


# -- the configs against the route tables -----------------------------------------------
def route_paths():
    """(app, example path) for every route of every app: each {param}
    filled with a plausible value."""
    out = []
    for app in APPS:
        for method, pattern, _ in app_routes(app):
            path = re.sub(r"\{[^}]+\}", "0123456789abcdef01234567", pattern)
            out.append((app, method, pattern, path))
    return out


def lighttpd_app(conf, path):
    """The app lighttpd.conf's first matching $HTTP["url"] block (an if/else
    chain at the top level) sends path to, with nested blocks inside it."""
    blocks = re.findall(r'^(?:else )?\$HTTP\["url"\] =~ "([^"]+)" \{(.*?)^\}', conf, re.M | re.S)
    for rx, body in blocks:
        rx = rx.replace("\\\\", "\\")
        if not re.search(rx, path):
            continue
        if "fastcgi.server" not in body and "proxy.server" not in body and "include_shell" \
                not in body:
            continue
        for inner_rx, inner in re.findall(r'\$HTTP\["url"\] =~ "([^"]+)" \{(.*?)\n  \}', body,
                                          re.S):
            if re.search(inner_rx.replace("\\\\", "\\"), path):
                m = re.search(r'bin-path" => bindir \+ "/hs-([a-z0-9-]+)"', inner)
                if m:
                    return m.group(1)
        m = re.search(r'bin-path" => bindir \+ "/hs-([a-z0-9-]+)"', body)
        return m.group(1) if m else "ws-bridge"
    return None


def nginx_app(conf, path):
    """nginx's location choice for path: an exact match, else the longest
    prefix (^~ stops there), else the first matching regex (nested regex
    locations inside the chosen prefix first); the app of its fastcgi_pass."""
    locs = []
    for m in re.finditer(r"^    location (=|\^~|~)? ?(\S+) \{(.*?)^    \}", conf, re.M | re.S):
        locs.append((m.group(1) or "", m.group(2), m.group(3)))
    sockets = dict(re.findall(r"upstream (hypersend_\w+) \{\s*server unix:/run/hypersend/"
                              r"([a-z0-9-]+)\.sock;", conf))

    def app_of(body):
        for inner in re.finditer(r"location ~ (\S+) \{(.*?)\}", body, re.S):
            if re.search(inner.group(1), path):
                body = inner.group(2)
                break
        m = re.search(r"fastcgi_pass\s+(?:unix:/run/hypersend/([a-z0-9-]+)\.sock|(\w+));", body)
        if m:
            return (m.group(1) or sockets[m.group(2)]).replace("files-upload", "files")
        return "ws-bridge" if "hypersend_ws" in body else None

    for kind, loc, body in locs:
        if kind == "=" and loc == path:
            return app_of(body)
    prefix = max(((loc, kind, body) for kind, loc, body in locs
                  if kind in ("", "^~") and path.startswith(loc)),
                 key=lambda x: len(x[0]), default=None)
    if prefix and prefix[1] == "^~":
        return app_of(prefix[2])
    for kind, loc, body in locs:
        if kind == "~" and re.search(loc, path):
            return app_of(body)
    return app_of(prefix[2]) if prefix else None


def apache_app(conf, path):
    """The program of the first AliasMatch matching path (mod_alias stops
    there), when a <Directory> of that program's folder makes it an fcgid
    script; or the WebSocket bridge for the ProxyPassMatch of /ws."""
    scripts = [d for d, body in re.findall(r"<Directory (\S+)>(.*?)</Directory>", conf, re.S)
               if "SetHandler fcgid-script" in body]
    for rx, target in re.findall(r'^ *AliasMatch "([^"]+)" (\S+)$', conf, re.M):
        if re.search(rx, path):
            folder, _, prog = target.rpartition("/")
            m = re.fullmatch(r"hs-([a-z0-9-]+)", prog)
            return m.group(1) if m and folder in scripts else None
    for rx in re.findall(r'ProxyPassMatch\s+"([^"]+)"\s+"ws://', conf):
        if re.search(rx, path):
            return "ws-bridge"
    return None


ROUTERS = {"lighttpd.conf": lighttpd_app, "nginx.conf": nginx_app, "apache.conf": apache_app}


@pytest.mark.parametrize("name", sorted(ROUTERS))
def test_config_sends_every_route_to_its_app(name):
    conf = (ROOT / "conf" / name).read_text()
    route = ROUTERS[name]
    wrong = []
    for app, method, pattern, path in route_paths():
        got = route(conf, path)
        if got != app:
            wrong.append(f"{method} {pattern} ({path}): {got or 'nothing'}, not hs-{app}")
    for p in ("/ws", "/ws/0123456789abcdef01234567"):
        if route(conf, p) != "ws-bridge":
            wrong.append(f"{p}: {route(conf, p) or 'nothing'}, not the bridge")
    for p in ("/", "/index.html", "/v/0123abcd/app.js", "/apiary.html"):
        if route(conf, p) is not None:
            wrong.append(f"{p} (a static file) goes to {route(conf, p)}")
    assert not wrong, f"conf/{name}:\n" + "\n".join(wrong)


def test_the_router_readers_notice_a_forgotten_route():
    """The check above fails when a config loses a route group."""
    for name, cut in (("lighttpd.conf", "^/api/v1/p2p/"), ("nginx.conf", "location ^~ /api/v1/p2p/"),
                      ("apache.conf", 'AliasMatch "^/api/v1/p2p/"')):
        conf = (ROOT / "conf" / name).read_text().replace(cut, cut.replace("p2p", "p2q"))
        assert ROUTERS[name](conf, "/api/v1/p2p/initiate") != "p2p", name
