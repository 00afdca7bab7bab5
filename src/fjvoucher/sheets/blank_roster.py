"""Write an empty roster in the official layout, formatted so Excel cannot damage codes at the source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fjvoucher.errors import InputError
from fjvoucher.layout import FIELDS, LEVEL_CHOICES, PASSING_RESULTS
from fjvoucher.roster.reading import column_letter
from fjvoucher.sheets.workbook import save_workbook

PREPARED_ROWS = 5000  # rows pre-formatted as text and given dropdowns
DROPDOWNS = {
    "sex": ("男", "女"),
    "level": LEVEL_CHOICES,
    "result": PASSING_RESULTS,
    "education": ("初中", "高中", "中专", "技校", "职高", "大专", "本科", "研究生", "小学"),
}


@dataclass(frozen=True)
class Written:
    """The blank roster written, and the folders created for it."""

    path: Path
    created: tuple[Path, ...]


def write_blank_roster(path: Path | str, *, force: bool = False, protected: tuple[Path, ...] = ()) -> Written:
    """Write an empty roster with the official headers, text-formatted code columns and dropdowns.

    An existing file is kept unless `force`; a `protected` file (the ledger) is never overwritten.
    """
    path = Path(path)
    if any(path.resolve() == p.resolve() for p in protected):
        raise InputError(f"{path} 是凭证台账，不能覆盖 (that is the ledger)")
    if path.exists() and not force:
        raise InputError(f"{path} 已存在，没有覆盖。要覆盖请加 --force，或换一个文件名 (exists: use --force)")
    created = tuple(reversed([p for p in path.parent.resolve().parents if not p.exists()]))
    created += () if path.parent.exists() else (path.parent.resolve(),)
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "合格人员名册"
    for col, fld in enumerate(FIELDS, start=1):
        letter = column_letter(col - 1)
        sheet.cell(row=1, column=col, value=fld.header).font = Font(bold=True)
        sheet.column_dimensions[letter].width = 22 if fld.is_code else 14
        if fld.is_code:
            sheet.column_dimensions[letter].number_format = "@"
            for row in range(2, PREPARED_ROWS + 2):
                sheet.cell(row=row, column=col).number_format = "@"
        if fld.key in DROPDOWNS:
            rule = DataValidation(type="list", formula1='"' + ",".join(DROPDOWNS[fld.key]) + '"',
                                  allow_blank=True, showErrorMessage=fld.key != "education")
            rule.add(f"{letter}2:{letter}{PREPARED_ROWS + 1}")
            sheet.add_data_validation(rule)
    sheet.freeze_panes = "A2"
    save_workbook(book, path)
    return Written(path, created)

