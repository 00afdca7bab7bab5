"""Generate realistic synthetic candidates of a Fujian appraisal centre (samples, tests, benchmarks).

Everything is derived from a seeded random generator, so the same call gives the same roster.
No real person's data is used: names are drawn from common surnames and given names.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from fjvoucher.layout import FIELDS
from fjvoucher.roster.idcard import check_digit

SURNAMES = "陈林黄张吴王李郑刘杨许蔡邱洪何谢曾周苏叶游方庄卓詹魏江傅严翁"
GIVEN = "建国志明丽华秀英伟强敏静海燕文杰晓东春梅金水玉兰德福永清淑珍少华俊峰雅婷宏伟家豪思颖榕闽"
CITIES = {  # 设区市: ID area prefix and certificate city code
    "福州市": ("350102", "01"), "厦门市": ("350203", "02"), "莆田市": ("350302", "03"),
    "三明市": ("350402", "04"), "泉州市": ("350502", "05"), "漳州市": ("350602", "06"),
    "南平市": ("350702", "07"), "龙岩市": ("350802", "08"), "宁德市": ("350902", "09"),
}
OCCUPATIONS = ("维修电工", "车工", "焊工", "中式烹调师", "美容师", "计算机操作员", "电子商务师", "育婴员",
               "茶艺师", "汽车修理工", "营销员", "秘书", "评茶员", "保育员", "物流师")
LEVELS = (("五级/初级", 5), ("四级/中级", 4), ("三级/高级", 3), ("二级/技师", 2), ("初级", 5),
          ("中级", 4), ("高级", 3))
EDUCATIONS = ("初中", "高中", "中专", "技校", "职高", "大专", "本科")
ISSUE_DATE = dt.date(2009, 6, 10)


def make_id(rng: random.Random, area: str, birth: dt.date, male: bool) -> str:
    """Return a valid 18-digit ID number for `area`, `birth` and sex."""
    seq = rng.randrange(0, 50) * 2 + (1 if male else 0)
    first17 = f"{area}{birth:%Y%m%d}{rng.randrange(0, 10)}{seq:02d}"
    return first17 + check_digit(first17)


def make_candidates(count: int, seed: int = 2009, city: str = "福州市") -> list[dict]:
    """Return `count` valid candidates as dicts keyed by field key, with Python dates for date fields."""
    rng = random.Random(seed)
    area, city_code = CITIES[city]
    rows, serial, seen_ids = [], 0, set()
    for i in range(count):
        male = rng.random() < 0.55
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 30))
        id_number = make_id(rng, area, birth, male)
        while id_number in seen_ids:  # two people never share an ID number
            id_number = make_id(rng, area, birth, male)
        seen_ids.add(id_number)
        level, digit = rng.choice(LEVELS)
        serial += 1
        rows.append({
            "voucher_no": "",
            "name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2)))),
            "sex": "男" if male else "女",
            "birth_date": birth,
            "education": rng.choice(EDUCATIONS),
            "id_number": id_number,
            "occupation": rng.choice(OCCUPATIONS),
            "level": level,
            "theory_score": rng.choice((rng.randrange(60, 101), rng.randrange(600, 1000) / 10)),
            "skill_score": rng.randrange(60, 101),
            "result": rng.choice(("合格", "合格", "合格", "良好", "优秀")),
            "certificate_no": f"{ISSUE_DATE.year % 100:02d}35{city_code}1001{digit}{serial:05d}",
            "issue_date": ISSUE_DATE,
            "exam_no": f"09{city_code}{i + 1:06d}",
            "center": f"{city}职业技能鉴定指导中心",
        })
    return rows


def write_roster_xlsx(path: Path, rows: list[dict], *, title: str | None = "2009年6月职业技能鉴定合格人员名册",
                      extra_headers: dict[str, str] | None = None) -> Path:
    """Write `rows` as an exam-software export: optional title row, official headers, codes as text."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("合格人员名册")
    headers = [f.header for f in FIELDS] + list(extra_headers or {})
    if title:
        sheet.append([title])
    sheet.append(headers)
    keys = [f.key for f in FIELDS] + list((extra_headers or {}).values())
    for row in rows:
        sheet.append([row.get(k, "") for k in keys])
    book.save(path)
    return path


def write_roster_csv(path: Path, rows: list[dict], encoding: str = "utf-8-sig") -> Path:
    """Write `rows` as a CSV export in `encoding`, dates as 1985-03-12."""
    import csv

    with open(path, "w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow([f.header for f in FIELDS])
        for row in rows:
            writer.writerow([str(row.get(f.key, "")) for f in FIELDS])
    return path


def make_photo(path: Path, seed: int, size: tuple[int, int] = (295, 413)) -> Path:
    """Write a one-inch (25×35 mm at 300 dpi) head-and-shoulders placeholder photo on a light background."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size, (218, 232, 246))
    draw = ImageDraw.Draw(image)
    shade = tuple(rng.randrange(40, 120) for _ in range(3))
    draw.ellipse((width * 0.3, height * 0.15, width * 0.7, height * 0.55), fill=(238, 205, 180))
    draw.ellipse((width * 0.28, height * 0.1, width * 0.72, height * 0.32), fill=(30, 30, 30))
    draw.pieslice((width * 0.08, height * 0.6, width * 0.92, height * 1.4), 180, 360, fill=shade)
    image.save(path, quality=85)
    return path
