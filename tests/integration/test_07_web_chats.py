"""The web client's chats view (www/js/views/chats.js and js/chats/) in
Debian's chromium, headless, driven by playwright-core from
tests/node/web_chats.mjs on the main stack: two people in two browser
contexts, Ann on a desktop-sized window, Ben on a phone-sized one.

One browser run (about 10 s); the tests below each assert one part of what
it saw:

- signup_and_group: both register through the sign-in view; Ann creates a
  group with Ben from the "New chat" dialog (user search); it appears in
  Ben's list without a reload.
- layout: the phone shows the list or the chat (two screens), the desktop
  both side by side.
- realtime: Ann's typing shows on Ben's page and goes when her message
  (sent with Enter) arrives; Ben's page marks it read and Ann's message shows
  "read"; Ben's answer (a reply, two lines with Shift+Enter) reaches Ann with
  the quote.
- reactions_edit_delete: Ben's reaction, Ann's edit ("edited") and deletion
  (a tombstone) are seen live by the other.
- xss: markup in a message is shown as text and never runs.
- attachment: an image Ann attaches (uploaded by the chunk API) shows as a
  preview (a blob: URL) on Ben's page.
- search: Ben's search finds the message, the word highlighted in <mark>;
  opening the hit shows the message in its chat.
- direct: Ben starts a direct chat (Ann shows online in its header); his
  message puts it first in Ann's list with an unread badge and Ben's presence
  dot; opening it clears the badge and Ben sees it read.
- session: a reload keeps Ben signed in, in the same chat.
- members: the members dialog lists both; Ann makes Ben an admin; Escape
  closes it.
- errors: no console error on either page.

Screenshots go to build/test-output/web/chats-*.png.
"""
import random
import string

import pytest

from hsapi import PASSWORD, uniq
from browser import out_dir, run_script

OUT = out_dir("web")


@pytest.fixture(scope="module")
def run(stack):
    stack.wait_bridges()
    a, b = uniq("wca"), uniq("wcb")
    # A word no other message of the stack holds (letters only: one search term).
    word = "kw" + "".join(random.choice(string.ascii_lowercase) for _ in range(10))
    res = run_script("web_chats.mjs", "--base", stack.base, "--a", a, "--b", b,
                     "--pass", PASSWORD, "--word", word, "--out", OUT)
    res.update(a=a, b=b, word=word)
    return res


def test_signup_and_group(run):
    s = run["steps"]
    assert s["registered"] is True
    group = f"Team {run['word'][:6]}"
    assert s["group"] == {"title": group, "sub": "Group · 2 members", "chat_id_ok": True}
    assert s["b_list_live"] == group


def test_layout(run):
    s = run["steps"]
    assert s["b_phone_two_screens"] == {"side_hidden": True, "pane_shown": True}
    assert s["a_desktop_side_by_side"] == {"side_shown": True, "pane_shown": True}


def test_realtime(run):
    s = run["steps"]
    first = f"hello {run['b']} the {run['word']} meets at ten"
    assert s["typing_seen"] == f"{run['a']} is typing…"
    assert s["composer_cleared"] is True
    assert s["typing_cleared"] is True
    assert s["read_state"] == "read" and s["read_state_label"] == "Read"
    assert s["reply_bar"].startswith(f"Replying to {run['a']}")
    assert s["reply_seen"] == {"text": "line one\nline two", "quote": first}
    # The message reached the other browser quickly (no reload, no polling).
    assert run["ms"]["message_to_other"] < 3000


def test_reactions_edit_delete(run):
    s = run["steps"]
    assert s["reaction_seen"] == {"emoji": "👍", "count": "1", "pressed_for_ann": "false"}
    assert s["edit_seen"] == {"text": f"hello {run['b']} the {run['word']} meets at ten (edited)",
                              "edited_mark": "edited"}
    assert s["delete_seen"] == "Message deleted"


def test_xss(run):
    assert run["steps"]["xss"] == {"ran": False, "elements_in_text": False}


def test_attachment(run):
    assert run["steps"]["image_seen"] == {"alt": "red.png", "size": [48, 32]}


def test_search(run):
    s = run["steps"]["search"]
    assert s["hits"] == 1
    assert s["marks"] == [run["word"]]
    assert s["snippet"] == f"hello {run['b']} the {run['word']} meets at ten (edited)"
    assert s["chat"] == f"Team {run['word'][:6]}"
    assert run["steps"]["search_opened"] is True


def test_direct(run):
    s = run["steps"]
    assert s["direct_header"] == "online"
    assert s["direct_in_list"] == {"name": run["b"], "badge": "1", "preview": "psst", "first": True}
    assert s["badge_cleared"] is True
    assert s["direct_read"] is True


def test_session(run):
    # five messages: the first, the reply, the tombstone, the markup, the picture
    assert run["steps"]["reload"] == {"signed_in": True, "messages": 5}


def test_members(run):
    s = run["steps"]
    assert s["members"] == 2
    assert s["role_toast"] == f"{run['b']} is now an admin"
    assert s["dialog_closed_by_escape"] is True
    for name in ("new-group-dialog", "phone-list", "phone-chat", "phone-search",
                 "desktop-unread", "members-dialog", "desktop-chat"):
        assert (OUT / f"chats-{name}.png").is_file(), name


def test_errors(run):
    assert run["errors"] == {"ann": [], "ben": []}
