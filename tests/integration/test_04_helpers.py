"""Helpers shared by the chats tests (test_04_*.py): users registered a few
at a time, chats of each kind, messages, history walks and the Redis event
streams. No tests here."""
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

from hsapi import API, assert_ok

CHATS = f"{API}/chats"
GROUPS = f"{API}/groups"
CHANNELS = f"{API}/channels"
MESSAGES = f"{API}/messages"
FILES = f"{API}/files"


def register_many(stack, n, prefix="c"):
    """n fresh users, registered in parallel (argon2 takes a while)."""
    with ThreadPoolExecutor(min(n, 4)) as ex:
        return list(ex.map(lambda _: stack.register(prefix=prefix), range(n)))


# -- chats ------------------------------------------------------------------------------
def create(stack, user, kind="group", members=(), path=None, status=201, **fields):
    """POST /chats (or /groups, /channels with path=); asserts status when it
    is 200 or 201 and returns the JSON, else returns the response."""
    body = dict(fields)
    if path is None:
        body["kind"] = kind
    if kind != "direct" and "name" not in body:
        body["name"] = f"{kind} chat"
    body["members"] = [getattr(m, "id", m) for m in members]
    r = stack.post(path or CHATS, token=user.access, json=body)
    if status in (200, 201):
        return assert_ok(r, status)
    return r


def direct(stack, a, b):
    return create(stack, a, "direct", [b])


def group(stack, owner, members=(), **fields):
    return create(stack, owner, "group", members, **fields)


def channel(stack, owner, members=(), public=True, **fields):
    return create(stack, owner, "channel", members, is_public=public, **fields)


def get_chat(stack, user, chat_id):
    return stack.get(f"{CHATS}/{chat_id}", token=user.access)


def chat_list(stack, user, **params):
    return assert_ok(stack.get(CHATS, token=user.access, params=params))


def listed(stack, user, chat_id):
    """The chat as the user's GET /chats shows it, or None (walks all pages)."""
    cursor = None
    for _ in range(50):
        params = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        b = chat_list(stack, user, **params)
        for c in b["items"]:
            if c["id"] == chat_id:
                return c
        cursor = b["next_cursor"]
        if not cursor:
            return None
    raise AssertionError("GET /chats did not end")


def add_member(stack, by, chat_id, user):
    return stack.post(f"{CHATS}/{chat_id}/members", token=by.access,
                      json={"user_id": getattr(user, "id", user)})


def remove_member(stack, by, chat_id, user):
    return stack.delete(f"{CHATS}/{chat_id}/members/{getattr(user, 'id', user)}",
                        token=by.access)


def set_role(stack, by, chat_id, user, role):
    return stack.put(f"{CHATS}/{chat_id}/members/{getattr(user, 'id', user)}", token=by.access,
                     json={"role": role})


def leave(stack, user, chat_id):
    return stack.post(f"{CHATS}/{chat_id}/leave", token=user.access, json={})


def join(stack, user, chat_id):
    return stack.post(f"{CHATS}/{chat_id}/join", token=user.access, json={})


def members_of(stack, user, chat_id):
    """{user_id: role} over every page of GET /chats/{id}/members."""
    roles, cursor = {}, None
    for _ in range(100):
        params = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        b = assert_ok(stack.get(f"{CHATS}/{chat_id}/members", token=user.access, params=params))
        for m in b["items"]:
            assert m["user_id"] not in roles, "a member listed twice"
            roles[m["user_id"]] = m["role"]
        cursor = b["next_cursor"]
        if not cursor:
            return roles
    raise AssertionError("GET members did not end")


def mark_read(stack, user, chat_id, message_id):
    return stack.post(f"{CHATS}/{chat_id}/read", token=user.access,
                      json={"message_id": message_id})


# -- messages ---------------------------------------------------------------------------
def post_message(stack, user, chat_id, content="hello", **fields):
    return stack.post(MESSAGES, token=user.access,
                      json={"chat_id": chat_id, "content": content, **fields})


def send(stack, user, chat_id, content="hello", **fields):
    return assert_ok(post_message(stack, user, chat_id, content, **fields), 201)


def history(stack, user, chat_id, **params):
    return stack.get(f"{MESSAGES}/{chat_id}", token=user.access, params=params)


def page(stack, user, chat_id, **params):
    return assert_ok(history(stack, user, chat_id, **params))


def message_in(stack, user, chat_id, message_id):
    """The message as the user's history shows it (None if absent)."""
    for m in page(stack, user, chat_id, limit=100)["items"]:
        if m["id"] == message_id:
            return m
    return None


def react(stack, user, message_id, emoji):
    return stack.post(f"{MESSAGES}/{message_id}/react", token=user.access, json={"emoji": emoji})


def search(stack, user, **params):
    return stack.get(f"{MESSAGES}/search", token=user.access, params=params)


# -- events -----------------------------------------------------------------------------
def events(stack, key):
    """XRANGE key - + as [(type, data dict)] in stream order."""
    out = subprocess.run(["redis-cli", "-p", str(stack.redis_port), "--json", "XRANGE", key, "-",
                          "+"], capture_output=True, text=True, timeout=30, check=True).stdout
    result = []
    for _entry_id, fields in json.loads(out or "[]"):
        if not isinstance(fields, dict):
            fields = dict(zip(fields[::2], fields[1::2]))
        assert set(fields) == {"type", "data"}, fields
        result.append((fields["type"], json.loads(fields["data"])))
    return result


def chat_events(stack, chat_id):
    return events(stack, f"hs:ev:chat:{chat_id}")


def user_events(stack, user_id):
    return events(stack, f"hs:ev:user:{getattr(user_id, 'id', user_id)}")
