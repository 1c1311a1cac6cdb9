"""The README's configuration table is the apps' own key table."""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN_DIR = pathlib.Path(os.environ.get("HS_BIN_DIR", ROOT / "build" / "bin"))


def test_readme_lists_every_config_key_with_its_default():
    table = subprocess.run([str(BIN_DIR / "hs-auth"), "--config-keys"], check=True,
                           capture_output=True, text=True).stdout
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) > 20
    readme = (ROOT / "README.md").read_text()
    missing = [row for row in rows if row not in readme]
    assert not missing, "README.md lacks (or has a stale) config row:\n" + "\n".join(missing)
