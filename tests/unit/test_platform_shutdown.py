"""`astralytiq up` stops every child even when Ctrl-C arrives again while it is stopping."""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
from pathlib import Path

from tests.support import BIN

# A child that takes a second to stop on SIGTERM (as the servers do), so the second Ctrl-C lands
# while `up` is still waiting for it; then a second child that must still be stopped.
SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from pathlib import Path
    from cli.platform import Supervisor, shutdown

    supervisor = Supervisor(Path(sys.argv[1]))
    slow = "import signal, sys, time\\n" \\
        "signal.signal(signal.SIGTERM, lambda *a: (time.sleep(1), sys.exit(0)))\\n" \\
        "time.sleep(60)"
    supervisor.start("slow", [sys.executable, "-c", slow], {})
    supervisor.start("plain", [sys.executable, "-c", "import time; time.sleep(60)"], {})
    time.sleep(1)  # both children running, their handlers installed
    print(" ".join(str(p.pid) for p in supervisor.children.values()), flush=True)
    threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    shutdown(supervisor)
    print("stopped", flush=True)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_second_ctrl_c_while_stopping_still_stops_every_child(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "python"), "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    pids_line, last = done.stdout.strip().splitlines()
    assert last == "stopped"
    pids = [int(p) for p in pids_line.split()]
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if _alive(p)], "children left running after `up` stopped"
