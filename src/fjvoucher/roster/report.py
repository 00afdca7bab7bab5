"""Findings as records and the one report object that renders both the clerk's text and the JSON."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from fjvoucher.messages import SEVERITY_WORDS, message


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: where it is (spreadsheet row, column letter and header), what it is, and its parameters."""

    row: int | None
    letter: str | None
    column: str | None
    field: str | None
    severity: str  # "error" | "warning"
    code: str
    params: dict

    def message(self, lang: str = "zh") -> str:
        """Return the clerk-facing sentence for this finding."""
        return message(self.code, self.params, lang)

    def to_dict(self, lang: str = "zh") -> dict:
        """Return the finding in the documented JSON shape."""
        return {
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "severity": self.severity,
            "code": self.code,
            "message": self.message(lang),
        }


@dataclass
class Report:
    """What validating one roster found: counts, findings, and a label for each row with findings."""

    file: str
    sheet: str | None
    rows: int = 0
    encoding: str | None = None  # of a CSV, as detected
    valid_rows: int = 0
    findings: list[Finding] = field(default_factory=list)
    row_labels: dict[int, str] = field(default_factory=dict)  # row → "张三，350102********123X"

    @property
    def errors(self) -> int:
        """Return how many findings are errors."""
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        """Return how many findings are warnings."""
        return sum(f.severity == "warning" for f in self.findings)

    @property
    def valid(self) -> bool:
        """Return True when nothing stops the roster from being printed."""
        return self.errors == 0

    def to_dict(self, lang: str = "zh") -> dict:
        """Return the report in the documented JSON shape."""
        return {
            "file": self.file,
            "sheet": self.sheet,
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "errors": self.errors,
            "warnings": self.warnings,
            "problems": [f.to_dict(lang) for f in self.findings],
        }

    def to_text(self, lang: str = "zh") -> str:
        """Return the report as lines for the clerk, grouped by spreadsheet row, ending with a summary."""
        words = SEVERITY_WORDS[lang]
        by_row: dict[int | None, list[Finding]] = defaultdict(list)
        for finding in self.findings:
            by_row[finding.row].append(finding)
        where = self.sheet or (self.encoding and self.encoding.upper())
        if lang == "zh":
            label = "工作表" if self.sheet else "编码"
            lines = [f"名册：{self.file}" + (f"（{label} {where}）" if where else "")]
        else:
            label = "sheet" if self.sheet else "encoding"
            lines = [f"Roster: {self.file}" + (f" ({label} {where})" if where else "")]
        for row in sorted(by_row, key=lambda r: -1 if r is None else r):
            lines.append(_row_heading(row, self.row_labels.get(row), lang))
            for f in by_row[row]:
                lines.append(f"  [{words[f.severity]}] {_where(f, lang)}{f.message(lang)}")
        lines.append(self.summary(lang))
        return "\n".join(lines)

    def summary(self, lang: str = "zh") -> str:
        """Return the one-line count of rows read, valid rows, errors and warnings."""
        if lang == "en":
            return (f"{self.rows} rows read: {self.valid_rows} valid, "
                    f"{self.errors} errors, {self.warnings} warnings.")
        return f"共读取 {self.rows} 行：可打印 {self.valid_rows} 行，错误 {self.errors} 处，警告 {self.warnings} 处。"


def _row_heading(row: int | None, label: str | None, lang: str) -> str:
    if row is None:
        return "整个文件：" if lang == "zh" else "Whole file:"
    suffix = f"（{label}）" if label and lang == "zh" else (f" ({label})" if label else "")
    return f"第 {row} 行{suffix}：" if lang == "zh" else f"Row {row}{suffix}:"


def _where(f: Finding, lang: str) -> str:
    if f.letter is None:
        return ""
    return f"{f.letter} 列「{f.column}」：" if lang == "zh" else f"column {f.letter} ({f.column}): "
