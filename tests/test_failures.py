"""Every failure reaches the clerk as one line with the right exit code, never a traceback."""

import shutil
import sqlite3
import struct
import subprocess
import zipfile
import zlib

import pytest

from fjvoucher.ledger import storage
from fjvoucher.ledger.store import Ledger
from support import SAMPLES, run
from support.synthetic import make_candidates, write_roster_xlsx


def one_line(result, exit_code: int) -> str:
    """Assert the command failed with `exit_code` and said why in exactly one line; return that line.

    Lines the command printed before it failed (whose voucher it is) may precede the error.
    """
    assert result.exit_code == exit_code, result.output
    errors = [line for line in result.output.strip().splitlines() if line.startswith("错误 Error: ")]
    assert len(errors) == 1 and result.output.strip().endswith(errors[0]), result.output
    assert "Traceback" not in result.output
    return errors[0]


@pytest.fixture
def ledger(tmp_path):
    """A ledger holding the sample's 50 vouchers (DOCX only, no per-candidate files)."""
    path = tmp_path / "ledger.db"
    result = run("merge", SAMPLES / "roster.xlsx", "-o", tmp_path / "out", "--format", "docx",
                 "--no-per-candidate", "-q", "--ledger", path)
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KB file system of its own (tmpfs), unmounted afterwards; skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("needs permission to mount a small tmpfs (root, as in CI)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder):
    """Fill the file system of `folder` to the last byte."""
    with open(folder / "filler", "wb", buffering=0) as out:  # unbuffered: close has nothing left to flush
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass


def test_a_locked_ledger_is_one_line_after_the_timeout(ledger, monkeypatch):
    monkeypatch.setattr(storage, "LOCK_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(ledger, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        line = one_line(run("revoke", "3501-2009-000001", "--reason", "误发", "--yes", "--ledger", ledger), 1)
    finally:
        holder.execute("ROLLBACK")
    assert str(ledger) in line and "另一个 fjvoucher 正在写这个台账" in line


def test_a_full_disk_while_writing_a_workbook_is_one_line(small_disk):
    fill(small_disk)
    line = one_line(run("layout", "-o", small_disk / "名册.xlsx"), 1)
    assert "磁盘已满" in line


def test_a_full_disk_under_the_ledger_is_one_line_and_the_ledger_is_unchanged(tmp_path, small_disk):
    ledger = small_disk / "ledger.db"
    Ledger(ledger).close()
    before = ledger.read_bytes()
    fill(small_disk)
    rows = make_candidates(200, seed=3)
    result = run("merge", write_roster_xlsx(tmp_path / "r.xlsx", rows), "-o", tmp_path / "out", "--format",
                 "docx", "--no-per-candidate", "-q", "--ledger", ledger)
    line = one_line(result, 1)
    assert str(ledger) in line and "磁盘已满" in line
    assert ledger.read_bytes() == before


def test_a_read_only_ledger_is_one_line(ledger, small_disk):
    shutil.copy(ledger, small_disk / "ledger.db")
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    line = one_line(run("revoke", "3501-2009-000001", "--reason", "误发", "--yes",
                        "--ledger", small_disk / "ledger.db"), 1)
    assert "只读" in line


def test_a_corrupt_page_is_one_line(ledger):
    data = bytearray(ledger.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)  # every page but the schema
    ledger.write_bytes(bytes(data))
    line = one_line(run("list", "--ledger", ledger), 1)
    assert str(ledger) in line and "损坏" in line


@pytest.mark.parametrize("command", [
    ("verify", "3501-2009-000001", "--name", "张三"), ("list",), ("report", "--month", "2009-06"),
    ("supersede", "0935011001500001"), ("revoke", "3501-2009-000001", "--reason", "误发", "--yes"),
    ("history", "3501-2009-000001"), ("restore", "3501-2009-000001", "--reason", "误操作"),
])
def test_a_file_that_is_not_a_ledger_is_one_line_for_every_ledger_command(tmp_path, command):
    bogus = tmp_path / "notes.db"
    bogus.write_bytes(b"these are my notes, not a database" * 200)
    line = one_line(run(*command, "--ledger", bogus), 2)
    assert str(bogus) in line and "不是凭证台账文件" in line


def test_a_hand_edited_row_is_one_line(ledger):
    with sqlite3.connect(ledger) as db:
        db.execute("UPDATE vouchers SET issued_on = 'last June' WHERE voucher_no = '3501-2009-000002'")
    line = one_line(run("list", "--ledger", ledger), 1)
    assert "3501-2009-000002" in line and "记录已损坏" in line


def test_an_output_folder_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    line = one_line(run("layout", "-o", tmp_path / "a-file" / "名册.xlsx"), 1)
    assert "a-file" in line


def test_a_master_not_in_utf8_is_one_line_naming_the_part(tmp_path):
    from fjvoucher.word.master import default_master

    master = tmp_path / "utf16.docx"
    with zipfile.ZipFile(default_master()) as src, zipfile.ZipFile(master, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "word/document.xml":
                data = data.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
            dst.writestr(item, data)
    result = run("merge", SAMPLES / "roster.xlsx", "--template", master, "-o", tmp_path / "o", "--format", "docx",
                 "--ledger", tmp_path / "l.db")
    assert "word/document.xml 不是 UTF-8" in one_line(result, 1)


def _png_header(width: int, height: int) -> bytes:
    """Return a tiny PNG file that claims `width` × `height` pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_a_decompression_bomb_photo_is_a_photo_finding(tmp_path):
    rows = make_candidates(2, seed=4)
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / f"{rows[0]['id_number']}.png").write_bytes(_png_header(100_000, 100_000))
    result = run("merge", write_roster_xlsx(tmp_path / "r.xlsx", rows), "--photos", photos, "-o", tmp_path / "o",
                 "--format", "docx", "--ledger", tmp_path / "l.db")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "大得异常" in result.output


def test_an_error_a_master_raises_while_rendering_is_one_line(tmp_path):
    import docx

    master = tmp_path / "m.docx"
    document = docx.Document()
    document.add_paragraph('{{ name|replace("x") }}')  # a filter missing an argument fails only when rendering
    document.save(master)
    result = run("merge", SAMPLES / "roster.xlsx", "--template", master, "-o", tmp_path / "o", "--format", "docx",
                 "--ledger", tmp_path / "l.db")
    line = one_line(result, 1)
    assert str(master) in line and "TypeError" in line


def test_a_bug_is_one_line_pointing_to_a_log_with_the_traceback(tmp_path, monkeypatch):
    from fjvoucher.roster import checks

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(checks, "check_roster", broken)
    result = run("validate", SAMPLES / "roster.xlsx", env={"XDG_STATE_HOME": str(tmp_path / "state")})
    line = one_line(result, 3)
    assert "请把此文件发给技术支持: " in line
    log = next((tmp_path / "state").rglob("fjvoucher-error-*.log"))
    assert str(log) in line
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "RuntimeError: boom" in text
    assert log.stat().st_mode & 0o077 == 0


def test_merge_options_that_are_wrong_exit_2(tmp_path):
    result = run("merge", SAMPLES / "roster.xlsx", "--batch-size", "0", "-o", tmp_path / "o")
    assert result.exit_code == 2


