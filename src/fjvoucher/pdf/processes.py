"""Programs we start live no longer than we do: LibreOffice is killed if merge is interrupted or killed.

Each LibreOffice runs in a process group (POSIX) of its own, so that it and the soffice.bin it
starts can be killed together.  A merge killed outright (SIGKILL, a closed terminal) runs no
clean-up of its own, so on POSIX a tiny watchdog process holds a pipe from us: when we die the
pipe closes, and the watchdog kills the groups still registered.  On Windows a job object that
kills its processes when its last handle closes does the same.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

WATCHDOG = (
    "import os, signal, sys\n"
    "groups = set()\n"
    "for line in sys.stdin:\n"
    "    (groups.add if line[0] == '+' else groups.discard)(int(line[1:]))\n"
    "for pid in groups:\n"
    "    try:\n"
    "        os.killpg(pid, signal.SIGKILL)\n"
    "    except OSError:\n"
    "        pass\n"
)


def spawn(command: list[str], env: dict | None = None, **kwargs) -> subprocess.Popen:
    """Start `command` in a process group of its own (POSIX) or a new process group (Windows)."""
    if sys.platform == "win32":  # (not os.name: type checkers know the Windows-only flag by sys.platform)
        return subprocess.Popen(command, env=env, creationflags=subprocess.CREATE_NEW_PROCESS_GROUP, **kwargs)
    return subprocess.Popen(command, env=env, start_new_session=True, **kwargs)


def kill_tree(proc: subprocess.Popen) -> None:
    """Kill `proc` and everything it started."""
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):  # it ended on its own meanwhile
            os.killpg(proc.pid, signal.SIGKILL)
    else:
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, check=False)


@dataclass(frozen=True)
class Finished:
    """How a program ended: its return code (None: killed after the timeout) and what it printed."""

    returncode: int | None
    out: bytes
    err: bytes


def run_within(command: list[str], timeout: float, *, env: dict | None = None,
               track: Callable[[subprocess.Popen, bool], None] | None = None) -> Finished:
    """Run `command` in a group of its own; kill it and all it started if it has not ended in `timeout` s.

    The one place a program is started and waited for.  `track(proc, running)` hears when it
    starts and ends (so an abort can kill it).  Raise OSError when it cannot be started.
    """
    proc = spawn(command, env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    if track:
        track(proc, True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return Finished(proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        kill_tree(proc)
        out, err = proc.communicate()  # reap it and close its pipes
        return Finished(None, out, err)
    finally:
        if track:
            track(proc, False)


def output_within(command: list[str], timeout: float) -> str | None:
    """Return what `command` prints, or None when it cannot run or has not finished within `timeout` s."""
    try:
        finished = run_within(command, timeout)
    except OSError:
        return None
    return finished.out.decode("utf-8", "replace").strip() if finished.returncode == 0 else None


class Lifeline:
    """Kill the programs registered with it when this process dies, however it dies."""

    def __init__(self):
        self.watchdog = None
        self.job = None
        if os.name == "posix":
            self.watchdog = subprocess.Popen([sys.executable, "-c", WATCHDOG], stdin=subprocess.PIPE,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                             start_new_session=True)
        elif os.name == "nt":
            self.job = _kill_on_close_job()

    def adopt(self, proc: subprocess.Popen) -> None:
        """Register `proc` (and its group): it is killed if we die before `release`."""
        if self.watchdog is not None:
            self._tell(f"+{proc.pid}\n")
        elif self.job is not None:
            _assign(self.job, proc)

    def release(self, proc: subprocess.Popen) -> None:
        """Forget `proc`: it has ended."""
        if self.watchdog is not None:
            self._tell(f"-{proc.pid}\n")

    def close(self) -> None:
        """Stop watching (everything registered has been released or killed)."""
        if self.watchdog is not None:
            assert self.watchdog.stdin is not None  # Popen(stdin=PIPE): our end of the pipe
            with contextlib.suppress(OSError):
                self.watchdog.stdin.close()
            self.watchdog.wait()

    def _tell(self, line: str) -> None:
        assert self.watchdog is not None and self.watchdog.stdin is not None  # callers check; stdin is a pipe
        with contextlib.suppress(OSError):  # a watchdog gone cannot be told; abort still kills
            self.watchdog.stdin.write(line.encode("ascii"))
            self.watchdog.stdin.flush()


def _kill_on_close_job():
    """Return a Windows job object whose processes are killed when its last handle closes (ours)."""
    if sys.platform != "win32":  # only Lifeline on Windows asks; type checkers then skip windll elsewhere
        return None
    try:
        import ctypes
        from ctypes import wintypes

        class Limits(ctypes.Structure):
            _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                        ("LimitFlags", wintypes.DWORD), ("MinimumWorkingSetSize", ctypes.c_size_t),
                        ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", wintypes.DWORD),
                        ("Affinity", ctypes.c_size_t), ("PriorityClass", wintypes.DWORD),
                        ("SchedulingClass", wintypes.DWORD)]

        class Extended(ctypes.Structure):
            _fields_ = [("BasicLimitInformation", Limits), ("IoInfo", ctypes.c_uint64 * 6),
                        ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                        ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]

        kernel32 = ctypes.windll.kernel32
        job = kernel32.CreateJobObjectW(None, None)
        info = Extended()
        info.BasicLimitInformation.LimitFlags = 0x2000  # JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        kernel32.SetInformationJobObject(job, 9, ctypes.byref(info), ctypes.sizeof(info))  # extended limits
        return job
    except Exception:  # not on Windows after all, or the API refused: abort still kills on Ctrl-C
        return None


def _assign(job, proc: subprocess.Popen) -> None:
    if sys.platform != "win32":  # a job exists only on Windows; type checkers then skip windll elsewhere
        return
    try:
        import ctypes

        ctypes.windll.kernel32.AssignProcessToJobObject(job, int(proc._handle))
    except Exception:  # the process already belongs to another job without nesting rights
        pass
