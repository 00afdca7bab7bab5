"""The official roster layout (闽劳社办[2009]127号 电子表格排列形式), declared once as data.

Everything else (the reader, the checks, the template contract, the README table, the
layout workbook) reads `FIELDS`; nothing else knows a header by heart.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One column of the roster: its key, official header, accepted variants and kind."""

    key: str
    header: str
    aliases: tuple[str, ...]
    required: bool
    kind: str  # how the value is normalised and checked, see roster.checks.NORMALISERS
    note: str

    @property
    def is_code(self) -> bool:
        """Return True for long digit strings (ID, certificate, exam numbers) kept as text, never numbers."""
        return self.kind in CODE_KINDS


FIELDS: tuple[Field, ...] = (
    Field("voucher_no", "凭证编号", ("NO", "凭证号", "NO."), False, "code",
          "assigned later by the ledger when blank"),
    Field("name", "姓名", (), True, "name", ""),
    Field("sex", "性别", (), True, "sex", "男/女 (also the GB/T 2261.1 codes 1/2)"),
    Field("birth_date", "出生日期", (), True, "date", "must agree with the ID number"),
    Field("education", "文化程度", ("学历",), True, "education",
          "GB 4658 names and common short forms; an unknown value is a warning"),
    Field("id_number", "身份证号", ("身份证号码", "公民身份号码", "身份证件号", "证件号码"), True, "id",
          "GB 11643-1999, 18 digits (15-digit legacy IDs accepted with a warning)"),
    Field("occupation", "职业", ("职业名称", "鉴定职业", "职业（工种）", "工种"), True, "text", ""),
    Field("level", "等级", ("鉴定级别", "级别", "职业等级"), True, "level",
          "五级…一级, 初级/中级/高级/技师/高级技师, or combined (初级（国家职业资格五级）, 五级/初级)"),
    Field("theory_score", "理论知识考核成绩", ("理论成绩", "理论知识成绩", "理论知识考试成绩"), True, "score",
          "0–100, at most one decimal, pass ≥ 60"),
    Field("skill_score", "操作技能考核成绩", ("实操成绩", "操作技能成绩", "技能成绩"), True, "score",
          "0–100, at most one decimal, pass ≥ 60"),
    Field("result", "评定成绩", (), True, "result", "合格, 良好 or 优秀: only passed candidates get a voucher"),
    Field("certificate_no", "证书编号", ("证书号",), True, "certificate",
          "16 digits: YY, province, city, institution type, institution serial, level digit, serial"),
    Field("issue_date", "发证日期", ("颁证日期",), True, "date",
          "the date the 合格人员名册 was signed"),
    Field("exam_no", "准考证号", ("报考号",), False, "code", "used to find photos"),
    Field("center", "鉴定指导中心", ("发证单位", "发证机构"), False, "text",
          "the issuing centre, else from --center"),
)

CODE_KINDS = frozenset({"id", "certificate", "code"})  # Excel would turn these into numbers and lose digits
FIELD_BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}
REQUIRED_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS if f.required)

# Values the checks accept.  Level digit as printed in the certificate number (2009 layout).
LEVEL_DIGITS: dict[str, int] = {
    "一级": 1, "高级技师": 1,
    "二级": 2, "技师": 2,
    "三级": 3, "高级": 3,
    "四级": 4, "中级": 4,
    "五级": 5, "初级": 5,
}
LEVEL_CHOICES = ("五级/初级", "四级/中级", "三级/高级", "二级/技师", "一级/高级技师")
PASSING_RESULTS = ("合格", "良好", "优秀")
SEX_CODES = {"男": "男", "女": "女", "1": "男", "2": "女"}
# GB/T 4658 学历代码: the 2006 table, then the 1984 table exam software of 2009 still used.  A code in
# the roster prints as its name (the certificate prints words).  Names may end in 毕业/肄业/结业.
EDUCATION_CODES: dict[str, str] = {
    "10": "研究生教育", "11": "博士研究生毕业", "12": "博士研究生结业", "13": "博士研究生肄业",
    "14": "硕士研究生毕业", "15": "硕士研究生结业", "16": "硕士研究生肄业", "17": "研究生班毕业",
    "18": "研究生班结业", "19": "研究生班肄业", "20": "大学本科教育", "21": "大学本科毕业",
    "22": "大学本科结业", "23": "大学本科肄业", "28": "大学普通班毕业", "30": "大学专科教育",
    "31": "大学专科毕业", "32": "大学专科结业", "33": "大学专科肄业", "40": "中等职业教育",
    "41": "中等专科毕业", "42": "中等专科结业", "43": "中等专科肄业", "44": "职业高中毕业",
    "45": "职业高中结业", "46": "职业高中肄业", "47": "技工学校毕业", "48": "技工学校结业",
    "49": "技工学校肄业", "60": "普通高级中学教育", "61": "普通高中毕业", "62": "普通高中结业",
    "63": "普通高中肄业", "70": "初级中学教育", "71": "初中毕业", "73": "初中肄业", "80": "小学教育",
    "81": "小学毕业", "83": "小学肄业", "90": "其他",
}
EDUCATION_NAMES = (
    *EDUCATION_CODES.values(),
    # GB/T 4658-1984
    "研究生", "大学本科", "大学专科和专科学校", "中等专业学校或中等技术学校", "中等专业学校", "中等技术学校",
    "技工学校", "高中", "初中", "小学", "文盲或半文盲",
    # the short forms exam software and clerks write
    "博士研究生", "硕士研究生", "研究生班", "大学专科", "专科", "中等专科", "中专", "中技", "技校", "职业高中",
    "职高", "普通高中", "初级中学", "文盲", "半文盲", "博士", "硕士", "本科", "大专", "大学", "中职", "高职", "其他",
)
EDUCATION_SUFFIXES = ("毕业", "肄业", "结业")

# The appraisal guidance centres of Fujian that issue vouchers: the province's and each 设区市's.
CENTERS = ("福建省职业技能鉴定指导中心",) + tuple(
    f"{city}职业技能鉴定指导中心"
    for city in ("福州市", "厦门市", "莆田市", "三明市", "泉州市", "漳州市", "南平市", "龙岩市", "宁德市"))

# First words of the lines exam software and clerks put under the data: totals and signatures.
FOOTER_WORDS = ("合计", "总计", "小计", "共计", "制表", "制表人", "审核", "审核人", "复核", "负责人", "填表人",
                "经办人", "日期", "填报日期", "制表日期", "单位", "盖章", "签字", "备注", "说明", "注")

def valid_until(issued_on: dt.date) -> dt.date:
    """Return a voucher's last day of validity: one year from issue (the notice), the day before the anniversary."""
    try:
        anniversary = issued_on.replace(year=issued_on.year + 1)
    except ValueError:  # 29 February: the anniversary is 1 March
        anniversary = dt.date(issued_on.year + 1, 3, 1)
    return anniversary - dt.timedelta(days=1)


_SPACES = re.compile(r"[\s\u3000\u00a0\ufeff]+")


def half_width(text: str) -> str:
    """Return `text` with full-width digits and letters made half-width (NFKC) and every space removed."""
    folded = unicodedata.normalize("NFKC", text)
    if not _SPACES.search(folded):
        return folded
    # NFKC again after the spaces go: "U ̄" (NFKC of "U¯") composes to "Ū" once its space is removed.
    return unicodedata.normalize("NFKC", _SPACES.sub("", folded))


_NO_PREFIX = re.compile(r"^NO\.?[:：]?", re.I)
MAX_NO_LENGTH = 40
CENTER_CODE = re.compile(r"[0-9]{4,6}", re.ASCII)  # 3501: province and city, as in the certificate number


def normalise_no(text: str) -> str:
    """Return a voucher NO as typed ("NO：3502-2009-000002", full-width, spaces) in the form the ledger keeps.

    The one normalisation of a NO: applied to every NO looked up, and every NO stored must be
    unchanged by it (`no_problem`), so that what is printed is what verify finds.
    """
    folded = unicodedata.normalize("NFKC", half_width(text or "").upper())
    visible = "".join(c for c in folded if unicodedata.category(c) not in ("Cc", "Cf"))  # pasted ZWSP, tabs
    return _NO_PREFIX.sub("", visible)


def no_problem(number: str) -> str | None:
    """Return what verify would read instead of `number` when the normalisation changes it, else None."""
    read = normalise_no(number)
    return None if read == number else read


def printable(text: str) -> str:
    """Return `text` with invisible characters written as \\uXXXX, for a message that must stay one line."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
# Characters that print as nothing yet make two names differ: format controls (zero-width space and
# joiners, bidi controls, soft hyphen, word joiner, BOM, tag characters), line and paragraph separators,
# the combining grapheme joiner and the Hangul fillers.
_INVISIBLE_EXTRA = frozenset("\u034f\u115f\u1160\u3164\uffa0")


def is_invisible(ch: str) -> bool:
    """Return True for a character that prints as nothing (U+200B, U+202E, U+00AD …)."""
    return unicodedata.category(ch) in ("Cf", "Zl", "Zp") or ch in _INVISIBLE_EXTRA


def without_invisible(text: str) -> str:
    """Return `text` without the characters that print as nothing: what a reader of the paper can type."""
    return "".join(ch for ch in text if not is_invisible(ch)) if not text.isascii() else text


def fold_key(text: str) -> str:
    """Return `text` folded for matching headers, field names and file stems: half-width, no spaces, upper case."""
    return unicodedata.normalize("NFKC", half_width(text).upper())  # "ß´" upper-cases to S S + accent: compose again


HEADER_INDEX: dict[str, Field] = {
    fold_key(name): field
    for field in FIELDS
    for name in (field.header, field.key, *field.aliases)
}


def field_for_header(text: str) -> Field | None:
    """Return the field a header cell names, or None for a column fjvoucher does not use."""
    return HEADER_INDEX.get(fold_key(text))


def markdown_table() -> str:
    """Return the roster layout as the Markdown table the README shows (a test keeps them equal)."""
    lines = ["| 字段 field | 表头 header | 也接受 also accepted | 必填 required | 说明 notes |",
             "|---|---|---|---|---|"]
    for f in FIELDS:
        lines.append(f"| `{f.key}` | {f.header} | {'、'.join(f.aliases) or '—'} | "
                     f"{'是 yes' if f.required else '否 no'} | {f.note or '—'} |")
    return "\n".join(lines)
