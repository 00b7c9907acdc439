"""The data folder is private: the app database, the secret key, the logs of `up`'s servers and
what they create are 0600 in a 0700 folder, and a folder made earlier with wider rights is narrowed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.support import BIN


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": str(BIN),
        "HOME": str(data_dir.parent),
        "ASTRALYTIQ_DATA_DIR": str(data_dir),
        "GX_ANALYTICS_ENABLED": "False",
    }
    return subprocess.run(
        [str(BIN / "astralytiq"), *args], input=stdin, capture_output=True, text=True, env=env, timeout=300
    )


def test_the_cli_makes_the_app_database_and_secret_key_private(tmp_path: Path) -> None:
    os.umask(0o022)  # a usual login umask: without the fix, files would be 0644 in a 0755 folder
    data_dir = tmp_path / "data"
    created = _cli(data_dir, "users", "create", "ana", "--password-stdin", stdin="ana-password-1\n")
    assert created.returncode == 0, created.stderr
    make_key = (
        "from astralytiq.private_files import restrict_new_files as r; r(); "
        f"from astralytiq.settings import Settings; Settings(data_dir={str(data_dir)!r}).signing_key()"
    )
    subprocess.run([str(BIN / "python"), "-c", make_key], check=True)  # as `up` and the API make it
    assert mode(data_dir) == 0o700
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"app.db", "secret_key"}
    assert {p.name: mode(p) for p in files} == dict.fromkeys((p.name for p in files), 0o600)


def test_a_data_folder_made_before_with_wider_rights_is_narrowed(tmp_path: Path) -> None:
    data_dir = tmp_path / "old"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    (data_dir / "app.db").write_text("")
    (data_dir / "app.db").chmod(0o644)
    listed = _cli(data_dir, "users", "list")
    assert listed.returncode == 0, listed.stderr
    assert mode(data_dir) == 0o700 and mode(data_dir / "app.db") == 0o600


def test_the_servers_up_starts_and_their_logs_are_private(tmp_path: Path) -> None:
    """`up` starts MLflow and Prefect as children: they inherit the CLI's umask, so what they
    create (mlflow.db) is private too, like the logs `up` writes for them."""
    os.umask(0o022)
    script = f"""
import sys
from pathlib import Path
from cli.app import main
from cli.platform import Supervisor

sys.argv = ["astralytiq", "datasets", "list"]
try:
    main()  # what every `astralytiq` command (`up` too) does first
except SystemExit:
    pass
supervisor = Supervisor(Path({str(tmp_path)!r}) / "logs")
child = supervisor.start("writer", [sys.executable, "-c", "open({str(tmp_path / "made.db")!r}, 'w').write('x')"], {{}})
child.wait()
"""
    env = {**os.environ, "ASTRALYTIQ_DATA_DIR": str(tmp_path / "data")}
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, env=env, capture_output=True)
    assert mode(tmp_path / "logs") == 0o700
    assert mode(tmp_path / "logs" / "writer.log") == 0o600
    assert mode(tmp_path / "made.db") == 0o600
