"""conf/install-deps.sh and the Makefile on a fresh machine (issue 11,
defect 20): `make run` installs only what serving needs (no Node, npm,
browser or test tools), `make test` the test toolchain too (clang and llvm
for libFuzzer included), and a lighttpd or redis-server the machine already
had is never stopped or disabled. apt-get, dpkg-query, systemctl and id are
stand-ins here that record what they were asked."""
import shutil
import stat
import subprocess

from hsapi import ROOT

FAKES = {
    "dpkg-query": '#!/bin/sh\nfor a; do pkg=$a; done\nfor p in $FAKE_INSTALLED; do '
                  '[ "$p" = "$pkg" ] && { echo "install ok installed"; exit 0; }; done\nexit 1\n',
    "apt-get": '#!/bin/sh\necho "apt-get $*" >>"$FAKE_LOG"\n',
    "systemctl": '#!/bin/sh\necho "systemctl $*" >>"$FAKE_LOG"\n',
    "id": "#!/bin/sh\necho 0\n",
}
RUN_ONLY = {"lighttpd", "redis-server", "build-essential", "libfcgi-dev", "curl", "libmongoc-dev"}
TEST_ONLY = {"chromium", "nodejs", "npm", "python3-pytest", "clang", "libclang-rt-14-dev", "llvm",
             "clang-format", "libcmocka-dev", "wrk", "apache2", "libapache2-mod-fcgid",
             "libapache2-mod-xsendfile", "postgresql", "python3-pymongo"}


def install(tmp_path, which, installed=""):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in FAKES.items():
        p = bin_dir / name
        p.write_text(text)
        p.chmod(p.stat().st_mode | stat.S_IEXEC)
    initd = tmp_path / "init.d"
    initd.mkdir(exist_ok=True)
    for svc in ("lighttpd", "redis-server"):
        p = initd / svc
        p.write_text(f'#!/bin/sh\necho "init.d {svc} $*" >>"$FAKE_LOG"\n')
        p.chmod(0o755)
    log = tmp_path / "log"
    log.write_text("")
    # PATH: the stand-ins and grep, nothing else (no node: the test set then
    # asks for Debian's nodejs and npm).
    sys_dir = tmp_path / "sys"
    sys_dir.mkdir(exist_ok=True)
    if not (sys_dir / "grep").exists():
        (sys_dir / "grep").symlink_to(shutil.which("grep"))
    env = {"PATH": f"{bin_dir}:{sys_dir}", "FAKE_LOG": str(log), "FAKE_INSTALLED": installed,
           "HS_INITD_DIR": str(initd)}
    r = subprocess.run(["/bin/sh", str(ROOT / "conf" / "install-deps.sh"), which], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = log.read_text().splitlines()
    asked = set()
    for ln in lines:
        if ln.startswith("apt-get install"):
            asked |= {w for w in ln.split()[2:] if not w.startswith("-")}
    return asked, lines


def test_run_installs_only_what_serving_needs(tmp_path):
    asked, log = install(tmp_path, "run")
    assert RUN_ONLY <= asked
    assert not asked & TEST_ONLY, asked & TEST_ONLY
    # Both daemons were installed just now: Debian started them; stopped.
    assert "systemctl disable --now lighttpd" in log
    assert "systemctl disable --now redis-server" in log


def test_test_set_has_the_toolchain(tmp_path):
    asked, log = install(tmp_path, "test")
    assert RUN_ONLY | TEST_ONLY <= asked, (RUN_ONLY | TEST_ONLY) - asked
    # Debian's apache2 starts a system instance on :80 when installed;
    # the Apache front's tests run their own (conf/stack-apache.sh).
    assert "systemctl disable --now apache2" in log


def test_a_server_the_machine_had_is_left_alone(tmp_path):
    asked, log = install(tmp_path, "run", installed="lighttpd curl")
    assert "lighttpd" not in asked and "redis-server" in asked
    assert not [ln for ln in log if "lighttpd" in ln and not ln.startswith("apt-get")], log
    assert "systemctl disable --now redis-server" in log
    # Nothing missing: nothing installed, nothing touched.
    asked, log = install(tmp_path, "run", installed=" ".join(
        subprocess.run(["sh", "-c", ". /dev/stdin; echo $RUN_PKGS"], input=_pkg_lines("RUN_PKGS"),
                       capture_output=True, text=True).stdout.split()))
    assert log == []


def _pkg_lines(var):
    text = (ROOT / "conf" / "install-deps.sh").read_text()
    start = text.index(f'{var}="')
    return text[start:text.index('"', start + len(var) + 2) + 1] + "\n"


def test_make_run_needs_no_node():
    r = subprocess.run(["make", "-n", "run"], cwd=str(ROOT), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "install-deps.sh run" in r.stdout
    assert "node-deps" not in r.stdout and "install-deps.sh test" not in r.stdout
