"""Findings as records and the one report object that renders both the clerk's text and the JSON."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from fjvoucher.messages import SEVERITY_WORDS, message

FIRST_ROWS = 8  # rows named for a kind of warning before "…"


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
        return {**self.to_dict_head(), "problems": [f.to_dict(lang) for f in self.findings]}

    def json_chunks(self, lang: str = "zh") -> Iterator[str]:
        """Yield the report's JSON (the same document as `to_dict`) piece by piece, one finding at a time.

        300,000 findings as one dict and one string took a gigabyte; streamed, memory stays flat.
        """
        yield json.dumps(self.to_dict_head(), ensure_ascii=False, indent=2)[:-2] + ',\n  "problems": ['
        for number, finding in enumerate(self.findings):
            yield ("," if number else "") + "\n    " + json.dumps(finding.to_dict(lang), ensure_ascii=False)
        yield ("\n  ]" if self.findings else "]") + "\n}"

    def to_dict_head(self) -> dict:
        """Return the report's JSON fields but its findings."""
        return {"file": self.file, "sheet": self.sheet, "rows": self.rows, "valid_rows": self.valid_rows,
                "errors": self.errors, "warnings": self.warnings}

    def to_text(self, lang: str = "zh", all_warnings: bool = False) -> str:
        """Return the report as text for the clerk (see `lines`)."""
        return "\n".join(self.lines(lang, all_warnings))

    def lines(self, lang: str = "zh", all_warnings: bool = False) -> Iterator[str]:
        """Yield the report for the clerk: file-level findings, every error by spreadsheet row, warnings
        grouped by kind with their count and first rows (all of them by row with `all_warnings`), a summary.

        Lines are made as they are shown: a 150,000-row roster's report is never held as text.
        """
        yield self._heading(lang)
        by_row: dict[int | None, list[Finding]] = defaultdict(list)
        for finding in self.findings:
            if all_warnings or finding.severity == "error" or finding.row is None:
                by_row[finding.row].append(finding)
        for row in sorted(by_row, key=lambda r: -1 if r is None else r):
            yield _row_heading(row, None if row is None else self.row_labels.get(row), lang)
            for f in by_row[row]:
                yield f"  [{SEVERITY_WORDS[lang][f.severity]}] {_where(f, lang)}{f.message(lang)}"
        if not all_warnings:
            yield from self._grouped_warnings(lang)
        yield self.summary(lang)

    def _heading(self, lang: str) -> str:
        where = self.sheet or (self.encoding and self.encoding.upper())
        if lang == "zh":
            label = "工作表" if self.sheet else "编码"
            return f"名册：{self.file}" + (f"（{label} {where}）" if where else "")
        label = "sheet" if self.sheet else "encoding"
        return f"Roster: {self.file}" + (f" ({label} {where})" if where else "")

    def _grouped_warnings(self, lang: str) -> Iterator[str]:
        """Yield one group per kind of row warning: how many, the first rows, and one example."""
        groups: dict[str, list[Finding]] = defaultdict(list)
        for f in self.findings:
            if f.severity == "warning" and f.row is not None:
                groups[f.code].append(f)
        if not groups:
            return
        yield "警告（按类别汇总，加 --all-warnings 逐行列出）：" if lang == "zh" else \
            "Warnings, by kind (--all-warnings lists every one):"
        for found in groups.values():
            rows = "、".join(str(f.row) for f in found[:FIRST_ROWS]) + ("…" if len(found) > FIRST_ROWS else "")
            example = found[0]
            if lang == "zh":
                yield f"  [警告] {len(found)} 处，第 {rows} 行。例：第 {example.row} 行 {_where(example, lang)}" \
                      f"{example.message(lang)}"
            else:
                yield f"  [warning] {len(found)} times, rows {rows.replace('、', ', ')}. E.g. row {example.row} " \
                      f"{_where(example, lang)}{example.message(lang)}"

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
