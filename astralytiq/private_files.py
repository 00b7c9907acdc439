"""The data folder is private: its databases, secret key, logs and reports are the owner's only.

Every entry point (the CLI, ``python -m serving``) calls ``restrict_new_files`` first, so what it
and its children (the MLflow and Prefect servers `up` starts, SQLite's journal files) create is
0600 in 0700 folders, and ``private_folder`` tightens a data folder made before.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077


def restrict_new_files() -> None:
    """New files 0600 and new folders 0700, in this process and the processes it starts."""
    os.umask(PRIVATE_UMASK)


def tighten(folder: Path) -> None:
    """A data folder made earlier with wider rights (0755) becomes 0700, with the files in it
    that others could read, if this user owns them (a volume owned by someone else is left)."""
    if not folder.is_dir():
        return
    for path in (folder, *folder.glob("*")):
        try:
            info = path.lstat()
        except OSError:
            continue
        if info.st_uid == os.getuid() and info.st_mode & 0o077 and not path.is_symlink():
            path.chmod(0o700 if path.is_dir() else 0o600)
