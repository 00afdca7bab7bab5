"""Write the bundled samples: a valid roster, a roster with one row per kind of problem, and photos.

Run from the repository root: python scripts/make_samples.py
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the tests' synthetic candidates
from support.synthetic import make_candidates, make_photo, write_roster_xlsx

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def error_rows() -> list[dict]:
    """Return rows that each show one kind of problem, after a few valid ones they refer to."""
    base = make_candidates(48, seed=7)
    good, pool = base[:3], iter(base[3:])

    def variant(note: str, **changes) -> dict:
        return {**next(pool), **changes, "note": note}

    first = good[0]
    rows = [{**r, "note": "正确"} for r in good] + [
        variant("姓名为空", name=""),
        variant("性别无法识别", sex="M"),
        variant("出生日期不是日期", birth_date="1985年13月"),
        variant("发证日期在将来", issue_date=dt.date(2099, 6, 10)),
        variant("文化程度不常见", education="函授"),
        variant("身份证号被存成数字", id_number=350102198503121234),
        variant("身份证号位数不对", id_number="35010219850312123"),
        variant("身份证号有非法字符", id_number="3501021985031212A4"),
        variant("身份证号中日期不存在", id_number="350102198502301234"),
        variant("身份证号校验位错误", id_number="350102198503121230"),
        variant("15位旧身份证号", id_number="350102850312123", birth_date=dt.date(1985, 3, 12), sex="男"),
        variant("出生日期与身份证不符", birth_date=dt.date(1980, 1, 1)),
        variant("性别与身份证不符"),
        variant("等级无法识别", level="特级"),
        variant("理论成绩不是数字", theory_score="缺考"),
        variant("实操成绩超出100", skill_score=105),
        variant("成绩小数超过一位", theory_score=85.25),
        variant("成绩不及格", skill_score=45),
        variant("评定成绩不合格", result="不合格"),
        variant("证书编号丢了开头的0", certificate_no=None),
        variant("证书编号位数不对", certificate_no="093501100150001"),
        variant("证书编号等级码不符", certificate_no=None),
        variant("证书编号年份与发证日期不同", certificate_no=None),
        variant("证书编号不是福建", certificate_no=None),
        variant("证书编号重复", certificate_no=first["certificate_no"], level=first["level"]),
        variant("同一身份证号两个姓名", id_number=first["id_number"], name=first["name"] + "某",
                sex=first["sex"], birth_date=first["birth_date"], occupation=first["occupation"] + "X"),
        variant("同一人同一职业同一等级重复", id_number=first["id_number"], name=first["name"],
                sex=first["sex"], birth_date=first["birth_date"], occupation=first["occupation"],
                level=first["level"], certificate_no=None),
        variant("年龄异常", birth_date=dt.date(1930, 5, 1), id_number=None),
        variant("姓名含生僻字", name="王𪚥"),
        variant("鉴定指导中心名称不完整", center="福州"),
        # Excel keeps a pasted control character as the escape _x000B_ inside the file.
        variant("含看不见的控制字符", occupation="车工_x000B_"),
        variant("凭证编号已填写", voucher_no="3501-2009-900001"),
        variant("凭证编号重复", voucher_no="3501-2009-900001"),
        variant("凭证编号带小写前缀，查询时查不到", voucher_no="no.3501-2009-900002"),
        variant("姓名中有换行（Alt+Enter）", name="王\n芳"),
        variant("准考证号含阿拉伯-印度数字", exam_no="09\u0660\u0661000099"),
        variant("发证日期早于出生日期", issue_date=dt.date(1950, 6, 10), certificate_no="REPLACE-YEAR"),
        variant("打印时凭证已过期", issue_date=dt.date(2008, 1, 10), certificate_no="REPLACE-YEAR"),
        variant("姓名中间有空格", name="王　芳"),
        variant("鉴定指导中心名称写错", center="厦门职业技能鉴定指导中心"),
        variant("职业名称超出凭证上的栏宽", occupation="中式烹调师（国家职业资格四级）兼面点师和西式烹调师"),
    ]
    return [_fill_derived(r) for r in rows]


def _fill_derived(row: dict) -> dict:
    """Fill the values a problem depends on (certificate variants, IDs that follow a birth date)."""
    from fjvoucher.roster.idcard import check_digit

    cert, note = row["certificate_no"] if isinstance(row["certificate_no"], str) else None, row["note"]
    if row["certificate_no"] is None:
        cert = _valid_cert_like(row)
        row["certificate_no"] = {
            "证书编号丢了开头的0": int(cert),
            "证书编号等级码不符": cert[:10] + ("1" if cert[10] != "1" else "2") + cert[11:],
            "证书编号年份与发证日期不同": "08" + cert[2:],
            "证书编号不是福建": cert[:2] + "44" + cert[4:],
        }.get(note, cert)
    if row["certificate_no"] == "REPLACE-YEAR":  # a certificate of the year it was issued
        row["certificate_no"] = f"{row['issue_date'].year % 100:02d}" + _valid_cert_like(row)[2:]
    if row["id_number"] is None:
        first17 = f"350102{row['birth_date']:%Y%m%d}12{1 if row['sex'] == '男' else 2}"
        row["id_number"] = first17 + check_digit(first17)
    if note == "性别与身份证不符":
        row["sex"] = "女" if row["sex"] == "男" else "男"
    return row


def _valid_cert_like(row: dict) -> str:
    from fjvoucher.layout import LEVEL_DIGITS
    from fjvoucher.roster.cells import level_digit

    digit = level_digit(row["level"]) or LEVEL_DIGITS["初级"]
    return f"0935011001{digit}9{row['exam_no'][-4:]}"


def _add_footer(path: Path, lines: list[list]) -> None:
    """Add the totals and signature lines exam software and clerks put under the data."""
    from openpyxl import load_workbook

    book = load_workbook(path)
    for line in lines:
        book.active.append(line)
    book.save(path)


def main() -> None:
    """Write samples/roster.xlsx, samples/roster_with_errors.xlsx and samples/photos/."""
    SAMPLES.mkdir(exist_ok=True)
    rows = make_candidates(50)
    write_roster_xlsx(SAMPLES / "roster.xlsx", rows)
    errors = write_roster_xlsx(SAMPLES / "roster_with_errors.xlsx", error_rows(), extra_headers={"说明": "note"})
    _add_footer(errors, [["合计：共 40 人"], ["制表人：张敬福", None, "审核人：马光凯", None, "日期：2009年6月10日"]])
    photos = SAMPLES / "photos"
    photos.mkdir(exist_ok=True)
    for old in photos.iterdir():  # photos of an earlier generation would match nobody
        old.unlink()
    for i, row in enumerate(rows):
        # Most photos are named by ID number, a few by exam number, as centres really keep them.
        name = row["exam_no"] if i % 10 == 9 else row["id_number"]
        make_photo(photos / f"{name}.jpg", seed=i)
    print(f"wrote {len(rows)} candidates and photos to {SAMPLES}")


if __name__ == "__main__":
    main()
