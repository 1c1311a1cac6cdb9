"""The API document (www/openapi.json) against the apps' real route tables,
and the docs page (/docs/) as the stack serves it.

The route tables come from the built binaries: every hs-* program in
$HS_BIN_DIR (default build/bin) prints one "METHOD PATTERN auth|public" line
per route with --routes. A route the document lacks, or an operation no app
serves, fails the first test with the difference.
"""
import json
import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from hsapi import app_binaries as hsapi_app_binaries

ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = ROOT / "www" / "openapi.json"
BIN_DIR = Path(os.environ.get("HS_BIN_DIR", str(ROOT / "build" / "bin")))
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
BUNDLE = "/vendor/swagger-ui/swagger-ui-bundle.js"


def load_doc():
    with open(DOC_PATH, encoding="utf-8") as f:
        return json.load(f)


def app_binaries():
    bins = hsapi_app_binaries()
    if not bins:
        pytest.fail(f"no hs-* binaries in {BIN_DIR}: build first (make) or set HS_BIN_DIR")
    return bins


def route_table():
    """{(METHOD, pattern): "auth"|"public"} over every app, and where each came from."""
    routes, origin = {}, {}
    for binary in app_binaries():
        proc = subprocess.run([str(binary), "--routes"], capture_output=True, text=True,
                              timeout=30)
        assert proc.returncode == 0, (
            f"{binary.name} --routes exited {proc.returncode}: {proc.stderr.strip()}")
        lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        assert lines, f"{binary.name} --routes printed no routes"
        for line in lines:
            parts = line.split()
            assert len(parts) == 3 and parts[2] in ("auth", "public"), (
                f"{binary.name} --routes: unexpected line {line!r}")
            key = (parts[0].upper(), parts[1])
            assert key not in routes, (
                f"{key[0]} {key[1]} is served by both {origin[key]} and {binary.name}")
            routes[key] = parts[2]
            origin[key] = binary.name
    return routes


def doc_operations(doc):
    """{(METHOD, path): operation} for every operation in the document."""
    ops = {}
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                ops[(method.upper(), path)] = op
    return ops


def uses_bearer(doc, op):
    security = op.get("security", doc.get("security", []))
    return any("bearerAuth" in requirement for requirement in security)


def test_document_matches_route_tables():
    routes = route_table()
    ops = doc_operations(load_doc())
    missing = sorted(set(routes) - set(ops))
    extra = sorted(set(ops) - set(routes))
    report = []
    if missing:
        report.append("routes the apps serve but www/openapi.json lacks:")
        report += [f"  {m} {p}" for m, p in missing]
    if extra:
        report.append("operations in www/openapi.json that no app serves:")
        report += [f"  {m} {p}" for m, p in extra]
    if report:
        print("\n".join(report))
    assert not report, "\n".join(report)


def test_security_matches_route_auth():
    routes = route_table()
    doc = load_doc()
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme.get("bearerFormat")) == (
        "http", "bearer", "JWT")
    wrong = []
    for key, op in sorted(doc_operations(doc).items()):
        if key not in routes:
            continue  # reported by test_document_matches_route_tables
        method, path = key
        if routes[key] == "auth":
            if not uses_bearer(doc, op):
                wrong.append(f"{method} {path} needs a token but does not declare bearerAuth")
            elif "401" not in op.get("responses", {}):
                wrong.append(f"{method} {path} needs a token but documents no 401")
        elif uses_bearer(doc, op):
            wrong.append(f"{method} {path} is public but declares bearerAuth")
    print("\n".join(wrong))
    assert not wrong, "\n".join(wrong)


def test_document_is_well_formed():
    """Cheap structural checks; a full OpenAPI validator is not a test dependency."""
    doc = load_doc()
    assert doc["openapi"] == "3.0.3"
    assert doc["servers"] == [{"url": "/"}]
    problems = []

    def resolve(pointer):
        node = doc
        for part in pointer.lstrip("#/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def walk(node, where):
        if isinstance(node, dict):
            target = node.get("$ref")
            if isinstance(target, str) and resolve(target) is None:
                problems.append(f"{where}: unresolved $ref {target}")
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    walk(doc, "#")
    op_ids = []
    for (method, path), op in doc_operations(doc).items():
        op_ids.append(op.get("operationId"))
        declared = set()
        for p in op.get("parameters", []) + doc["paths"][path].get("parameters", []):
            p = resolve(p["$ref"]) if "$ref" in p else p
            if p and p.get("in") == "path":
                declared.add(p["name"])
        templated = set(re.findall(r"{([^}]+)}", path))
        if templated != declared:
            problems.append(f"{method} {path}: path parameters {sorted(declared)} "
                            f"!= template {sorted(templated)}")
        if not op.get("responses"):
            problems.append(f"{method} {path}: no responses")
    if len(set(op_ids)) != len(op_ids) or None in op_ids:
        problems.append(f"operationIds missing or repeated: {op_ids}")
    assert not problems, "\n".join(problems)


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts = []  # [src or None, inline text]
        self.links = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts.append([attrs.get("src"), ""])
            self._in_script = True
        elif tag == "link":
            self.links.append(attrs.get("href"))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1][1] += data


def test_stack_serves_document_and_docs_page(stack):
    import requests

    base = stack.base
    r = requests.get(f"{base}/openapi.json", timeout=10)
    assert r.status_code == 200
    assert r.headers.get("Content-Type", "").startswith("application/json")
    assert r.json() == load_doc()

    r = requests.get(f"{base}/docs/", timeout=10)
    assert r.status_code == 200
    assert r.headers.get("Content-Type", "").startswith("text/html")
    page = _Scripts()
    page.feed(r.text)
    srcs = [src for src, _ in page.scripts]
    # The build versions asset URLs (/v/<hash>/vendor/...; conf/build-www.sh).
    assert any(s.endswith(BUNDLE) for s in srcs), f"/docs/ does not load {BUNDLE}: scripts {srcs}"
    # The CSP allows scripts from 'self' only: no inline code may be needed.
    inline = [text for src, text in page.scripts if not src and text.strip()]
    assert not inline, f"/docs/ has inline scripts, which the CSP blocks: {inline}"

    for path in srcs + [h for h in page.links if h and h.startswith("/")]:
        res = requests.get(f"{base}{path}", timeout=10)
        assert res.status_code == 200, f"{path}: {res.status_code}"
        assert res.content, f"{path} is empty"
    res = requests.get(f"{base}{BUNDLE}", timeout=10)
    assert res.status_code == 200
    assert "javascript" in res.headers.get("Content-Type", "")
    init = requests.get(f"{base}/docs/init.js", timeout=10)
    assert init.status_code == 200 and "/openapi.json" in init.text
