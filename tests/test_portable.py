"""The portable part: what differs on Windows, run here with the platform stubbed where that means something.

Nothing here proves fjvoucher runs on Windows (see the README for what was run where); it checks
that the Windows branches pick the right folders, names and commands.
"""

import sys

import pytest

from fjvoucher.outfolder import file_stem, safe_name
from fjvoucher.pdf import libreoffice, processes, system


def test_libreoffice_is_found_in_program_files_wherever_windows_keeps_it(tmp_path, monkeypatch):
    program = tmp_path / "Programs" / "LibreOffice" / "program"
    program.mkdir(parents=True)
    (program / "soffice.exe").write_bytes(b"MZ")
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(libreoffice.shutil, "which", lambda name: None)
    monkeypatch.setenv("ProgramFiles", str(tmp_path / "Programs"))
    assert libreoffice.find_soffice() == program / "soffice.exe"


@pytest.mark.parametrize("platform, words", [("win32", "libreoffice.org"), ("darwin", "brew"),
                                             ("linux", "apt-get install libreoffice-writer-nogui")])
def test_the_install_hint_fits_the_system(monkeypatch, platform, words):
    monkeypatch.setattr(sys, "platform", platform)
    assert words in system.install_hint()


def test_killing_a_tree_on_windows_uses_taskkill(monkeypatch):
    ran = []
    monkeypatch.setattr(processes.os, "name", "nt")
    monkeypatch.setattr(processes.subprocess, "run", lambda command, **kw: ran.append(command))

    class Proc:
        pid = 4242

    processes.kill_tree(Proc())
    assert ran == [["taskkill", "/F", "/T", "/PID", "4242"]]


def test_the_windows_job_object_is_only_made_on_windows():
    assert processes._kill_on_close_job() is None  # no windll here: abort still kills on Ctrl-C


@pytest.mark.parametrize("name", ["CON", "prn", "Aux", "NUL", "COM1", "LPT9", "con.txt"])
def test_names_windows_reserves_never_become_file_names(name):
    from fjvoucher.outfolder import _RESERVED

    for stem in (file_stem(name, "", 7), file_stem("", name, 7), safe_name(name)):
        assert stem and stem.split(".")[0].upper() not in _RESERVED, stem


def test_file_names_fit_windows_utf16_and_linux_utf8_limits():
    stem = safe_name("0935011001500001_" + "𪚥" * 200)  # 4 bytes in UTF-8, 2 units in UTF-16
    assert len(stem.encode("utf-8")) <= 200 and len(stem.encode("utf-16-le")) // 2 <= 200
    assert safe_name('a<b>c:d"e/f\\g|h?i*j') == "a_b_c_d_e_f_g_h_i_j"
