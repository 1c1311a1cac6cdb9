"""tus 1.0.0 spoken by hand (requests) on the main stack: discovery, the
version check, creation (with upload), HEAD, PATCH with its offset,
Content-Type and checksum rules, termination, expiration, concatenation,
and the file a finished tus upload becomes."""
import base64
import email.utils
import hashlib
import os
import time

import pytest

from hsapi import HEX24, assert_error, assert_ok
from test_03_helpers import (FILES, blob_path, complete, download, init_upload, put_chunk,
                             sha256, upload_file)

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}
EXTENSIONS = {"creation", "creation-with-upload", "termination", "checksum", "expiration",
              "concatenation"}
FILE_KEYS = {"id", "owner_id", "filename", "content_type", "sniffed_type", "size", "sha256",
             "chat_id", "created_at", "expires_at", "download_url"}


@pytest.fixture
def owner(stack):
    return stack.register(prefix="tus")


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def meta(**kv):
    return ",".join(f"{k} {b64(v)}" if v is not None else k for k, v in kv.items())


def create(stack, user, length, headers=None, data=b"", status=201):
    h = {**TUS, **(headers or {})}
    if length is not None:
        h["Upload-Length"] = str(length)
    r = stack.post(f"{FILES}/tus", token=user.access, data=data, headers=h)
    if status == 201:
        assert r.status_code == 201, r.text
        assert r.headers["Tus-Resumable"] == "1.0.0"
        loc = r.headers["Location"]
        assert loc.startswith(f"{FILES}/tus/") and HEX24.match(loc.rsplit("/", 1)[1]), loc
    return r


def patch(stack, user, path, offset, data, headers=None):
    h = {**TUS, **OCTETS, "Upload-Offset": str(offset), **(headers or {})}
    return stack.req("PATCH", path, token=user.access, data=data, headers=h)


def head(stack, user, path, headers=TUS):
    return stack.req("HEAD", path, token=user.access, headers=headers)


def offset_of(stack, user, path):
    r = head(stack, user, path)
    assert r.status_code == 200, r.status_code
    return int(r.headers["Upload-Offset"])


def fid(path):
    return path.rsplit("/", 1)[1]


# -- discovery ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [f"{FILES}/tus", f"{FILES}/tus/", f"{FILES}/tus/{'0' * 24}"])
def test_options(stack, path):
    r = stack.req("OPTIONS", path)  # no token: discovery is public
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert r.headers["Tus-Resumable"] == "1.0.0"
    assert "1.0.0" in [v.strip() for v in r.headers["Tus-Version"].split(",")]
    assert {v.strip() for v in r.headers["Tus-Extension"].split(",")} == EXTENSIONS
    assert r.headers["Tus-Max-Size"] == str(40 * 1024 ** 3)
    algos = {v.strip() for v in r.headers["Tus-Checksum-Algorithm"].split(",")}
    assert {"sha1", "sha256"} <= algos


# -- the version header -------------------------------------------------------------------------
@pytest.mark.parametrize("version", [None, "0.2.2", "1.0", "", "1.0.1", "1.0.0,0.2.2"])
def test_tus_resumable_required(stack, owner, version):
    h = {} if version is None else {"Tus-Resumable": version}
    path = create(stack, owner, 10).headers["Location"]
    r = stack.post(f"{FILES}/tus", token=owner.access, data=b"",
                   headers={**h, "Upload-Length": "10"})
    e = assert_error(r, 412, "tus_version")
    assert r.headers["Tus-Version"] == "1.0.0"
    assert "1.0.0" in e["message"]
    r = stack.req("PATCH", path, token=owner.access, data=b"0123456789",
                  headers={**h, **OCTETS, "Upload-Offset": "0"})
    assert_error(r, 412, "tus_version")
    r = stack.req("HEAD", path, token=owner.access, headers=h)
    assert r.status_code == 412 and r.headers["Tus-Version"] == "1.0.0"
    r = stack.req("DELETE", path, token=owner.access, headers=h)
    assert_error(r, 412, "tus_version")
    assert offset_of(stack, owner, path) == 0


# -- creation, HEAD, PATCH -------------------------------------------------------------------------
def test_create_head_patch_finish(stack, owner):
    data = os.urandom(300000)
    m = meta(filename="résumé.txt", filetype="text/plain", extra="ignored")
    before = time.time()
    r = create(stack, owner, len(data), {"Upload-Metadata": m})
    path = r.headers["Location"]
    exp = email.utils.parsedate_to_datetime(r.headers["Upload-Expires"]).timestamp()
    assert before + 86400 - 120 <= exp <= time.time() + 86400 + 120  # upload_ttl: one day
    assert "Upload-Offset" not in r.headers

    r = head(stack, owner, path)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["Upload-Offset"] == "0"
    assert r.headers["Upload-Length"] == str(len(data))
    assert r.headers["Upload-Metadata"] == m
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Tus-Resumable"] == "1.0.0"
    assert "Upload-Expires" in r.headers

    r = patch(stack, owner, path, 0, data[:100000])
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == "100000"
    assert r.headers["Tus-Resumable"] == "1.0.0"
    # The status route of the chunk API knows tus uploads too.
    st = assert_ok(stack.get(f"{FILES}/upload/{fid(path)}", token=owner.access))
    assert st["protocol"] == "tus" and st["offset"] == 100000 and st["filename"] == "résumé.txt"

    r = patch(stack, owner, path, 100000, data[100000:])
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == str(len(data))

    # Finished: HEAD still answers for the id, which is now the file's.
    r = head(stack, owner, path)
    assert r.status_code == 200
    assert r.headers["Upload-Offset"] == r.headers["Upload-Length"] == str(len(data))
    info = assert_ok(stack.get(f"{FILES}/{fid(path)}/info", token=owner.access))
    assert info["id"] == fid(path) and info["size"] == len(data)
    assert info["filename"] == "résumé.txt" and info["content_type"] == "text/plain"
    assert sha256(download(stack, owner, fid(path)).content) == sha256(data)
    # No more PATCHes to a finished upload.
    assert_error(patch(stack, owner, path, len(data), b"x"), 403, "upload_finished")
    assert_error(patch(stack, owner, path, 0, data[:10]), 403, "upload_finished")
    assert offset_of(stack, owner, path) == len(data)


def test_creation_with_upload(stack, owner):
    data = os.urandom(5000)
    r = create(stack, owner, len(data), {**OCTETS}, data=data[:2000])
    path = r.headers["Location"]
    assert r.headers["Upload-Offset"] == "2000"
    assert offset_of(stack, owner, path) == 2000
    # The whole file in the POST: a file at once.
    r = create(stack, owner, len(data), {**OCTETS, "Upload-Metadata": meta(filename="one.bin")},
               data=data)
    assert r.headers["Upload-Offset"] == str(len(data))
    f = fid(r.headers["Location"])
    assert assert_ok(stack.get(f"{FILES}/{f}/info", token=owner.access))["filename"] == "one.bin"
    assert download(stack, owner, f).content == data
    # A body of the wrong type is refused.
    r = create(stack, owner, len(data), {"Content-Type": "application/octet-stream"},
               data=data[:10], status=415)
    assert_error(r, 415, "wrong_content_type")


def test_empty_upload_is_a_file_at_once(stack, owner):
    r = create(stack, owner, 0, {"Upload-Metadata": meta(filename="empty.txt")})
    f = fid(r.headers["Location"])
    info = assert_ok(stack.get(f"{FILES}/{f}/info", token=owner.access))
    assert info["size"] == 0 and info["filename"] == "empty.txt"
    r = download(stack, owner, f)
    assert r.status_code == 200 and r.content == b""


@pytest.mark.parametrize("headers,code", [
    ({}, "invalid_upload_length"),
    ({"Upload-Length": "abc"}, "invalid_upload_length"),
    ({"Upload-Length": "-1"}, "invalid_upload_length"),
    ({"Upload-Length": "1.5"}, "invalid_upload_length"),
    ({"Upload-Length": ""}, "invalid_upload_length"),
    ({"Upload-Defer-Length": "1"}, "defer_length_unsupported"),
    ({"Upload-Length": "10", "Upload-Metadata": "filename !!!notbase64"}, "invalid_metadata"),
    ({"Upload-Length": "10", "Upload-Metadata": "filename " + b64("a\0b")}, "invalid_metadata"),
    ({"Upload-Length": "10", "Upload-Metadata": "filename " + b64("x" * 256)},
     "invalid_filename"),
    # Only padding once made the decoder write before its buffer (a heap
    # underflow); padding that is not at the end was read as zero bytes.
    ({"Upload-Length": "10", "Upload-Metadata": "filename ===="}, "invalid_metadata"),
    ({"Upload-Length": "10", "Upload-Metadata": "filetype ===="}, "invalid_metadata"),
    ({"Upload-Length": "10", "Upload-Metadata": "filename A==="}, "invalid_metadata"),
    ({"Upload-Length": "10", "Upload-Metadata": "filename YQ=b"}, "invalid_metadata"),
    ({"Upload-Length": "10", "Upload-Metadata": "filename " + b64("ab") + "===="},
     "invalid_metadata"),
    ({"Upload-Length": "10", "Upload-Concat": "bogus"}, "invalid_concat"),
    ({"Upload-Concat": "final;"}, "invalid_concat"),
    ({"Upload-Concat": "final;/api/v1/files/tus/nothex"}, "invalid_concat"),
])
def test_create_invalid(stack, owner, headers, code):
    r = stack.post(f"{FILES}/tus", token=owner.access, data=b"", headers={**TUS, **headers})
    assert_error(r, 400, code)


def test_create_too_large(stack, owner):
    r = create(stack, owner, 40 * 1024 ** 3 + 1, status=413)
    assert_error(r, 413, "file_too_large")


def test_patch_rules(stack, owner):
    data = os.urandom(1000)
    path = create(stack, owner, len(data)).headers["Location"]
    assert patch(stack, owner, path, 0, data[:100]).status_code == 204

    r = patch(stack, owner, path, 50, data[50:150])
    assert_error(r, 409, "offset_mismatch")
    assert r.headers["Upload-Offset"] == "100"
    r = patch(stack, owner, path, 200, data[200:300])
    assert_error(r, 409, "offset_mismatch")

    for ctype in ("application/octet-stream", "text/plain", "application/offset"):
        r = patch(stack, owner, path, 100, data[100:200], {"Content-Type": ctype})
        assert_error(r, 415, "wrong_content_type")
    r = stack.req("PATCH", path, token=owner.access, data=data[100:200],
                  headers={**TUS, "Upload-Offset": "100"})
    assert_error(r, 415, "wrong_content_type")

    for bad in ("", "-1", "abc", "1e2"):
        r = patch(stack, owner, path, 100, data[100:200], {"Upload-Offset": bad})
        assert_error(r, 400, "invalid_upload_offset")
    r = stack.req("PATCH", path, token=owner.access, data=data[100:200], headers={**TUS, **OCTETS})
    assert_error(r, 400, "invalid_upload_offset")

    # Past Upload-Length: refused whole, nothing written.
    r = patch(stack, owner, path, 100, data[100:] + b"extra")
    assert_error(r, 400, "exceeds_length")
    assert offset_of(stack, owner, path) == 100

    assert patch(stack, owner, path, 100, data[100:]).status_code == 204
    assert download(stack, owner, fid(path)).content == data


def test_empty_patch_keeps_offset(stack, owner):
    path = create(stack, owner, 10).headers["Location"]
    r = patch(stack, owner, path, 0, b"")
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "0"


# -- checksums -------------------------------------------------------------------------------------
def checksum(algo, data):
    return f"{algo} " + base64.b64encode(hashlib.new(algo, data).digest()).decode()


@pytest.mark.parametrize("algo", ["sha1", "sha256", "SHA256"])
def test_checksum_good(stack, owner, algo):
    data = os.urandom(4000)
    path = create(stack, owner, len(data)).headers["Location"]
    r = patch(stack, owner, path, 0, data[:1000],
              {"Upload-Checksum": checksum(algo.lower(), data[:1000]).replace(algo.lower(),
                                                                              algo, 1)})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "1000", r.text
    r = patch(stack, owner, path, 1000, data[1000:],
              {"Upload-Checksum": checksum(algo.lower(), data[1000:])})
    assert r.status_code == 204, r.text
    assert download(stack, owner, fid(path)).content == data


@pytest.mark.parametrize("algo", ["sha1", "sha256"])
def test_checksum_mismatch_460(stack, owner, algo):
    data = os.urandom(3000)
    path = create(stack, owner, len(data)).headers["Location"]
    assert patch(stack, owner, path, 0, data[:1000]).status_code == 204
    r = patch(stack, owner, path, 1000, data[1000:2000],
              {"Upload-Checksum": checksum(algo, data[1000:1999] + b"!")})
    assert_error(r, 460, "checksum_mismatch")
    assert offset_of(stack, owner, path) == 1000
    # The same bytes with the right checksum go through.
    r = patch(stack, owner, path, 1000, data[1000:],
              {"Upload-Checksum": checksum(algo, data[1000:])})
    assert r.status_code == 204
    assert download(stack, owner, fid(path)).content == data


@pytest.mark.parametrize("value,code", [
    ("md5 " + base64.b64encode(hashlib.md5(b"x").digest()).decode(), "unsupported_checksum"),
    ("crc32 AAAAAA==", "unsupported_checksum"),
    ("sha256", "invalid_checksum"),
    ("sha256 !!!!", "invalid_checksum"),
    ("sha1 ====", "invalid_checksum"),
    ("sha256 ====", "invalid_checksum"),
    ("sha256 " + "=" * 44, "invalid_checksum"),
    # 32 bytes' worth of text with a '=' inside: not base64, not a digest.
    ("sha256 " + base64.b64encode(bytes(32)).decode()[:20] + "=" +
     base64.b64encode(bytes(32)).decode()[21:], "invalid_checksum"),
    ("sha1 " + base64.b64encode(hashlib.sha256(b"x").digest()).decode(), "invalid_checksum"),
])
def test_checksum_invalid(stack, owner, value, code):
    path = create(stack, owner, 1).headers["Location"]
    r = patch(stack, owner, path, 0, b"x", {"Upload-Checksum": value})
    assert_error(r, 400, code)
    assert offset_of(stack, owner, path) == 0


# -- termination -----------------------------------------------------------------------------------
def test_delete(stack, owner):
    path = create(stack, owner, 100).headers["Location"]
    assert patch(stack, owner, path, 0, b"x" * 50).status_code == 204
    assert os.path.exists(blob_path(stack, fid(path)))
    r = stack.req("DELETE", path, token=owner.access, headers=TUS)
    assert r.status_code == 204 and r.headers["Tus-Resumable"] == "1.0.0"
    assert head(stack, owner, path).status_code == 404
    assert_error(patch(stack, owner, path, 50, b"y" * 50), 404, "upload_not_found")
    assert_error(stack.req("DELETE", path, token=owner.access, headers=TUS), 404,
                 "upload_not_found")
    assert not os.path.exists(blob_path(stack, fid(path)))


# -- concatenation ---------------------------------------------------------------------------------
def test_concatenation(stack, owner):
    a, b = os.urandom(70000), os.urandom(33333)
    pa = create(stack, owner, len(a), {"Upload-Concat": "partial"}).headers["Location"]
    pb = create(stack, owner, len(b), {"Upload-Concat": "partial"}).headers["Location"]
    r = head(stack, owner, pa)
    assert r.headers["Upload-Concat"] == "partial"
    assert patch(stack, owner, pa, 0, a).status_code == 204
    # A partial that is not finished cannot be part of a final upload.
    assert patch(stack, owner, pb, 0, b[:100]).status_code == 204
    r = create(stack, owner, None, {"Upload-Concat": f"final;{pa} {pb}"}, status=400)
    assert_error(r, 400, "invalid_concat")
    assert patch(stack, owner, pb, 100, b[100:]).status_code == 204
    # A finished partial is not a file of its own.
    assert_error(stack.get(f"{FILES}/{fid(pa)}/info", token=owner.access), 404, "file_not_found")

    # Full URLs (as tus-js-client sends them) and bare paths both name parts.
    r = create(stack, owner, None, {"Upload-Concat": f"final;{stack.base}{pa} {pb}",
                                    "Upload-Metadata": meta(filename="joined.bin")})
    final = r.headers["Location"]
    assert "Upload-Expires" in r.headers
    info = assert_ok(stack.get(f"{FILES}/{fid(final)}/info", token=owner.access))
    assert info["size"] == len(a) + len(b) and info["filename"] == "joined.bin"
    assert download(stack, owner, fid(final)).content == a + b
    r = head(stack, owner, final)
    assert r.status_code == 200 and r.headers["Upload-Offset"] == str(len(a) + len(b))
    # The parts are gone, bytes included.
    for p in (pa, pb):
        assert head(stack, owner, p).status_code == 404
        assert not os.path.exists(blob_path(stack, fid(p)))


def test_final_needs_partial_uploads(stack, owner):
    plain = create(stack, owner, 5).headers["Location"]
    assert patch(stack, owner, plain, 0, b"abc").status_code == 204
    r = create(stack, owner, None, {"Upload-Concat": f"final;{plain}"}, status=400)
    assert_error(r, 400, "invalid_concat")
    done = create(stack, owner, 3).headers["Location"]
    assert patch(stack, owner, done, 0, b"abc").status_code == 204
    r = create(stack, owner, None, {"Upload-Concat": f"final;{done}"}, status=404)
    assert_error(r, 404, "upload_not_found")
    # A final upload takes no body.
    part = create(stack, owner, 3, {"Upload-Concat": "partial"}).headers["Location"]
    assert patch(stack, owner, part, 0, b"abc").status_code == 204
    r = create(stack, owner, None, {"Upload-Concat": f"final;{part}", **OCTETS}, data=b"abc",
               status=400)
    assert_error(r, 400, "invalid_concat")
    assert head(stack, owner, part).headers["Upload-Offset"] == "3"
    other = stack.register(prefix="tus2")
    theirs = create(stack, other, 3, {"Upload-Concat": "partial"}).headers["Location"]
    assert patch(stack, other, theirs, 0, b"abc").status_code == 204
    r = create(stack, owner, None, {"Upload-Concat": f"final;{theirs}"}, status=404)
    assert_error(r, 404, "upload_not_found")
    assert head(stack, other, theirs).headers["Upload-Offset"] == "3"


# -- the two protocols stay apart, and end the same ---------------------------------------------
def partial(stack, user, data):
    path = create(stack, user, len(data), {"Upload-Concat": "partial"}).headers["Location"]
    assert patch(stack, user, path, 0, data).status_code == 204
    return path


def test_final_cannot_name_a_part_twice(stack, owner):
    a, b = os.urandom(1000), os.urandom(500)
    pa, pb = partial(stack, owner, a), partial(stack, owner, b)
    # One part named many times once made the server write and hash many
    # times its size per request.
    for concat in (f"final;{pa} {pa}", f"final;{pa} {pb} {stack.base}{pa}",
                   "final;" + " ".join([fid(pa)] * 250)):
        r = create(stack, owner, None, {"Upload-Concat": concat}, status=400)
        assert_error(r, 400, "duplicate_part")
    # Nothing was joined, nothing lost: the parts still make a file.
    for p, data in ((pa, a), (pb, b)):
        assert offset_of(stack, owner, p) == len(data)
    final = create(stack, owner, None, {"Upload-Concat": f"final;{pa} {pb}"}).headers["Location"]
    assert download(stack, owner, fid(final)).content == a + b


def test_final_joins_at_most_100_parts(stack, owner):
    ids = [f"{i:024x}" for i in range(1, 102)]
    r = create(stack, owner, None, {"Upload-Concat": "final;" + " ".join(ids)}, status=400)
    assert_error(r, 400, "too_many_parts")
    # 100 is allowed: the ids are then looked up (these do not exist).
    r = create(stack, owner, None, {"Upload-Concat": "final;" + " ".join(ids[:100])}, status=404)
    assert_error(r, 404, "upload_not_found")


def test_refused_final_uses_up_its_parts(stack, owner):
    a, b = os.urandom(3000), os.urandom(2000)
    pa, pb = partial(stack, owner, a), partial(stack, owner, b)
    headers = {"Upload-Concat": f"final;{pa} {pb}",
               "Upload-Metadata": meta(sha256=sha256(b"something else"))}
    r = create(stack, owner, None, headers, status=409)
    assert_error(r, 409, "sha256_mismatch")
    # The parts were joined once and are gone: the refusal cannot be
    # replayed for free, and no final file was left behind.
    for p in (pa, pb):
        assert head(stack, owner, p).status_code == 404
        assert not os.path.exists(blob_path(stack, fid(p)))
    r = create(stack, owner, None, headers, status=404)
    assert_error(r, 404, "upload_not_found")
    assert not any(f["size"] == len(a) + len(b) for f in
                   assert_ok(stack.get(f"{FILES}/list", token=owner.access))["items"])


def test_creation_url_with_trailing_slash(stack, owner):
    """tusd and most tus clients write the endpoint as .../tus/."""
    data = os.urandom(3000)
    r = stack.post(f"{FILES}/tus/", token=owner.access, data=b"",
                   headers={**TUS, "Upload-Length": str(len(data))})
    assert r.status_code == 201, r.text
    path = r.headers["Location"]
    assert path.startswith(f"{FILES}/tus/") and HEX24.match(fid(path)), path
    assert patch(stack, owner, path, 0, data[:1000]).status_code == 204
    assert offset_of(stack, owner, path) == 1000
    assert patch(stack, owner, path, 1000, data[1000:]).status_code == 204
    assert download(stack, owner, fid(path)).content == data
    # creation-with-upload and termination through the same spelling
    r = stack.post(f"{FILES}/tus/", token=owner.access, data=b"abc",
                   headers={**TUS, **OCTETS, "Upload-Length": "10"})
    assert r.status_code == 201 and r.headers["Upload-Offset"] == "3", r.text
    r = stack.req("DELETE", r.headers["Location"], token=owner.access, headers=TUS)
    assert r.status_code == 204
    # It is the same protected route: no token, no upload.
    r = stack.post(f"{FILES}/tus/", data=b"", headers={**TUS, "Upload-Length": "1"})
    assert r.status_code == 401


def test_protocols_do_not_mix(stack, owner):
    up = init_upload(stack, owner, 10)
    r = patch(stack, owner, f"{FILES}/tus/{up['upload_id']}", 0, b"0123456789")
    assert_error(r, 400, "wrong_protocol")
    path = create(stack, owner, 10).headers["Location"]
    assert_error(put_chunk(stack, owner, fid(path), 0, b"0123456789"), 400, "wrong_protocol")
    assert_error(complete(stack, owner, fid(path)), 400, "wrong_protocol")
    assert offset_of(stack, owner, path) == 0


def test_tus_and_chunk_files_are_alike(stack, owner):
    data = os.urandom(1234)
    chunked = upload_file(stack, owner, data, filename="same.bin", sha256=sha256(data))
    path = create(stack, owner, len(data), {
        "Upload-Metadata": meta(filename="same.bin", sha256=sha256(data))}).headers["Location"]
    assert patch(stack, owner, path, 0, data).status_code == 204
    a = assert_ok(stack.get(f"{FILES}/{chunked['id']}/info", token=owner.access))
    b = assert_ok(stack.get(f"{FILES}/{fid(path)}/info", token=owner.access))
    assert set(a) == set(b) == FILE_KEYS
    assert set(chunked) == FILE_KEYS
    for k in ("owner_id", "filename", "content_type", "sniffed_type", "size", "sha256",
              "chat_id", "expires_at"):
        assert a[k] == b[k], k
    assert a["sha256"] == sha256(data)
    assert b["download_url"] == f"{FILES}/{fid(path)}"


def test_tus_sha256_metadata_is_verified(stack, owner):
    data = os.urandom(100)
    path = create(stack, owner, len(data),
                  {"Upload-Metadata": meta(sha256=sha256(b"other"))}).headers["Location"]
    r = patch(stack, owner, path, 0, data)
    assert_error(r, 409, "sha256_mismatch")
    assert_error(stack.get(f"{FILES}/{fid(path)}/info", token=owner.access), 404, "file_not_found")


# -- a client that goes away mid-PATCH ----------------------------------------------------------
def _cut_patch(stack, user, path, offset, body, sent, extra=""):
    """PATCH with the full Content-Length, but only `sent` bytes, then close."""
    import socket
    host, port = stack.base.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=15)
    s.sendall((f"PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {user.access}\r\n"
               f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n{extra}"
               "Content-Type: application/offset+octet-stream\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
              + body[:sent])
    time.sleep(0.3)
    s.close()


def _offset_settled(stack, user, path):
    """HEAD until two answers agree (the app may still be finishing the cut PATCH)."""
    last = None
    for _ in range(50):
        now = offset_of(stack, user, path)
        if now == last:
            return now
        last = now
        time.sleep(0.1)
    return last


def test_client_disconnect_mid_patch_then_resume(stack, owner):
    data = os.urandom(600000)
    path = create(stack, owner, len(data)).headers["Location"]
    assert patch(stack, owner, path, 0, data[:100000]).status_code == 204
    _cut_patch(stack, owner, path, 100000, data[100000:], 200000)
    offset = _offset_settled(stack, owner, path)
    # tus: the server keeps what it received (or nothing of the cut request),
    # never more than arrived.
    assert 100000 <= offset <= 300000, offset
    r = patch(stack, owner, path, offset, data[offset:])
    assert r.status_code == 204, r.text
    assert sha256(download(stack, owner, fid(path)).content) == sha256(data)


def test_client_disconnect_with_checksum_keeps_offset(stack, owner):
    data = os.urandom(400000)
    path = create(stack, owner, len(data)).headers["Location"]
    _cut_patch(stack, owner, path, 0, data, 150000,
               extra=f"Upload-Checksum: {checksum('sha256', data)}\r\n")
    assert _offset_settled(stack, owner, path) == 0
    assert patch(stack, owner, path, 0, data).status_code == 204
    assert download(stack, owner, fid(path)).content == data


def test_racing_patches(stack, owner):
    """Six PATCHes at offset 0 at once, three with other bytes: one wins,
    the rest get 409, and the file holds the winner's bytes."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from hsapi import Client
    good, bad = os.urandom(200000), os.urandom(200000)
    path = create(stack, owner, len(good) + 10).headers["Location"]
    barrier = threading.Barrier(6)

    def one(i):
        body = good if i % 2 else bad
        c = Client(stack.base)
        barrier.wait()
        return patch(c, owner, path, 0, body), body

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, range(6)))
    won = [b for r, b in results if r.status_code == 204]
    assert len(won) == 1, [r.status_code for r, _ in results]
    for r, _ in results:
        if r.status_code != 204:
            assert_error(r, 409, {"offset_mismatch", "range_busy"})
    assert offset_of(stack, owner, path) == len(good)
    assert patch(stack, owner, path, len(good), b"0123456789").status_code == 204
    assert download(stack, owner, fid(path)).content == won[0] + b"0123456789"
