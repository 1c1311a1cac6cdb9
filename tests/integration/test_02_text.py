"""What is validated is what is stored (issue 11, defect 19): a raw NUL
inside a JSON string no longer cuts the value short, and names shown to
other people (display names, chat names) refuse the characters that make
them lie about themselves: bidi overrides, zero-width characters, C0/C1
controls."""
import pytest

from hsapi import API, PASSWORD, assert_error, assert_ok, uniq

USERS = f"{API}/users"


def post_raw(stack, path, raw, token=None):
    return stack.post(path, token=token, data=raw, headers={"Content-Type": "application/json"})


def test_raw_nul_in_json_string_is_refused(stack):
    """'"nul\\0admin"' as raw bytes registered the user "nul": cJSON keeps
    the NUL, C ends the string there, and the check saw another value."""
    name = uniq("nul")
    raw = (b'{"username":"' + name.encode() + b'\x00admin","email":"' + name.encode() +
           b'@example.com","password":"' + PASSWORD.encode() + b'"}')
    assert_error(post_raw(stack, f"{API}/auth/register", raw), 400, "invalid_value")
    # nobody was registered under the cut name
    r = stack.post(f"{API}/auth/register", json={"username": name, "email": f"{name}@example.com",
                                                 "password": PASSWORD})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("raw", [
    b'{"display_name":"a\x00b"}', b'{"display_name":"a\\u0000b"}', b'{"bio":"\x00"}',
    b'{"display_name":"ok"}\x00', b'\x00{"display_name":"ok"}',
])
def test_nul_anywhere_in_a_body_is_refused(stack, user_a, raw):
    before = assert_ok(stack.get(f"{USERS}/{user_a.id}", token=user_a.access))
    r = stack.put(f"{USERS}/{user_a.id}", token=user_a.access, data=raw,
                  headers={"Content-Type": "application/json"})
    assert_error(r, 400, {"invalid_value", "invalid_json"})
    assert assert_ok(stack.get(f"{USERS}/{user_a.id}", token=user_a.access)) == before


@pytest.mark.parametrize("raw", [b'{"bio":"a\nb"}', b'{"bio":"a\rb"}', b'{"bio":"\x1b[31m"}',
                                 b'{"bio":"a\tb"}'])
def test_raw_controls_in_strings_are_invalid_json(stack, user_a, raw):
    r = stack.put(f"{USERS}/{user_a.id}", token=user_a.access, data=raw,
                  headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")


def test_escaped_controls_still_work(stack):
    u = stack.register()
    b = assert_ok(stack.put(f"{USERS}/{u.id}", token=u.access, json={"bio": "line 1\nline 2\t!"}))
    assert b["bio"] == "line 1\nline 2\t!"
    # an escaped backslash before the letters u0000 is text, not a NUL
    b = assert_ok(stack.put(f"{USERS}/{u.id}", token=u.access, data=b'{"bio":"C:\\\\u0000"}',
                            headers={"Content-Type": "application/json"}))
    assert b["bio"] == "C:\\u0000"


LYING = {
    "rlo": "admin\u202e",          # RIGHT-TO-LEFT OVERRIDE
    "lre": "\u202aname",
    "pdf": "name\u202c",
    "lri": "\u2066name\u2069",
    "fsi": "\u2068name",
    "zwsp": "ad\u200bmin",         # ZERO WIDTH SPACE
    "zwnj": "ad\u200cmin",
    "zwj": "ad\u200dmin",
    "lrm": "admin\u200e",
    "rlm": "admin\u200f",
    "wj": "ad\u2060min",           # WORD JOINER
    "bom": "\ufeffadmin",
    "nl": "two\nlines",
    "tab": "a\tb",
    "esc": "\x1b[31mred",
    "del": "a\x7f",
    "nel": "a\u0085b",             # C1
    "csi": "a\u009bb",             # C1
}


@pytest.mark.parametrize("kind", sorted(LYING))
def test_display_name_refuses_lying_characters(stack, user_a, kind):
    before = assert_ok(stack.get(f"{USERS}/{user_a.id}", token=user_a.access))
    r = stack.put(f"{USERS}/{user_a.id}", token=user_a.access,
                  json={"display_name": LYING[kind]})
    assert_error(r, 400, "invalid_value")
    assert assert_ok(stack.get(f"{USERS}/{user_a.id}", token=user_a.access)) == before


@pytest.mark.parametrize("kind", ["rlo", "zwsp", "bom", "nl", "nel", "lri"])
def test_chat_name_refuses_lying_characters(stack, user_a, kind):
    r = stack.post(f"{API}/chats", token=user_a.access,
                   json={"kind": "group", "name": LYING[kind]})
    assert_error(r, 400, "invalid_value")
    c = assert_ok(stack.post(f"{API}/chats", token=user_a.access,
                             json={"kind": "group", "name": "fine"}), 201)
    assert_error(stack.put(f"{API}/chats/{c['id']}", token=user_a.access,
                           json={"name": LYING[kind]}), 400, "invalid_value")


@pytest.mark.parametrize("name", ["Zoë Ölçek", "שלום עולם", "مرحبا", "日本語 名前", "😀 smile",
                                  "a\u00a0b"])
def test_display_name_keeps_real_text(stack, name):
    """Right-to-left scripts, emoji and non-breaking spaces are names too."""
    u = stack.register()
    b = assert_ok(stack.put(f"{USERS}/{u.id}", token=u.access, json={"display_name": name}))
    assert b["display_name"] == name
