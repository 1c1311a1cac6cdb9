"""The bridge's files call one another in one direction only (issue 12):
ws-bridge/README.md, "Dependencies", lists which file may call which, and
this test parses ws-bridge/*.c and fails on a call (or a function taken by
address) that the list does not allow, or on a cycle. Needs no stack."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
BRIDGE = ROOT / "ws-bridge"


def _code(path):
    """The file without comments and string contents."""
    src = path.read_text()
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = re.sub(r"//[^\n]*", " ", src)
    return re.sub(r'"(?:\\.|[^"\\\n])*"', '""', src)


def calls():
    """{file: set of other files whose public names it uses}."""
    defs, uses = {}, {}
    for f in sorted(BRIDGE.glob("*.c")):
        src = _code(f)
        # a definition of a function or table at file scope, not static
        for m in re.finditer(r"^(?!static\b)[A-Za-z][^\n;=(]*?\b(hs_\w+)\s*[(\[]", src, re.M):
            defs.setdefault(m.group(1), f.name)
        uses[f.name] = set(re.findall(r"\bhs_\w+\b", src))
    return {f: {defs[n] for n in used if n in defs and defs[n] != f}
            for f, used in uses.items()}


def allowed():
    """The README's list: "a.c -> b.c c.c" lines in the Dependencies block."""
    text = (BRIDGE / "README.md").read_text()
    block = text.split("## Dependencies", 1)[1].split("```")[1]
    files = {f.name for f in BRIDGE.glob("*.c")}
    out = {}
    for line in block.strip().splitlines():
        left, right = line.split("->")
        targets = right.split()
        if targets == ["everything"]:
            targets = sorted(files)
        for f in left.replace(",", " ").split():
            out[f] = {t for t in targets if t not in ("nothing", f)}
    return out


def _cycle(graph):
    """A cycle as a list of files, or None."""
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if not state.get(m):
                found = visit(m)
                if found:
                    return found
        state[n] = 2
        stack.pop()
        return None

    for n in sorted(graph):
        if not state.get(n):
            found = visit(n)
            if found:
                return found
    return None


def test_every_file_is_listed():
    files = {f.name for f in BRIDGE.glob("*.c")}
    assert set(allowed()) == files


def test_the_listed_direction_has_no_cycle():
    assert _cycle(allowed()) is None


def test_calls_follow_the_listed_direction():
    rules = allowed()
    wrong = sorted(f"{f} -> {t}" for f, ts in calls().items() for t in ts
                   if t not in rules.get(f, set()))
    assert not wrong, "calls the README does not allow: " + ", ".join(wrong)
    assert _cycle(calls()) is None


def test_the_check_sees_a_cycle():
    # the checker itself: a back edge is found
    assert _cycle({"a.c": {"b.c"}, "b.c": {"a.c"}}) == ["a.c", "b.c", "a.c"]
    assert calls()["main.c"], "no call found at all: the parser is broken"
