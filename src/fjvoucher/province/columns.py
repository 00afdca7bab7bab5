"""The columns of the upload to the national query system, declared once, and the province's mapping of them.

No official column template is public, so the file carries these headers by default and the
province renames, reorders or leaves out columns with one setting, `upload_columns`:
`fjvoucher config set upload_columns "certificate_no=ZSBH, name=XM, id_number=SFZH"` writes only
those three columns, in that order, under those headers (`key` alone keeps the default header).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fjvoucher.errors import InputError


@dataclass(frozen=True)
class UploadColumn:
    """One column the upload can carry: its key (for the setting), default header and what it holds."""

    key: str
    header: str
    holds: str


UPLOAD_COLUMNS: tuple[UploadColumn, ...] = (
    UploadColumn("certificate_no", "证书编号", "16 digits, as on the roster"),
    UploadColumn("name", "姓名", ""),
    UploadColumn("sex", "性别", "男/女"),
    UploadColumn("id_number", "身份证号", "in full (the national system matches on it)"),
    UploadColumn("occupation", "职业（工种）", ""),
    UploadColumn("level", "等级", "as on the voucher, e.g. 四级/中级"),
    UploadColumn("theory_score", "理论知识考核成绩", "a number; text in the CSV exactly as recorded"),
    UploadColumn("skill_score", "操作技能考核成绩", "a number; text in the CSV exactly as recorded"),
    UploadColumn("result", "评定成绩", "合格/良好/优秀"),
    UploadColumn("issue_date", "发证日期", "a date; 2009-06-10 in the CSV"),
    UploadColumn("center", "发证机构", "the issuing centre's full name"),
    UploadColumn("voucher_no", "凭证编号", "the voucher's NO"),
    UploadColumn("status", "凭证状态", "at the month's end, in verify's words (genuine, expired or superseded)"),
)
COLUMN_BY_KEY = {c.key: c for c in UPLOAD_COLUMNS}
SETTING = "upload_columns"


def chosen_columns(setting: str | None) -> list[tuple[str, str]]:
    """Return the (key, header) pairs to write, in order: the setting's, else every column by default."""
    if not setting or not setting.strip():
        return [(c.key, c.header) for c in UPLOAD_COLUMNS]
    chosen: list[tuple[str, str]] = []
    for part in filter(None, (p.strip() for p in re.split(r"[,，]", setting))):
        key, _, header = (s.strip() for s in part.partition("="))
        if key not in COLUMN_BY_KEY:
            raise InputError(f"设置 {SETTING} 中的「{key}」不认识；可用的有：{'、'.join(COLUMN_BY_KEY)} "
                             "(unknown upload column)")
        if any(key == k for k, _ in chosen):
            raise InputError(f"设置 {SETTING} 中「{key}」出现了两次，每列只能写一次 (column named twice)")
        chosen.append((key, header or COLUMN_BY_KEY[key].header))
    headers = [h for _, h in chosen]
    if len(set(headers)) != len(headers):
        raise InputError(f"设置 {SETTING} 中有两列表头相同，请改成不同的表头 (two columns share a header)")
    return chosen


def markdown_table() -> str:
    """Return the README's table of upload columns (tests/test_docs.py keeps the README equal to it)."""
    lines = ["| 键 key | 默认表头 default header | 内容 · what it holds |", "|---|---|---|"]
    lines += [f"| `{c.key}` | {c.header} | {c.holds} |" for c in UPLOAD_COLUMNS]
    return "\n".join(lines)
