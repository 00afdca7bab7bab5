"""Issuing: NOs from a pattern, verification codes, and recording a batch of vouchers under the write lock.

A batch re-reads each certificate's history inside the transaction and applies the issuing rule
(policy.py) to it again: what merge checked beforehand may have changed since.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import string
from dataclasses import dataclass

from fjvoucher.errors import InputError, LedgerError
from fjvoucher.layout import CENTER_CODE, MAX_NO_LENGTH, no_problem, printable, valid_until
from fjvoucher.ledger.audit import voucher_problem
from fjvoucher.ledger.chain import Chain, encode_data
from fjvoucher.ledger.policy import decide, describe, other_centre_error, other_centre_severity, require_status
from fjvoucher.ledger.projection import issue_data
from fjvoucher.ledger.storage import FIELD_KEYS, Event, Voucher, stamp
from fjvoucher.messages import STATUS_WORDS
from fjvoucher.querycode import new_code

DEFAULT_PATTERN = "{center_code}-{year}-{serial:06d}"
PATTERN_KEYS = {"center_code", "year", "serial"}
# What a pattern is tried with before any NO is issued: every NO it makes must be one verify finds.
SAMPLE_YEARS, SAMPLE_SERIALS = (1999, 2009, 2099), (1, 7, 10, 123, 99_999, 999_999)
REISSUE_REASON = "补发"
AHEAD = 256  # NOs asked about at once when taking serials


@dataclass(frozen=True)
class Issued:
    """What the ledger recorded for one candidate of a batch: its NO, the NO it replaces, its code."""

    voucher_no: str
    replaces: str = ""
    verify_code: str = ""


def check_pattern(pattern: str, center_code: str | None = None) -> None:
    """Raise InputError unless `pattern` makes bounded NOs from {center_code}, {year} and {serial}
    that verify finds again as printed (the NO normalisation leaves every one unchanged)."""
    shown = f"--no-pattern「{printable(pattern)}」"
    if center_code is not None and not CENTER_CODE.fullmatch(center_code):
        raise InputError(f"--center-code「{printable(center_code)}」应为 4 到 6 位数字，如 3501 (4 to 6 digits)",
                         code="no-pattern")
    try:
        keys = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
        sample = pattern.format(center_code=center_code or "3501", year=2009, serial=999999)
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        raise InputError(f"{shown}写法有误：{exc} (bad NO pattern)", code="no-pattern") from exc
    if "serial" not in keys:
        raise InputError(f"{shown}必须含有 {{serial}}（流水号），否则编号会重复 (needs {{serial}})", code="no-pattern")
    if keys - PATTERN_KEYS:
        raise InputError(f"{shown}中的 {'、'.join(sorted(keys - PATTERN_KEYS))} 不认识；"
                         "只能用 {center_code}、{year}、{serial} (unknown keys)", code="no-pattern")
    if len(sample) > MAX_NO_LENGTH:
        raise InputError(f"{shown}生成的编号超过 {MAX_NO_LENGTH} 个字符 (NOs too long)", code="no-pattern")
    for year in SAMPLE_YEARS:
        for serial in SAMPLE_SERIALS:
            number = pattern.format(center_code=center_code or "3501", year=year, serial=serial)
            if (read := no_problem(number)) is not None:
                raise InputError(f"{shown}生成的编号「{printable(number)}」查询时会被读作「{read}」，真伪查询查不到它。"
                                 "编号不能以 NO 开头，不能有空格、全角字符、小写字母或控制字符 "
                                 "(the pattern's NOs would not verify)", code="no-pattern")


def check_no(number: str) -> None:
    """Raise InputError unless `number` is stored as verify will look it up (the last guard before storing)."""
    if (read := no_problem(number)) is not None:
        raise InputError(f"凭证编号「{printable(number)}」查询时会被读作「{read}」，不能记入台账 "
                         "(a NO verify would not find)", code="no-pattern")


@functools.cache
def actor() -> str:
    """Return who is changing the ledger: the operating system's user name ('' when there is none)."""
    try:
        return getpass.getuser()
    except Exception:  # no user name on this machine (a service account, a container)
        return ""


def record_event(chain: Chain, voucher_no: str, kind: str, reason: str = "", other_no: str = "",
                 data: dict | list | None = None, at: dt.datetime | None = None) -> None:
    """Append one event to the chain, at the ledger's time and by this user (inside the caller's transaction).

    `data` is what the event sets in the voucher's row (projection.py): the whole row for an issue.
    """
    chain.append(Event(voucher_no, kind, at or chain.storage.clock(), reason, actor(), other_no,
                       encode_data(data or {})))


def change_status(chain: Chain, voucher: Voucher, status: str, kind: str, reason: str, other_no: str = "") -> None:
    """Set a voucher's status and record the event that did it (inside the caller's transaction).

    The voucher must prove itself first: a forged or edited row is never changed and signed as if true.
    """
    if problem := voucher_problem(chain.storage, voucher.voucher_no, chain.tip_of(voucher.voucher_no)):
        raise LedgerError(f"凭证台账 {chain.storage.path} 中凭证 {voucher.voucher_no} 与其事件不符：{problem}。"
                          "请运行 fjvoucher audit 查看 (the voucher does not prove itself)", code="ledger-tampered")
    chain.storage.set_status(voucher.voucher_no, status)
    record_event(chain, voucher.voucher_no, kind, reason, other_no)


def give_code(chain: Chain, voucher_no: str) -> str:
    """Give a voucher a new verification code and record it; return the code."""
    code = new_code()
    chain.storage.set_code(voucher_no, code)
    record_event(chain, voucher_no, "coded", data={"verify_code": code})
    return code


def required_reason(reason: str) -> str:
    """Return the reason stripped; raise InputError when there is none (every change records why)."""
    reason = (reason or "").strip()
    if not reason:
        raise InputError("请写明原因（--reason），它会记入台账 (a reason is required)", code="reason-required")
    return reason


class Batch:
    """Vouchers being recorded inside one open write transaction (see `Ledger.batch`)."""

    def __init__(self, chain: Chain):
        self.chain, self.storage = chain, chain.storage
        self._free: set[str] = set()  # NOs found free under the serial's lock, not yet taken (see _in_use)

    def issue(self, entries: list[dict], *, template_sha256: str, center_code: str | None,
              pattern: str = DEFAULT_PATTERN, reissue: bool = False, reserved: frozenset[str] = frozenset(),
              other_centre: str = "refuse") -> list[Issued]:
        """Record one batch of vouchers; return each candidate's NO.

        Each entry holds the printed fields, `issued_on` (a date), `batch_file` and `page`.  The
        issuing rule decides per entry, on the history read now, under the lock.  New serials
        skip `reserved`: NOs the roster itself gives to later rows.  A candidate another centre
        issued (same ID, occupation, level, in force) is refused unless `other_centre` is "warn".
        """
        self.storage.prefetch([e["certificate_no"] for e in entries],
                              [(e["id_number"], e["occupation"], e["level"]) for e in entries])
        return [self._issue_one(entry, template_sha256, center_code, pattern, reissue, reserved, other_centre)
                for entry in entries]

    def _issue_one(self, entry: dict, template_sha256: str, center_code: str | None, pattern: str,
                   reissue: bool, reserved: frozenset[str], other_centre: str) -> Issued:
        decision = decide(self.storage.for_certificate(entry["certificate_no"]), entry, reissue=reissue)
        old = decision.voucher
        if decision.action == "issue":
            center = center_code or entry["certificate_no"][2:6]
            other = self.storage.in_force_elsewhere(entry["id_number"], entry["occupation"], entry["level"], center)
            if other and other_centre_severity(other, decision, other_centre) == "error":
                raise other_centre_error(entry, other)
        if decision.action == "keep" and old:
            code = old.verify_code or give_code(self.chain, old.voucher_no)
            self._place(old, entry["batch_file"], entry["page"], template_sha256, entry.get("photo") or None)
            return Issued(old.voucher_no, old.replaces, code)
        if decision.action == "refuse" and old:
            changed = f"，名册内容有变化：{describe(decision.changes)}" if decision.changes else ""
            raise LedgerError(f"证书 {entry['certificate_no']} 已有凭证 {old.voucher_no}（{STATUS_WORDS[old.status]}）"
                              f"{changed}。如需补发请加 --reissue", code=decision.code)
        center = center_code or entry["certificate_no"][2:6]
        number = entry.get("voucher_no") or self._next_number(center, entry["issued_on"].year, pattern, reserved)
        if old and old.status == "issued":
            change_status(self.chain, old, "replaced", "replaced", REISSUE_REASON, number)
        return self._insert(number, entry, template_sha256, center, old.voucher_no if old else "",
                            REISSUE_REASON if old else "")

    def replace(self, voucher_no: str, reason: str, center_code: str | None, pattern: str) -> tuple[Voucher, Issued]:
        """Issue a new NO with the record of voucher `voucher_no` (lost) and mark it replaced.

        The voucher is read here, under the lock: one revoked a moment ago is refused.
        """
        reason = required_reason(reason)
        old = require_status(self.storage.get(voucher_no), voucher_no, "issued", "补发")
        center = center_code or old.center_code
        entry = {**old.fields, "issued_on": old.issued_on, "batch_file": "", "page": None, "photo": old.photo}
        number = self._next_number(center, old.issued_on.year, pattern, frozenset())
        change_status(self.chain, old, "replaced", "replaced", reason, number)
        return old, self._insert(number, entry, "", center, old.voucher_no, reason)

    def place(self, voucher_no: str, batch_file: str, page: int, template_sha256: str,
              photo: str | None = None) -> None:
        """Record where a voucher is printed (its batch file and page), with which master and photo."""
        voucher = self.storage.get(voucher_no)
        if voucher is not None:
            self._place(voucher, batch_file, page, template_sha256, photo)

    def _place(self, voucher: Voucher, batch_file: str, page: int | None, template_sha256: str,
               photo: str | None = None) -> None:
        """Record a new placement as an event; the same placement again records nothing (re-runs change nothing).

        `photo` None keeps the photo the voucher has.
        """
        photo = voucher.photo if photo is None else photo
        placement = {"batch_file": batch_file, "page": page, "template_sha256": template_sha256, "photo": photo}
        if placement == {"batch_file": voucher.batch_file, "page": voucher.page,
                         "template_sha256": voucher.template_sha256, "photo": voucher.photo}:
            return
        self.storage.place(voucher.voucher_no, batch_file, page, template_sha256, photo)
        record_event(self.chain, voucher.voucher_no, "placed", data=placement)

    def _next_number(self, center_code: str, year: int, pattern: str, reserved: frozenset[str]) -> str:
        """Take the next serial of the centre and year, skipping NOs in use or reserved by the roster."""
        for _ in range(1_000_000):
            serial = self.storage.take_serial(center_code, year)
            number = pattern.format(center_code=center_code, year=year, serial=serial)
            if number not in reserved and not self._in_use(number, [
                    pattern.format(center_code=center_code, year=year, serial=k) for k in range(serial, serial + AHEAD)
            ] if number not in self._free else []):
                return number
        raise LedgerError(f"中心 {center_code} 的 {year} 年编号已用尽 (no serial left)", code="no-serial-left")

    def _in_use(self, number: str, ahead: list[str]) -> bool:
        """Return True when NO `number` is taken; `ahead` (it and the NOs the next serials make) are asked at once.

        The serial row stays locked until the batch commits, so the next serials are this batch's:
        one question for the next AHEAD NOs instead of one per voucher (a round trip each on a server).
        """
        if ahead:
            used = self.storage.nos_in_use(ahead)
            self._free.update(n for n in ahead if n not in used)
        if number in self._free:
            self._free.discard(number)
            return False
        return True

    def _insert(self, number: str, entry: dict, template_sha256: str, center_code: str, replaces: str,
                reason: str) -> Issued:
        """Insert the voucher's row and record its issue carrying that row (the projection's source)."""
        check_no(number)
        code, now = new_code(), self.storage.clock()
        issued_on: dt.date = entry["issued_on"]
        row = {"voucher_no": number, **{k: entry.get(k, "") for k in FIELD_KEYS}, "issued_on": issued_on.isoformat(),
               "expires_on": valid_until(issued_on).isoformat(), "template_sha256": template_sha256,
               "batch_file": entry["batch_file"], "page": entry["page"], "replaces": replaces, "verify_code": code,
               "center_code": center_code, "created_at": stamp(now), "photo": entry.get("photo", "")}
        self.storage.insert_voucher(row)
        self._free.discard(number)  # a NO the roster gave: taken now
        record_event(self.chain, number, "reissued" if replaces else "issued", reason, replaces, issue_data(row), now)
        return Issued(number, replaces, code)
