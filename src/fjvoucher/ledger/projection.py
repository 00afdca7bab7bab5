"""The vouchers table as the outcome of the events: every field of a voucher row recomputed from them.

An issue (`issued`, `reissued`) carries the whole row, as the values of ROW_KEYS in that order
(half the size of an object: a 150,000-voucher ledger stays small); `coded` and `placed` carry
what they set, by name; a status change carries nothing but its kind.  Replaying the events in chain order gives
the rows the table must hold, so a row edited, inserted or deleted by hand shows as a difference.
"""

from __future__ import annotations

import json
import operator

from fjvoucher.ledger.storage import FIELD_KEYS

# The event format, frozen like a migration: never derived from today's layout.
ROW_KEYS = ("name", "sex", "birth_date", "education", "id_number", "occupation", "level", "theory_score",
            "skill_score", "result", "certificate_no", "issue_date", "exam_no", "center", "issued_on", "expires_on",
            "template_sha256", "batch_file", "page", "replaces", "verify_code", "center_code", "created_at", "photo")
assert set(ROW_KEYS) >= set(FIELD_KEYS), "a printed field the issue event does not carry"
PLACEMENT_KEYS = ("batch_file", "page", "template_sha256", "photo")
ISSUES = ("issued", "reissued")
STATUS_AFTER = {"issued": "issued", "reissued": "issued", "replaced": "replaced", "revoked": "revoked",
                "restored": "issued", "superseded": "superseded"}
STATUS_KINDS = tuple(kind for kind in STATUS_AFTER if kind not in ISSUES)  # the events that change a status
SETS = {"coded": ("verify_code",), "placed": PLACEMENT_KEYS}  # what the other kinds may carry


def issue_data(row: dict) -> list:
    """Return what an issue records: the voucher's row as written, the values of ROW_KEYS in order."""
    return [row.get(k, "") if k != "page" else row.get("page") for k in ROW_KEYS]


def apply(rows: dict[str, dict], event: dict) -> str:
    """Apply one stored event to `rows` (NO → row); return what is wrong with it ('' for nothing).

    A wrong event changes nothing, so the rows stay what the sound events make them.
    """
    number, kind = event["voucher_no"], event["kind"]
    try:
        data = json.loads(event["data"]) if isinstance(event["data"], str) else None
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        data = None
    if kind in ISSUES:
        if number in rows:
            return f"凭证 {number} 被重复发放 (issued twice)"
        if not isinstance(data, list) or len(data) != len(ROW_KEYS):
            return "发放记录缺少或多出字段 (issue data incomplete)"
        rows[number] = {**dict(zip(ROW_KEYS, data, strict=True)), "voucher_no": number, "status": "issued"}
        return ""
    if not isinstance(data, dict):
        return "内容无法读取 (data is not a JSON object)"
    if number not in rows:
        return f"凭证 {number} 从未发放 (an event for a voucher never issued)"
    if kind in STATUS_AFTER:
        if data:
            return "状态变更不应带有字段 (a status change carries data)"
        rows[number]["status"] = STATUS_AFTER[kind]
        return ""
    if kind in SETS and set(data) <= set(SETS[kind]):
        rows[number].update(data)
        return ""
    return f"未知的事件种类「{kind}」或字段 (unknown kind or data)"


def type_problem(kind: str, values: dict) -> str:
    """Return what in an event's values (an issue's row as apply() made it, or what a `coded`/`placed` sets) the
    vouchers table would not store as it is ('' for nothing).

    Every field is text but the page (a whole number or none); a value of another type would be
    stored converted (5 as '5'), or not at all, and the row would then differ from its event.
    """
    if not isinstance(values, dict) or (kind not in ISSUES and kind not in SETS):
        return ""
    wrong = [key for key, value in values.items()
             if not ((value is None or type(value) is int) if key == "page" else isinstance(value, str))]
    if not wrong:
        return ""
    return f"字段 {'、'.join(map(str, wrong))} 的值类型不对：应为文本（页码为整数）(a value of the wrong type)"


COMPARED = (*ROW_KEYS, "status", "voucher_no")
_values = operator.itemgetter(*COMPARED)


def differences(expected: dict, stored: dict) -> list[str]:
    """Return the columns where a stored voucher row differs from what its events make."""
    try:
        if _values(expected) == _values(stored):  # the usual case, compared at C speed
            return []
    except KeyError:
        pass
    return [key for key in COMPARED if stored.get(key) != expected.get(key)]
