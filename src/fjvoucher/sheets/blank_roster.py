"""Write an empty roster in the official layout, formatted so Excel cannot damage codes at the source."""

from __future__ import annotations

from pathlib import Path

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


def write_blank_roster(path: Path | str) -> Path:
    """Write an empty roster with the official headers, text-formatted code columns and dropdowns."""
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
    return save_workbook(book, Path(path))

