"""lib/ calls only downward: core <- store <- domain <- http.

A module's layer is the folder of its .c file (lib/<layer>/<name>.c for
hs/<name>.h); the few headers without one are listed below. Every lib source
file, and every header it reaches through other headers, must belong to its
own layer or one below: the domain never sees hs/http.h, so the bridge and
the REST apps share its checks. Needs no stack."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIB = ROOT / "lib"
HEADERS = LIB / "include" / "hs"
LAYERS = ["core", "store", "domain", "http"]  # each may use those before it
HEADER_ONLY = {"ctx": "core", "queue": "core", "vec": "core", "store_ops": "store", "events_lua": "domain"}
MAX_LINES = 600
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of_header(path):
    """The layer of a header file, or None when no rule names it."""
    if path.parent == HEADERS:
        name = path.stem
        if name in HEADER_ONLY:
            return HEADER_ONLY[name]
        found = [layer for layer in LAYERS if (LIB / layer / (name + ".c")).exists()]
        return found[0] if len(found) == 1 else None
    rel = path.relative_to(LIB)
    return rel.parts[0] if rel.parts[0] in LAYERS else None


def includes(path):
    """The project headers path includes, resolved like the compiler does."""
    out = []
    for name in INCLUDE.findall(path.read_text()):
        local = path.parent / name
        if local.exists():
            out.append(local.resolve())
        elif (LIB / "include" / name).exists():
            out.append((LIB / "include" / name).resolve())
        elif name.startswith("hs/"):
            raise AssertionError(f"{path}: includes {name}, which does not exist")
    return out


def reached(path):
    """Every header path reaches, each with the chain that reaches it."""
    seen, todo = {}, [(path, [])]
    while todo:
        cur, chain = todo.pop()
        for h in includes(cur):
            if h not in seen:
                seen[h] = chain + [h]
                todo.append((h, chain + [h]))
    return seen


def rel(p):
    return str(p.relative_to(ROOT))


def test_every_lib_source_sits_in_a_layer_folder():
    stray = [rel(p) for p in LIB.rglob("*.c") if p.relative_to(LIB).parts[0] not in LAYERS]
    assert not stray, "lib sources outside lib/{core,store,domain,http}: " + ", ".join(stray)
    for layer in LAYERS:
        assert list((LIB / layer).rglob("*.c")), f"lib/{layer} is empty"


def test_every_header_has_a_layer():
    unknown = [rel(h) for h in HEADERS.glob("*.h") if layer_of_header(h) is None]
    assert not unknown, ("headers with no lib/<layer>/<name>.c and no entry in HEADER_ONLY "
                         "(or with a .c in two layers): " + ", ".join(unknown))


def test_includes_point_downward():
    bad = []
    for src in sorted(LIB.rglob("*.c")):
        mine = LAYERS.index(src.relative_to(LIB).parts[0])
        for h, chain in reached(src).items():
            layer = layer_of_header(h)
            if layer is not None and LAYERS.index(layer) > mine:
                bad.append(f"{rel(src)} ({LAYERS[mine]}) reaches {rel(h)} ({layer}) through "
                           + " -> ".join(rel(c) for c in chain))
    assert not bad, "includes that point up a layer:\n" + "\n".join(bad)


def test_domain_and_store_never_see_http():
    http = {(HEADERS / n).resolve() for n in ("http.h", "json.h", "app.h")}
    bad = [rel(src) for layer in ("core", "store", "domain")
           for src in sorted((LIB / layer).rglob("*.c")) if http & set(reached(src))]
    assert not bad, "below the HTTP layer but reaching hs/http.h, hs/json.h or hs/app.h: " + \
        ", ".join(bad)


def test_only_http_speaks_fastcgi():
    bad = [rel(p) for layer in ("core", "store", "domain")
           for src in sorted((LIB / layer).rglob("*.c"))
           for p in [src, *reached(src)] if "<fcgiapp.h>" in p.read_text()]
    assert not bad, "FastCGI below the HTTP layer: " + ", ".join(sorted(set(bad)))


def test_no_lib_file_over_600_lines():
    files = list(LIB.rglob("*.c")) + list(LIB.rglob("*.h"))
    long = [f"{rel(p)} ({n})" for p in sorted(files)
            if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not long, f"lib files over {MAX_LINES} lines (split by responsibility): " + \
        ", ".join(long)
