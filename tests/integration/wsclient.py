"""WebSocket clients for the bridge tests (docs/ws.md). No tests here.

WS is the client an application would write, on the asyncio API of
websockets 10.4 (Debian's python3-websockets): it splits every text frame on
"\\n" into JSON objects, keeps the ones not consumed yet in an inbox, and
checks on the way that stored events (those with an "id") arrive in id
order and never twice. Tests wait for an object matching a predicate
(take), for n of them (take_n), or assert that none arrives in a window
(quiet).

RawWS speaks the protocol over a bare asyncio stream, for what the library
does behind your back: it answers no pings, can stop reading (a slow
reader), and sends any frame.

Tests are plain functions that call asyncio.run(); blocking REST calls that
must overlap with reading a socket go through rest() (a thread).
"""
import asyncio
import base64
import hashlib
import json
import os
import re
import socket
import struct
import time
from urllib.parse import urlencode, urlsplit

import websockets

EVENT_ID = re.compile(r"^\d+-\d+$")
TIMEOUT = 5.0
WINDOW = 0.5  # how long "nothing arrives" is watched for


def id_key(event_id):
    ms, seq = event_id.split("-")
    return int(ms), int(seq)


async def rest(fn, *args, **kw):
    """Runs a blocking call (a REST request) in a thread, so the event loop
    keeps reading the sockets meanwhile."""
    return await asyncio.to_thread(fn, *args, **kw)


def match(type_, ref=None, **data):
    """A predicate: an object of this type (and ref), whose data has these
    values (for hello and other replies without data, the top level)."""
    def pred(o):
        if o.get("type") != type_:
            return False
        if ref is not None and o.get("ref") != ref:
            return False
        body = o.get("data") if isinstance(o.get("data"), dict) else o
        return all(body.get(k) == v for k, v in data.items())
    pred.__name__ = f"{type_}({', '.join(f'{k}={v!r}' for k, v in data.items())})"
    return pred


def stored(o):
    """A stored event (it has an id)."""
    return "id" in o


def ws_target(url, token=None, how="query", since=None, params=None, path=None):
    """(url, headers, subprotocols) that present token the given way:
    "query" (?token=), "header" (Authorization: Bearer), "protocol"
    (Sec-WebSocket-Protocol: hypersend, token.<jwt>), "authorization" (token
    is the whole Authorization value), or None."""
    q = dict(params or {})
    headers, protocols = {}, None
    if token is not None:
        if how == "query":
            q["token"] = token
        elif how == "header":
            headers["Authorization"] = f"Bearer {token}"
        elif how == "authorization":
            headers["Authorization"] = token
        elif how == "protocol":
            protocols = ["hypersend", f"token.{token}"]
        else:
            raise AssertionError(how)
    if since is not None:
        q["since"] = since
    if path is not None:
        url = url + path
    if q:
        url += ("&" if "?" in url else "?") + urlencode(q)
    return url, headers, protocols


class Frames:
    """Parses the server's text frames into objects and keeps them."""

    def __init__(self, name):
        self.name = name
        self.inbox = []   # objects not taken yet, in arrival order
        self.seen = []    # every object, in arrival order
        self.frames = 0
        self.last_id = None
        self.close_code = None
        self.close_reason = None

    def feed(self, text):
        self.frames += 1
        for line in text.split("\n"):
            try:
                o = json.loads(line)
            except ValueError:
                raise AssertionError(f"{self.name}: a line of a frame is not JSON: {line[:200]!r} "
                                     f"(frame {text[:300]!r})") from None
            assert isinstance(o, dict) and isinstance(o.get("type"), str), (
                f"{self.name}: not an object with a type: {line[:200]}")
            if "id" in o:
                assert isinstance(o["id"], str) and EVENT_ID.match(o["id"]), (
                    f"{self.name}: bad event id: {line[:200]}")
                assert self.last_id is None or id_key(o["id"]) > id_key(self.last_id), (
                    f"{self.name}: event {o['id']} ({o['type']}) after {self.last_id}: "
                    "out of order or twice")
                self.last_id = o["id"]
            self.inbox.append(o)
            self.seen.append(o)

    def pop(self, pred):
        for i, o in enumerate(self.inbox):
            if pred(o):
                return self.inbox.pop(i)
        return None

    def summary(self, n=12):
        tail = [json.dumps(o)[:160] for o in self.seen[-n:]]
        return f"{len(self.seen)} objects received, the last: " + "\n  ".join([""] + tail)


class Closed(AssertionError):
    pass


class _Reader:
    """take / take_n / quiet / closed over a _pump(timeout) that reads one
    frame (False on timeout, raises Closed when the connection ends)."""

    async def take(self, pred, timeout=TIMEOUT, what=None):
        """The first object (already received or arriving within timeout)
        that pred accepts; taken out of the inbox."""
        what = what or getattr(pred, "__name__", "an object")
        deadline = time.monotonic() + timeout
        while True:
            o = self.f.pop(pred)
            if o is not None:
                return o
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.f.name}: no {what} within {timeout} s; "
                                     + self.f.summary())
            try:
                await self._pump(left)
            except Closed as e:
                o = self.f.pop(pred)
                if o is not None:
                    return o
                raise AssertionError(f"{self.f.name}: closed ({e}) while waiting for {what}; "
                                     + self.f.summary()) from None

    async def take_type(self, type_, timeout=TIMEOUT, **data):
        return await self.take(match(type_, **data), timeout)

    async def take_n(self, pred, n, timeout=TIMEOUT, what=None):
        deadline = time.monotonic() + timeout
        got = []
        for i in range(n):
            got.append(await self.take(pred, max(0.0, deadline - time.monotonic()),
                                       what=f"{what or getattr(pred, '__name__', 'object')} "
                                            f"#{i + 1} of {n}"))
        return got

    async def next(self, timeout=TIMEOUT):
        return await self.take(lambda o: True, timeout, what="object")

    async def quiet(self, pred=lambda o: True, window=WINDOW, what=None):
        """Asserts that no object pred accepts is in the inbox or arrives
        within window seconds (and that the connection stays open)."""
        deadline = time.monotonic() + window
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                await self._pump(left)
            except Closed as e:
                raise AssertionError(f"{self.f.name}: closed ({e}) while it should stay quiet; "
                                     + self.f.summary()) from None
        bad = [o for o in self.f.inbox if pred(o)]
        assert not bad, (f"{self.f.name}: expected no {what or getattr(pred, '__name__', '')}, "
                         f"got {json.dumps(bad)[:600]}")

    async def drain(self, window=WINDOW):
        """Reads for window seconds (or until closed); returns what came, which
        stays in the inbox."""
        n = len(self.f.seen)
        deadline = time.monotonic() + window
        try:
            while time.monotonic() < deadline:
                await self._pump(deadline - time.monotonic())
        except Closed:
            pass
        return self.f.seen[n:]

    async def closed(self, timeout=TIMEOUT):
        """Reads (keeping the objects) until the server closes; returns the
        close code (None: the TCP connection ended without a close frame)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.f.name}: still open after {timeout} s; "
                                     + self.f.summary())
            try:
                await self._pump(left)
            except Closed:
                return self.f.close_code

    async def hello(self, timeout=TIMEOUT):
        """The hello, which must be the first object of the connection."""
        o = await self.take(match("hello"), timeout)
        assert self.f.seen[0] is o, f"{self.f.name}: hello is not the first object: {self.f.seen[:3]}"
        self.hello_obj = o
        return o


class WS(_Reader):
    """A client on websockets' asyncio API."""

    def __init__(self, conn, name):
        self.conn = conn
        self.f = Frames(name)
        self.hello_obj = None
        self._ref = 0

    @classmethod
    async def connect(cls, url, token=None, how="query", since=None, params=None, path=None,
                      name=None, hello=True, **kw):
        """Opens a connection (and, with hello, waits for the hello)."""
        u, headers, protocols = ws_target(url, token, how, since, params, path)
        opts = dict(extra_headers=headers, subprotocols=protocols, compression=None,
                    ping_interval=None, max_size=None, open_timeout=TIMEOUT, close_timeout=2)
        opts.update(kw)
        conn = await websockets.connect(u, **opts)
        ws = cls(conn, name or u.split("?")[0])
        if hello:
            await ws.hello()
        return ws

    async def _pump(self, timeout):
        try:
            frame = await asyncio.wait_for(self.conn.recv(), timeout)
        except asyncio.TimeoutError:
            return False
        except websockets.ConnectionClosed as e:
            self.f.close_code = e.rcvd.code if e.rcvd else None
            self.f.close_reason = e.rcvd.reason if e.rcvd else None
            raise Closed(f"close code {self.f.close_code}") from None
        if isinstance(frame, bytes):
            raise AssertionError(f"{self.f.name}: a binary frame from the server: {frame[:100]!r}")
        self.f.feed(frame)
        return True

    async def send(self, obj):
        await self.conn.send(obj if isinstance(obj, (str, bytes)) else json.dumps(obj))

    async def request(self, obj, timeout=TIMEOUT):
        """Sends obj with a fresh ref; returns the reply that echoes it."""
        self._ref += 1
        ref = obj.get("ref") or f"r{self._ref}"
        await self.send(dict(obj, ref=ref))
        return await self.take(lambda o: o.get("ref") == ref, timeout, what=f"reply to {ref}")

    async def ping(self, timeout=TIMEOUT):
        """A ping event answered by its pong: the connection is alive."""
        r = await self.request({"type": "ping"}, timeout)
        assert r["type"] == "pong", f"{self.f.name}: ping answered with {r}"
        return r

    async def close(self):
        await self.conn.close()

    @property
    def inbox(self):
        return self.f.inbox

    @property
    def seen(self):
        return self.f.seen


class Clients:
    """Opens WS connections and closes them all at the end:
        async with Clients() as cs:
            a = await cs.open(url, token)"""

    def __init__(self):
        self.all = []

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        for c in self.all:
            try:
                await asyncio.wait_for(c.close(), 3)
            except Exception:  # noqa: BLE001 - already gone, or the test failed
                pass

    async def open(self, url, token=None, **kw):
        c = await WS.connect(url, token, **kw)
        self.all.append(c)
        return c

    async def raw(self, url, token=None, **kw):
        c = await RawWS.connect(url, token, **kw)
        self.all.append(c)
        return c


async def open_refused(url, token=None, timeout=TIMEOUT, **kw):
    """Connects expecting a refusal after the upgrade: returns (close code,
    reason), and asserts the server sent no hello (nor anything else)
    before it."""
    ws = await WS.connect(url, token, hello=False, **kw)
    try:
        code = await ws.closed(timeout)
    finally:
        await ws.close()
    assert not ws.seen, f"objects before the close {code}: {ws.seen[:3]}"
    return code, ws.f.close_reason


# -- a bare client ------------------------------------------------------------------------
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class RawWS(_Reader):
    """RFC 6455 over an asyncio stream, nothing automatic: pings are counted,
    not answered (unless auto_pong), and reading can be paused."""

    def __init__(self, reader, writer, name):
        self.reader, self.writer = reader, writer
        self.f = Frames(name)
        self.hello_obj = None
        self.pings = 0
        self.auto_pong = False
        self._frag = None

    @classmethod
    async def connect(cls, url, token=None, how="query", since=None, params=None, path=None,
                      name=None, rcvbuf=None, hello=True):
        """rcvbuf: a small SO_RCVBUF set before connecting, so the kernel
        holds little for a client that stops reading."""
        u, headers, protocols = ws_target(url, token, how, since, params, path)
        parts = urlsplit(u)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
        key = base64.b64encode(os.urandom(16)).decode()
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"GET {target} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}",
                 "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if protocols:
            lines.append(f"Sec-WebSocket-Protocol: {', '.join(protocols)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        status = head.split(b"\r\n", 1)[0]
        assert b" 101 " in status + b" ", f"no upgrade: {head[:300]!r}"
        want = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        assert want in head, f"wrong Sec-WebSocket-Accept: {head[:300]!r}"
        ws = cls(reader, writer, name or f"raw {parts.path}")
        if hello:
            await ws.hello()
        return ws

    def send_frame(self, opcode, payload=b"", fin=True):
        if isinstance(payload, str):
            payload = payload.encode()
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(head + mask + body)

    async def send(self, obj):
        if isinstance(obj, bytes):
            self.send_frame(OP_BINARY, obj)
        else:
            self.send_frame(OP_TEXT, obj if isinstance(obj, str) else json.dumps(obj))
        await self.writer.drain()

    async def read_frame(self):
        b0, b1 = await self.reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        assert not b1 & 0x80, f"{self.f.name}: a masked frame from the server"
        payload = await self.reader.readexactly(n)
        return bool(b0 & 0x80), b0 & 0x0F, payload

    async def _pump(self, timeout):
        try:
            fin, op, payload = await asyncio.wait_for(self.read_frame(), timeout)
        except asyncio.TimeoutError:
            return False
        except (asyncio.IncompleteReadError, ConnectionError) as e:
            self.f.close_code = None
            raise Closed(f"the connection ended without a close frame ({e!r})") from None
        if op == OP_PING:
            self.pings += 1
            if self.auto_pong:
                self.send_frame(OP_PONG, payload)
            return True
        if op == OP_PONG:
            return True
        if op == OP_CLOSE:
            self.f.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            self.f.close_reason = payload[2:].decode(errors="replace")
            try:
                self.send_frame(OP_CLOSE, payload[:2])
                self.writer.close()
            except Exception:  # noqa: BLE001 - the server may be gone already
                pass
            raise Closed(f"close code {self.f.close_code}")
        if op in (OP_TEXT, OP_BINARY):
            assert op == OP_TEXT, f"{self.f.name}: a binary frame from the server"
            self._frag = payload
        elif op == OP_CONT:
            assert self._frag is not None, f"{self.f.name}: a continuation without a start"
            self._frag += payload
        else:
            raise AssertionError(f"{self.f.name}: unknown opcode {op}")
        if fin:
            text, self._frag = self._frag, None
            self.f.feed(text.decode())
        return True

    def pause(self):
        """Stops reading from the socket (the kernel buffers fill up)."""
        self.writer.transport.pause_reading()

    def resume(self):
        self.writer.transport.resume_reading()

    async def close(self):
        try:
            if not self.writer.is_closing():
                self.send_frame(OP_CLOSE, struct.pack("!H", 1000))
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except Exception:  # noqa: BLE001 - the server closed first
            pass
