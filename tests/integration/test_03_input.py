"""Bad input to the upload API on a stack with 64 KiB chunks, a 32 MiB file
size limit, a 16 MiB quota and a MIME deny-list: malformed multipart,
missing fields, bad chunk numbers and sizes, hostile filenames, limits,
denied types (declared and sniffed by libmagic) and other users' ids.
After every refused chunk the upload must not count it, and the file that
is finally uploaded must still be byte-exact."""
import os
import struct

import pytest

from hsapi import assert_error, assert_ok
from test_03_helpers import (FILES, MIB, blob_path, chunks_of, complete, download, init_upload,
                             multipart, post_chunk, put_chunk, sha256, start_stack, status,
                             stop_stack, upload_file)

CHUNK = 65536
MAX_FILE = 32 * MIB
QUOTA = 16 * MIB
DENIED = ["application/x-dosexec", "application/vnd.microsoft.portable-executable"]
TUS = {"Tus-Resumable": "1.0.0"}


def rand(n):
    """n random bytes as hex text. Truly random bytes will not do on this
    stack: libmagic calls about 1% of random buffers "DOS executable (COM)",
    application/x-dosexec, which this stack's deny-list refuses."""
    return os.urandom((n + 1) // 2).hex().encode()[:n]


@pytest.fixture(scope="module")
def lim():
    s = start_stack("files-limits", HS_CHUNK_SIZE=CHUNK, HS_MAX_FILE_SIZE=MAX_FILE,
                    HS_USER_QUOTA=QUOTA, HS_DENIED_TYPES=" , ".join(DENIED), HS_MAX_CHUNKS=64)
    yield s
    stop_stack(s)


@pytest.fixture
def owner(lim):
    return lim.register(prefix="in")


@pytest.fixture
def two_chunks(lim, owner):
    """An upload of two full chunks (the data, the upload id)."""
    data = rand(2 * CHUNK)
    return data, init_upload(lim, owner, len(data))["upload_id"]


def assert_nothing_counted(stack, user, uid, count=2):
    st = assert_ok(status(stack, user, uid))
    assert st["received_chunks"] == [] and st["missing_chunks"] == list(range(count)), st


def finish_and_check(stack, user, uid, data):
    """Sends every chunk properly, completes and compares the download."""
    for n, c in enumerate(chunks_of(data, CHUNK)):
        assert_ok(put_chunk(stack, user, uid, n, c))
    f = assert_ok(complete(stack, user, uid))
    assert sha256(download(stack, user, f["id"]).content) == sha256(data)
    return f


# -- multipart framing ------------------------------------------------------------------------
B = "----hsBoundary7MA4YWxkTrZu0gW"


def seed_parts(uid, n, chunk):
    return [("upload_id", uid.encode(), None), ("chunk_number", str(n).encode(), None),
            ("chunk", chunk, "part.bin")]


def malformed_cases(uid, chunk):
    good = multipart(B, seed_parts(uid, 0, chunk))
    head = good[:good.index(chunk)]
    ct = f"multipart/form-data; boundary={B}"
    return {
        # (Content-Type, body, acceptable error codes)
        "no_boundary": ("multipart/form-data", good, {"bad_boundary"}),
        "empty_boundary": ('multipart/form-data; boundary=""', good, {"bad_boundary"}),
        "boundary_too_long": ("multipart/form-data; boundary=" + "b" * 71,
                              multipart("b" * 71, seed_parts(uid, 0, chunk)), {"bad_boundary"}),
        "two_boundaries": (f"{ct}; boundary=other", good, {"bad_boundary"}),
        "other_boundary_in_body": ("multipart/form-data; boundary=nottheone", good,
                                   {"malformed_multipart", "missing_field"}),
        "not_multipart": ("application/octet-stream", good, {"not_multipart"}),
        "urlencoded": ("application/x-www-form-urlencoded", b"upload_id=" + uid.encode(),
                       {"not_multipart"}),
        "cut_inside_chunk": (ct, head + chunk[:1000], {"malformed_multipart",
                                                       "wrong_chunk_size"}),
        # (A chunk that ends in bytes that could start a delimiter, "\r\n-",
        # is short by those bytes instead: wrong_chunk_size.)
        "no_closing_delimiter": (ct, head + chunk, {"malformed_multipart",
                                                    "wrong_chunk_size"}),
        "delimiter_not_closed": (ct, head + chunk + b"\r\n--" + B.encode(),
                                 {"malformed_multipart"}),
        "garbage_after_delimiter": (ct, head + chunk + b"\r\n--" + B.encode() + b"xx\r\n",
                                    {"malformed_multipart"}),
        "cut_inside_field": (ct, good[:good.index(b"chunk_number") + 40],
                             {"malformed_multipart"}),
        "part_without_name": (ct, good.replace(b'form-data; name="chunk"; ', b"form-data; ", 1),
                              {"malformed_multipart"}),
        "not_form_data": (ct, good.replace(b'form-data; name="upload_id"',
                                           b'attachment; name="upload_id"', 1),
                          {"malformed_multipart"}),
        "header_block_too_large": (ct, good.replace(b"Content-Type: application/octet-stream",
                                                    b"X-Pad: " + b"p" * 9000, 1),
                                   {"malformed_multipart"}),
        "nul_in_field": (ct, good.replace(uid.encode(), uid[:10].encode() + b"\0" +
                                          uid[11:].encode(), 1),
                         {"malformed_multipart", "upload_not_found"}),
        "field_too_long": (ct, good.replace(uid.encode(), uid.encode() * 4, 1),
                           {"field_too_long"}),
    }


CASE_NAMES = list(malformed_cases("0" * 24, b"x"))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_malformed_multipart(lim, owner, two_chunks, case):
    data, uid = two_chunks
    ctype, body, codes = malformed_cases(uid, data[:CHUNK])[case]
    r = lim.post(f"{FILES}/upload/chunk", token=owner.access, data=body,
                 headers={"Content-Type": ctype})
    assert_error(r, 400, codes)
    assert_nothing_counted(lim, owner, uid)
    finish_and_check(lim, owner, uid, data)


def test_fields_after_the_chunk_are_ignored(lim, owner, two_chunks):
    data, uid = two_chunks
    body = multipart(B, seed_parts(uid, 0, data[:CHUNK]) + [("note", b"ignored", None)])
    r = lim.post(f"{FILES}/upload/chunk", token=owner.access, data=body,
                 headers={"Content-Type": f"multipart/form-data; boundary={B}"})
    assert assert_ok(r)["chunk_number"] == 0
    assert assert_ok(status(lim, owner, uid))["received_chunks"] == [0]


def test_client_disconnects_mid_chunk(lim, owner, two_chunks):
    """Content-Length promises the whole form; the client sends half and
    closes: nothing counts."""
    import socket
    data, uid = two_chunks
    body = multipart(B, seed_parts(uid, 1, data[CHUNK:]))
    host, port = lim.base.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=15)
    s.sendall((f"POST {FILES}/upload/chunk HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: Bearer {owner.access}\r\n"
               f"Content-Type: multipart/form-data; boundary={B}\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
              + body[:len(body) // 2])
    s.shutdown(socket.SHUT_WR)
    s.settimeout(15)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()
    assert_nothing_counted(lim, owner, uid)
    finish_and_check(lim, owner, uid, data)


# -- missing fields -----------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["only_chunk", "no_upload_id", "no_chunk_number", "no_chunk",
                                  "chunk_first", "empty_upload_id", "empty_chunk_number",
                                  "empty_form"])
def test_multipart_missing_fields(lim, owner, two_chunks, case):
    data, uid = two_chunks
    c = data[:CHUNK]
    parts = {
        "only_chunk": [("chunk", c, "p")],
        "no_upload_id": [("chunk_number", b"0", None), ("chunk", c, "p")],
        "no_chunk_number": [("upload_id", uid.encode(), None), ("chunk", c, "p")],
        "no_chunk": [("upload_id", uid.encode(), None), ("chunk_number", b"0", None)],
        "chunk_first": [("chunk", c, "p"), ("upload_id", uid.encode(), None),
                        ("chunk_number", b"0", None)],
        "empty_upload_id": [("upload_id", b"", None), ("chunk_number", b"0", None),
                            ("chunk", c, "p")],
        "empty_chunk_number": [("upload_id", uid.encode(), None), ("chunk_number", b"", None),
                               ("chunk", c, "p")],
        "empty_form": [],
    }[case]
    r = lim.post(f"{FILES}/upload/chunk", token=owner.access, data=multipart(B, parts),
                 headers={"Content-Type": f"multipart/form-data; boundary={B}"})
    assert_error(r, 400, "missing_field")
    assert_nothing_counted(lim, owner, uid)


@pytest.mark.parametrize("uid", ["0" * 24, "zz", "6" * 23, "../../etc/passwd"])
def test_unknown_upload_id(lim, owner, uid):
    assert_error(post_chunk(lim, owner, uid, 0, b"x"), 404, "upload_not_found")
    if "/" not in uid:
        assert_error(put_chunk(lim, owner, uid, 0, b"x"), 404, "upload_not_found")
        assert_error(status(lim, owner, uid), 404, "upload_not_found")
        assert_error(lim.delete(f"{FILES}/upload/{uid}", token=owner.access), 404,
                     "upload_not_found")
    assert_error(complete(lim, owner, uid), 404, "upload_not_found")


# -- chunk numbers and sizes ----------------------------------------------------------------------
@pytest.mark.parametrize("n", ["-1", "2", "3", "abc", "1.0", "1e0", "+1", "0x1", "%201", "1%20",
                               "99999999999999999999", "999999999999999999", "%D9%A3"])
def test_put_chunk_number_invalid(lim, owner, two_chunks, n):
    data, uid = two_chunks
    r = lim.raw("PUT", f"{FILES}/upload/{uid}/chunks/{n}", token=owner.access,
                body=data[:CHUNK])
    assert_error(r, 400, "chunk_out_of_range")
    assert_nothing_counted(lim, owner, uid)


@pytest.mark.parametrize("n", ["-1", "2", "abc", "1.5", " 0", "0 "])
def test_multipart_chunk_number_invalid(lim, owner, two_chunks, n):
    data, uid = two_chunks
    parts = [("upload_id", uid.encode(), None), ("chunk_number", n.encode(), None),
             ("chunk", data[:CHUNK], "p")]
    r = lim.post(f"{FILES}/upload/chunk", token=owner.access, data=multipart(B, parts),
                 headers={"Content-Type": f"multipart/form-data; boundary={B}"})
    assert_error(r, 400, "chunk_out_of_range")
    assert_nothing_counted(lim, owner, uid)


def test_wrong_chunk_sizes(lim, owner):
    data = rand(2 * CHUNK + 999)
    parts = chunks_of(data, CHUNK)
    uid = init_upload(lim, owner, len(data))["upload_id"]
    bad = [
        (0, b""), (0, parts[0][:-1]), (0, parts[0] + b"x"), (0, parts[0][:10]),
        (1, parts[1] + parts[2]),
        (2, parts[2][:-1]), (2, parts[2] + b"\0"), (2, parts[1]), (2, b""),
    ]
    for n, chunk in bad:
        for send in (put_chunk, post_chunk):
            e = assert_error(send(lim, owner, uid, n, chunk), 400, "wrong_chunk_size")
            want = len(parts[n])
            assert f"exactly {want} bytes" in e["message"], e
    assert_nothing_counted(lim, owner, uid, 3)
    finish_and_check(lim, owner, uid, data)


def test_chunk_to_completed_upload_is_refused(lim, owner):
    data = rand(100)
    f = upload_file(lim, owner, data)
    assert_error(put_chunk(lim, owner, f["id"], 0, data), 404, "upload_not_found")
    assert_error(post_chunk(lim, owner, f["id"], 0, data), 404, "upload_not_found")


# -- init fields -----------------------------------------------------------------------------------
def test_filename_traversal_is_only_a_name(lim, owner):
    name = "../../../../etc/passwd"
    before = set(os.listdir(lim.rundir)) | set(os.listdir(os.path.join(lim.rundir, "data")))
    data = rand(1000)
    f = upload_file(lim, owner, data, filename=name)
    assert f["filename"] == name
    info = assert_ok(lim.get(f"{FILES}/{f['id']}/info", token=owner.access))
    assert info["filename"] == name
    # The bytes live under data/files/<last two hex digits>/<id>, nowhere else.
    path = blob_path(lim, f["id"])
    with open(path, "rb") as fh:
        assert fh.read() == data
    after = set(os.listdir(lim.rundir)) | set(os.listdir(os.path.join(lim.rundir, "data")))
    assert after == before
    r = download(lim, owner, f["id"])
    assert r.content == data
    assert 'filename="../../../../etc/passwd"' in r.headers["Content-Disposition"]
    assert "filename*=UTF-8''..%2F..%2F..%2F..%2Fetc%2Fpasswd" in r.headers["Content-Disposition"]


def test_filename_control_characters_are_replaced(lim, owner):
    name = "a\x01b\nc\td\x7fe\x1b[31m.txt"
    f = upload_file(lim, owner, b"hello", filename=name)
    assert f["filename"] == "a_b_c_d_e_[31m.txt"
    r = download(lim, owner, f["id"])
    assert "\n" not in r.headers["Content-Disposition"]
    assert 'filename="a_b_c_d_e_[31m.txt"' in r.headers["Content-Disposition"]


@pytest.mark.parametrize("name,status,code", [
    ("x" * 10000, 400, "invalid_filename"),
    ("x" * 256, 400, "invalid_filename"),
    ("é" * 256, 400, "invalid_filename"),
    ("", 400, "invalid_value"),
    # Past max_json_body (64 KiB) the body is not even read.
    ("x" * 70000, 413, "payload_too_large"),
], ids=["10000", "256", "256_2byte", "empty", "70000"])
def test_filename_length(lim, owner, name, status, code):
    assert_error(init_upload(lim, owner, 10, filename=name, status=400), status, code)


@pytest.mark.parametrize("name", ["x" * 255, "é" * 255, "📄" * 255], ids=["1", "2", "4"])
def test_filename_longest(lim, owner, name):
    f = upload_file(lim, owner, b"0123456789", filename=name)
    assert f["filename"] == name


@pytest.mark.parametrize("raw", [
    b'{"filename": "a\\u0000b", "file_size": 10}',
    b'{"filename": "\\u0000", "file_size": 10}',
    b'{"filename": "ok", "file_size": 10, "content_type": "text/plain\\u0000"}',
])
def test_nul_in_json(lim, owner, raw):
    r = lim.post(f"{FILES}/upload/init", token=owner.access, data=raw,
                 headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_value")


@pytest.mark.parametrize("raw", [b'{"filename": "\xff\xfe", "file_size": 10}',
                                 b'{"filename": "a\xc3", "file_size": 10}',
                                 b'{"filename": "\\ud800", "file_size": 10}'])
def test_filename_not_utf8(lim, owner, raw):
    r = lim.post(f"{FILES}/upload/init", token=owner.access, data=raw,
                 headers={"Content-Type": "application/json"})
    assert_error(r, 400, {"invalid_value", "invalid_json", "invalid_filename"})


@pytest.mark.parametrize("size,code", [(0, "invalid_value"), (-1, "invalid_value"),
                                       (1.5, "invalid_value"), (2 ** 53 + 2, "invalid_value"),
                                       ("10", "wrong_type"), (True, "wrong_type"),
                                       (None, "missing_field")])
def test_file_size_invalid(lim, owner, size, code):
    assert_error(init_upload(lim, owner, size, status=400), 400, code)


@pytest.mark.parametrize("field,value,code", [
    ("content_type", "", "invalid_value"), ("content_type", "t" * 256, "invalid_value"),
    ("content_type", 5, "wrong_type"), ("chat_id", "abc", "invalid_value"),
    ("chat_id", "g" * 24, "invalid_value"), ("expires_in", -1, "invalid_value"),
    ("expires_in", "1", "wrong_type"), ("sha256", 1, "wrong_type"),
    ("filename", ["a"], "wrong_type"),
])
def test_init_field_invalid(lim, owner, field, value, code):
    assert_error(init_upload(lim, owner, 10, status=400, **{field: value}), 400, code)


def test_file_too_large(lim, owner):
    e = assert_error(init_upload(lim, owner, MAX_FILE + 1, status=400), 413, "file_too_large")
    assert str(MAX_FILE) in e["message"]
    # At the limit the size check passes (this user's quota then refuses it).
    assert_error(init_upload(lim, owner, MAX_FILE, status=400), 507, "quota_exceeded")
    r = lim.post(f"{FILES}/tus", token=owner.access, data=b"",
                 headers={**TUS, "Upload-Length": str(MAX_FILE + 1)})
    assert_error(r, 413, "file_too_large")
    r = lim.req("OPTIONS", f"{FILES}/tus")
    assert r.headers["Tus-Max-Size"] == str(MAX_FILE)


def test_quota(lim, owner):
    big = init_upload(lim, owner, 10 * MIB)
    e = assert_error(init_upload(lim, owner, 7 * MIB, status=400), 507, "quota_exceeded")
    assert e["hint"]
    assert init_upload(lim, owner, 6 * MIB)["file_size"] == 6 * MIB  # exactly the quota
    assert_error(init_upload(lim, owner, 1, status=400), 507, "quota_exceeded")
    r = lim.post(f"{FILES}/tus", token=owner.access, data=b"",
                 headers={**TUS, "Upload-Length": "1"})
    assert_error(r, 507, "quota_exceeded")
    # Aborting frees the space at once.
    assert lim.delete(f"{FILES}/upload/{big['upload_id']}", token=owner.access).status_code == 204
    data = rand(3 * CHUNK)
    f = upload_file(lim, owner, data)
    # Finished files count too: 6 MiB upload + this file.
    left = QUOTA - 6 * MIB - len(data)
    assert_error(init_upload(lim, owner, left + 1, status=400), 507, "quota_exceeded")
    assert init_upload(lim, owner, left)["file_size"] == left
    # Another user is not affected.
    other = lim.register(prefix="in2")
    assert init_upload(lim, other, QUOTA)["file_size"] == QUOTA
    # Deleting a file frees its space.
    assert lim.delete(f"{FILES}/{f['id']}", token=owner.access).status_code == 204
    assert init_upload(lim, owner, len(data))["file_size"] == len(data)


def test_quota_race(lim):
    """Ten inits of 4 MiB at once against a 16 MiB quota: at most four may
    fit. (The check and the insert are separate steps; repeated a few times
    with fresh users so that a race between them shows.)"""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from hsapi import Client
    for round_ in range(30):
        user = lim.register(prefix="qr")
        barrier = threading.Barrier(10)

        def one(_):
            c = Client(lim.base)
            barrier.wait()
            return init_upload(c, user, 4 * MIB, status=0)

        with ThreadPoolExecutor(10) as pool:
            results = list(pool.map(one, range(10)))
        codes = sorted(r.status_code for r in results)
        assert set(codes) <= {201, 507}, codes
        assert codes.count(201) <= 4, (
            f"round {round_}: {codes.count(201)} uploads of 4 MiB within a 16 MiB quota")
        for r in results:
            if r.status_code == 507:
                assert_error(r, 507, "quota_exceeded")


def test_chunk_size_grows_past_max_chunks(lim, owner):
    """max_chunks = 64 here: a 10 MiB file gets 256 KiB chunks (40 of them),
    not 160 chunks of 64 KiB."""
    for size, chunk, count in ((10 * MIB, 256 * 1024, 40), (64 * CHUNK, CHUNK, 64)):
        up = init_upload(lim, owner, size)
        assert (up["chunk_size"], up["chunk_count"]) == (chunk, count), (size, up)
        assert lim.delete(f"{FILES}/upload/{up['upload_id']}",
                          token=owner.access).status_code == 204
    up = init_upload(lim, owner, 64 * CHUNK + 1)
    assert up["chunk_size"] == 2 * CHUNK and up["chunk_count"] == 33
    uid = up["upload_id"]
    data = rand(64 * CHUNK + 1)
    for n in range(33):
        assert_ok(put_chunk(lim, owner, uid, n, data[n * 2 * CHUNK:(n + 1) * 2 * CHUNK]))
    f = assert_ok(complete(lim, owner, uid))
    assert sha256(download(lim, owner, f["id"]).content) == sha256(data)


# -- the deny-list ----------------------------------------------------------------------
@pytest.mark.parametrize("ctype", ["application/x-dosexec", "APPLICATION/X-DOSEXEC",
                                   "application/x-dosexec; charset=binary",
                                   "application/vnd.microsoft.portable-executable"])
def test_declared_type_denied(lim, owner, ctype):
    e = assert_error(init_upload(lim, owner, 100, content_type=ctype, status=400), 415,
                     "type_denied")
    assert "x-dosexec" in e["message"].lower() or "portable" in e["message"]
    import base64
    meta = "filename " + base64.b64encode(b"a.exe").decode() + ",filetype " + \
        base64.b64encode(ctype.encode()).decode()
    r = lim.post(f"{FILES}/tus", token=owner.access, data=b"",
                 headers={**TUS, "Upload-Length": "100", "Upload-Metadata": meta})
    assert_error(r, 415, "type_denied")


def test_similar_type_is_not_denied(lim, owner):
    assert init_upload(lim, owner, 100, content_type="application/x-dosexec2")["file_size"] == 100


def dos_header_only():
    return b"MZ" + bytes(510)


def pe_image():
    b = bytearray(1024)
    b[0:2] = b"MZ"
    struct.pack_into("<H", b, 2, 0x90)
    struct.pack_into("<I", b, 0x3C, 0x80)
    b[0x80:0x84] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", b, 0x84, 0x14C, 1, 0, 0, 0, 0xE0, 0x102)
    struct.pack_into("<H", b, 0x98, 0x10B)
    return bytes(b)


@pytest.mark.parametrize("make", [dos_header_only, pe_image], ids=["dos", "pe"])
def test_sniffed_type_denied(lim, owner, make):
    """Declared as something harmless, but libmagic sees an executable."""
    data = make()
    up = init_upload(lim, owner, len(data), filename="harmless.txt", content_type="text/plain")
    uid = up["upload_id"]
    assert_ok(put_chunk(lim, owner, uid, 0, data))
    e = assert_error(complete(lim, owner, uid), 415, "type_denied")
    assert e["message"].lower().count("application/") == 1
    assert_error(lim.get(f"{FILES}/{uid}/info", token=owner.access), 404, "file_not_found")
    assert_error(download(lim, owner, uid), 404, "file_not_found")
    ids = [f["id"] for f in assert_ok(lim.get(f"{FILES}/list", token=owner.access))["items"]]
    assert uid not in ids
    # The same bytes through tus are refused when the last PATCH completes them.
    r = lim.post(f"{FILES}/tus", token=owner.access, data=b"",
                 headers={**TUS, "Upload-Length": str(len(data))})
    assert r.status_code == 201, r.text
    r = lim.req("PATCH", r.headers["Location"], token=owner.access, data=data,
                headers={**TUS, "Upload-Offset": "0",
                         "Content-Type": "application/offset+octet-stream"})
    assert_error(r, 415, "type_denied")
    tid = r.request.path_url.rsplit("/", 1)[1]
    assert_error(lim.get(f"{FILES}/{tid}/info", token=owner.access), 404, "file_not_found")


def test_harmless_bytes_are_not_denied(lim, owner):
    f = upload_file(lim, owner, b"MZ is not enough on its own? " + b"text " * 100,
                    content_type="text/plain")
    assert f["sniffed_type"].startswith("text/")


# -- other users' ids -----------------------------------------------------------------------------
def test_other_users_ids_are_not_found(lim, owner):
    other = lim.register(prefix="in3")
    data = rand(2 * CHUNK)
    f = upload_file(lim, owner, data, filename="secret-name.bin")
    link = assert_ok(lim.post(f"{FILES}/{f['id']}/links", token=owner.access, json={}), 201)
    up = init_upload(lim, owner, 2 * CHUNK, filename="pending-secret.bin")
    uid = up["upload_id"]
    assert_ok(put_chunk(lim, owner, uid, 0, data[:CHUNK]))
    r = lim.post(f"{FILES}/tus", token=owner.access, data=b"",
                 headers={**TUS, "Upload-Length": "10"})
    tus_path = r.headers["Location"]

    replies = [
        (status(lim, other, uid), "upload_not_found"),
        (put_chunk(lim, other, uid, 1, data[CHUNK:]), "upload_not_found"),
        (post_chunk(lim, other, uid, 1, data[CHUNK:]), "upload_not_found"),
        (put_chunk(lim, other, uid, 0, rand(CHUNK)), "upload_not_found"),
        (complete(lim, other, uid), "upload_not_found"),
        (lim.delete(f"{FILES}/upload/{uid}", token=other.access), "upload_not_found"),
        (lim.req("PATCH", tus_path, token=other.access, data=b"0123456789",
                 headers={**TUS, "Upload-Offset": "0",
                          "Content-Type": "application/offset+octet-stream"}),
         "upload_not_found"),
        (lim.req("DELETE", tus_path, token=other.access, headers=TUS), "upload_not_found"),
        (lim.get(f"{FILES}/{f['id']}/info", token=other.access), "file_not_found"),
        (download(lim, other, f["id"]), "file_not_found"),
        (lim.delete(f"{FILES}/{f['id']}", token=other.access), "file_not_found"),
        (lim.get(f"{FILES}/{f['id']}/links", token=other.access), "file_not_found"),
        (lim.post(f"{FILES}/{f['id']}/links", token=other.access, json={}), "file_not_found"),
        (lim.delete(f"{FILES}/{f['id']}/links/{link['id']}", token=other.access),
         "file_not_found"),
    ]
    for r, code in replies:
        assert_error(r, 404, code)
        assert "secret" not in r.text and owner.id not in r.text, r.text
    r = lim.req("HEAD", tus_path, token=other.access, headers=TUS)
    assert r.status_code == 404
    r = lim.req("HEAD", f"{FILES}/{f['id']}", token=other.access)
    assert r.status_code == 404 and "X-Sendfile" not in r.headers
    assert f["id"] not in lim.get(f"{FILES}/list", token=other.access).text

    # Everything of the owner is intact.
    assert assert_ok(status(lim, owner, uid))["received_chunks"] == [0]
    assert download(lim, owner, f["id"]).content == data
    assert lim.get(link["url"]).content == data
    assert lim.req("HEAD", tus_path, token=owner.access, headers=TUS).status_code == 200
