"""LibreOffice lives no longer than the merge that started it (16): killed, interrupted, or done."""

import signal
import subprocess
import sys
import time

import pytest

from fjvoucher.pdf.libreoffice import find_soffice
from support.synthetic import make_candidates, write_roster_xlsx

pytestmark = [pytest.mark.slow, pytest.mark.skipif(find_soffice() is None, reason="needs LibreOffice")]


def soffices(marker) -> list[str]:
    """Return the LibreOffice processes whose command line names `marker` (our output folder)."""
    found = subprocess.run(["pgrep", "-af", str(marker)], capture_output=True, text=True).stdout.splitlines()
    return [line for line in found if "soffice" in line]


def start_merge(tmp_path, count: int = 60, engine: str = "libreoffice"):
    roster = write_roster_xlsx(tmp_path / "r.xlsx", make_candidates(count, seed=81))
    return subprocess.Popen([sys.executable, "-m", "fjvoucher", "merge", str(roster), "-o", str(tmp_path / "out"),
                             "-q", "--format", "both", "--batch-size", "10", "--no-per-candidate",
                             "--pdf-engine", engine, "--ledger", str(tmp_path / "l.db")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_libreoffice_dies_with_the_merge(tmp_path, how):
    merge = start_merge(tmp_path)
    out = tmp_path / "out"
    # SIGINT once every DOCX is written and only PDFs remain; SIGKILL as soon as LibreOffice runs.
    ready = (lambda: soffices(out)) if how == signal.SIGKILL else (
        lambda: len(list((out / "batches").glob("*.docx"))) == 6 and soffices(out))
    assert wait_for(ready), "LibreOffice never started"
    merge.send_signal(how)
    merge.communicate(timeout=60)
    assert wait_for(lambda: not soffices(out), 10), soffices(out)
    if how == signal.SIGINT:
        assert merge.returncode != 0 and not list(out.glob(".fjvoucher-pdf-*"))


def children(pid: int) -> list[str]:
    return subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_drawing_processes_die_with_the_merge(tmp_path, how):
    """The drawing engine's processes (one a core) end when the merge is killed outright or interrupted; an
    interrupted merge leaves no working folder."""
    merge = start_merge(tmp_path, count=200, engine="auto")
    out = tmp_path / "out"
    assert wait_for(lambda: len(children(merge.pid)) >= 1 and list((out / "batches").glob("*.docx"))), \
        "no drawing process started"
    workers = children(merge.pid)
    merge.send_signal(how)
    merge.communicate(timeout=60)
    assert wait_for(lambda: not [w for w in workers if subprocess.run(["kill", "-0", w], capture_output=True)
                                 .returncode == 0], 15), workers
    if how == signal.SIGINT:
        assert merge.returncode != 0 and not list(out.glob(".fjvoucher-pdf-*"))


def hanging_soffice(tmp_path):
    """A LibreOffice stand-in that answers --version and then hangs on every conversion (as a stuck one does)."""
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\n[ \"$1\" = --version ] && { echo 'LibreOffice 7.4.7.2'; exit 0; }\n"
                    "sleep 300 & wait\n")
    fake.chmod(0o755)
    return fake


def test_a_stuck_libreoffice_is_killed_when_the_merge_is_killed_outright(tmp_path):
    roster = write_roster_xlsx(tmp_path / "r.xlsx", make_candidates(4, seed=82))
    fake = hanging_soffice(tmp_path)
    merge = subprocess.Popen([sys.executable, "-m", "fjvoucher", "merge", str(roster), "-o", str(tmp_path / "out"),
                              "-q", "--format", "pdf", "--soffice", str(fake), "--ledger", str(tmp_path / "l.db")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sleeping():
        return subprocess.run(["pgrep", "-f", "sleep 300"], capture_output=True, text=True).stdout.split()

    assert wait_for(lambda: soffices(tmp_path / "out") and sleeping()), "the stand-in never started"
    merge.send_signal(signal.SIGKILL)  # no clean-up of its own can run: the watchdog must
    merge.wait(timeout=30)
    assert wait_for(lambda: not soffices(tmp_path / "out"), 10), soffices(tmp_path / "out")
