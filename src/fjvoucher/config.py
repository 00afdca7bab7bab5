"""A centre's settings, kept once in a TOML file in the per-user config folder, and where the ledger is.

Precedence for every setting: the command's option, then the environment (FJVOUCHER_LEDGER for
the ledger), then the config file, then the default.  The ledger defaults to the per-user data
folder, so that every command finds the same ledger whatever folder it runs in.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from fjvoucher.atomic import write_bytes_atomic
from fjvoucher.errors import InputError
from fjvoucher.layout import CENTER_CODE
from fjvoucher.ledger.location import Location, as_location, data_folder, is_database_url

APP = "fjvoucher"
ENV_LEDGER = "FJVOUCHER_LEDGER"
LEGACY_LEDGER = "fjvoucher.db"  # where 0.1.0 kept the ledger: the working folder
KEYS = {  # key → what it is, for `fjvoucher config`
    "center_name": "鉴定指导中心全称 · the centre's full name (seal line)",
    "center_code": "凭证编号中的中心代码 · centre code in new NOs, e.g. 3501",
    "ledger": "凭证台账：文件或 postgresql:// 网址 · the ledger: a file or a postgresql:// URL",
    "photos": "照片文件夹 · the photo folder",
    "verify_url": "真伪查询网址 · verification address printed as a QR code",
    "phone": "中心联系电话 · the centre's phone, shown with 真伪查询 answers (desk and serve's page)",
    "output": "输出文件夹 · where `fjvoucher desk` writes vouchers, reissues and monthly reports",
    "upload_columns": "上报国家查询系统的列及表头 · the upload's columns, e.g. certificate_no=ZSBH, name=XM",
    "other_centre": "他中心已发同一人同职业同等级时：refuse（拒绝，默认）或 warn（警告）"
                    " · a candidate another centre issued: refuse (default) or warn",
}
OTHER_CENTRE_MODES = ("refuse", "warn")


MAX_CENTER_NAME = 50  # the longest Fujian centre's name has 13 characters
MAX_URL = 100  # the QR code must stay readable in its 16 mm box with the NO and code appended
MAX_PATH = 1000
PATH_KEYS = ("ledger", "photos", "output")
_UNEXPANDED = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%[A-Za-z_][A-Za-z0-9_()]*%")
_TOML_TYPES = {bool: "true/false", int: "数字 number", float: "数字 number", list: "列表 list", dict: "表 table"}


class BadValue(ValueError):
    """A setting's value outside its type or range; the text says what is expected (Chinese · English)."""


def config_path() -> Path:
    """Return the config file's path in the per-user config folder."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "config.toml"


def default_ledger_path() -> Path:
    """Return the ledger's default path in the per-user data folder."""
    return data_folder() / "ledger.db"


def default_output_path() -> Path:
    """Return where the desk writes when no output folder is set: fjvoucher in the user's documents."""
    import platformdirs

    return Path(platformdirs.user_documents_dir()) / APP


# --- each setting's type and range ----------------------------------------------------------------

def _plain_text(value: str, limit: int, what: str) -> str:
    """Return `value` stripped; raise BadValue when empty, too long or holding invisible characters."""
    value = value.strip()
    if not value or len(value) > limit:
        raise BadValue(f"{what}，不超过 {limit} 个字符 (at most {limit} characters)")
    hidden = [c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    if hidden:
        raise BadValue(f"{what}，不能含换行或看不见的字符 U+{ord(hidden[0]):04X} (no invisible characters)")
    return value


def _center_name(value: str) -> str:
    return _plain_text(value, MAX_CENTER_NAME, "鉴定指导中心的全称，如 福州市职业技能鉴定指导中心")


def _center_code(value: str) -> str:
    value = value.strip()
    if not CENTER_CODE.fullmatch(value):
        raise BadValue("4 到 6 位数字，如 3501 (4 to 6 digits, e.g. 3501)")
    return value


def _verify_url(value: str) -> str:
    what = "以 https:// 或 http:// 开头的网址，如 https://jd.example.gov.cn/verify，不带 ? 和 #"
    value = _plain_text(value, MAX_URL, what)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise BadValue(f"{what} (an http(s) address)") from exc
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment
            or "@" in parts.netloc or any(c.isspace() for c in value)):
        raise BadValue(f"{what} (an http(s) address without query or fragment)")
    return value


def _phone(value: str) -> str:
    value = _plain_text(value, 40, "电话号码，如 0591-87654321")
    if not re.fullmatch(r"[0-9+()\- ,，、/转]+", value) or not any(c.isdigit() for c in value):
        raise BadValue("电话号码，如 0591-87654321，只用数字、空格和 + - ( ) (a phone number)")
    return value


def _path(value: str) -> str:
    """Return a path with ~ and environment variables expanded; refuse what stays unexpanded or relative."""
    what = "一个完整路径，如 D:/凭证/台账.db 或 ~/凭证/台账.db"
    expanded = os.path.expandvars(os.path.expanduser(_plain_text(value, MAX_PATH, what)))
    left = _UNEXPANDED.search(expanded)
    if left:
        raise BadValue(f"{what}；其中的 {left.group()} 不是已设置的环境变量 (an unset environment variable)")
    if not Path(expanded).is_absolute():
        raise BadValue(f"{what}，不能是相对路径：它会随当前文件夹而变 (an absolute path)")
    return expanded


def _ledger(value: str) -> str:
    """Return a ledger setting: a postgresql:// URL as typed, else a full path."""
    if is_database_url(value.strip()):
        return _plain_text(value, MAX_PATH, "postgresql://角色@服务器/数据库 这样的网址")
    return _path(value)


def _upload_columns(value: str) -> str:
    return _plain_text(value, 2000, "逗号分隔的「键=表头」，如 certificate_no=ZSBH, name=XM（见 README）")


def _other_centre(value: str) -> str:
    value = value.strip().lower()
    if value not in OTHER_CENTRE_MODES:
        raise BadValue("refuse（拒绝）或 warn（警告）(refuse or warn)")
    return value


CHECKS: dict[str, Callable[[str], str]] = {
    "center_name": _center_name, "center_code": _center_code, "ledger": _ledger, "photos": _path,
    "verify_url": _verify_url, "phone": _phone, "output": _path, "upload_columns": _upload_columns,
    "other_centre": _other_centre,
}


def _shown(value: object) -> str:
    """Return a value as one short printable line (a wrong value may be 3,000 characters or hold a line break)."""
    text = repr(value) if not isinstance(value, str) else value
    text = text if len(text) <= 40 else text[:40] + "…"
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def _refuse(path: Path, key: str, value: object, expected: str) -> InputError:
    return InputError(f"配置文件 {path} 中 {key} = 「{_shown(value)}」无法使用：应为{expected}。"
                      f"请用 fjvoucher config set {key} 改正，或删除这一行 (bad setting {key})", code="config-invalid")


def checked_value(path: Path, key: str, value: object) -> str:
    """Return a setting's value in the form fjvoucher uses; raise InputError naming file, key and what is expected."""
    if key not in KEYS:
        raise InputError(f"配置文件 {path} 中的「{_shown(key)}」不是 fjvoucher 的设置；可设置的有：{'、'.join(KEYS)}。"
                         "请改正或删除这一行 (unknown setting)", code="config-invalid")
    if not isinstance(value, str):
        kind = _TOML_TYPES.get(type(value), type(value).__name__)
        raise _refuse(path, key, value, f"带引号的文字，现在是{kind} (a quoted string)")
    try:
        return CHECKS[key](value)
    except BadValue as exc:
        raise _refuse(path, key, value, str(exc)) from None


def _read_raw(path: Path) -> dict:
    """Return the config file as TOML data; utf-8-sig: Windows Notepad may begin the file with a BOM."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"配置文件 {path} 格式有误：{exc}。请改正或删除它 (config file is not valid TOML)",
                         code="config-invalid") from exc
    except OSError as exc:  # a folder or a device where the file should be
        raise InputError(f"配置文件 {path} 无法读取：{exc.strerror or exc}。请把它换成一个文本文件或删除它 "
                         "(config file unreadable)", code="config-invalid") from exc


def read_config(path: Path | None = None) -> dict[str, str]:
    """Return the settings in the config file (none when it does not exist), each checked against its type
    and range: a wrong value or an unknown key is an InputError naming the file and the key."""
    path = path or config_path()
    return {key: checked_value(path, key, value) for key, value in _read_raw(path).items()}


ALIASES = {"center_phone": "phone"}  # the name the clerk may reach for, beside center_name


@dataclass(frozen=True)
class Saved:
    """A setting written: the file, the value as stored, and warnings for the clerk (a centre's name)."""

    path: Path
    value: str
    warnings: list[str] = field(default_factory=list)


def set_value(key: str, value: str, path: Path | None = None) -> Saved:
    """Set one setting in the config file (created when missing) after checking it.

    An empty value removes the setting.  A relative path is made absolute here, where the clerk
    typed it.  The other settings must be valid already (only a hand edit makes them otherwise):
    nothing is written next to a wrong one.
    """
    path = path or config_path()
    key = ALIASES.get(key, key)
    if key not in KEYS:
        raise InputError(f"「{_shown(key)}」不是 fjvoucher 的设置（配置文件 {path}）；可设置的有：{'、'.join(KEYS)} "
                         "(unknown setting)", code="config-invalid")
    value = _as_typed(key, value)
    new = checked_value(path, key, value) if value.strip() else ""  # empty: the setting is removed
    values = {k: checked_value(path, k, v) for k, v in _read_raw(path).items() if k != key}
    if new:
        values[key] = new
    text = "".join(f"{k} = {_toml_string(v)}\n" for k, v in values.items())
    write_bytes_atomic(path, text.encode("utf-8"))
    return Saved(path, new, _center_warnings(new) if key == "center_name" else [])


def _as_typed(key: str, value: str) -> str:
    """Return a path the clerk typed made absolute (relative to where it was typed); other values as they are."""
    if key in PATH_KEYS and value.strip() and not _UNEXPANDED.search(value) and not is_database_url(value.strip()):
        return str(Path(os.path.expanduser(value.strip())).absolute())
    return value


def value_problem(key: str, value: str) -> str | None:
    """Return what `key`'s value should be when `value` (as typed) is not one, else None."""
    try:
        CHECKS[key](_as_typed(key, value))
    except BadValue as exc:
        return str(exc)
    return None


def _center_warnings(name: str) -> list[str]:
    """Return what validate would warn of a centre's name (not one of Fujian's centres)."""
    from fjvoucher.roster.checks import center_findings

    return [finding.message() for finding in center_findings(name)]


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c >= " " or c == "\t" else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


@dataclass(frozen=True)
class Setting:
    """One setting's value and where it came from (option, environment, config file, default)."""

    key: str
    value: str | None
    source: str


def settings() -> list[Setting]:
    """Return every setting with its value and source, as `fjvoucher config` shows them."""
    values = read_config()
    out = []
    for key in KEYS:
        if key == "ledger":
            out.append(_ledger_setting(values))
        elif key in values:
            out.append(Setting(key, values[key], str(config_path())))
        else:
            out.append(Setting(key, None, "未设置 not set"))
    return out


def _ledger_setting(values: dict[str, str]) -> Setting:
    if os.environ.get(ENV_LEDGER):
        return Setting("ledger", os.environ[ENV_LEDGER], f"环境变量 ${ENV_LEDGER}")
    if "ledger" in values:
        return Setting("ledger", values["ledger"], str(config_path()))
    if Path(LEGACY_LEDGER).is_file():
        return Setting("ledger", str(Path(LEGACY_LEDGER).resolve()), "0.1.0 留在当前文件夹的台账 legacy ledger here")
    return Setting("ledger", str(default_ledger_path()), "默认 default")


@dataclass(frozen=True)
class LedgerChoice:
    """The ledger a command uses, and a note for the clerk (a 0.1.0 ledger found in this folder)."""

    path: Location  # a SQLite file, or a postgresql:// URL (a string)
    note: str = ""


def choose_ledger(option: Path | str | None = None) -> LedgerChoice:
    """Return the ledger to use: the option, $FJVOUCHER_LEDGER, the config file, a 0.1.0 one here, the default."""
    if option:
        return LedgerChoice(as_location(option))
    setting = _ledger_setting(read_config())
    assert setting.value is not None  # the ledger setting always has one: the default at last
    path = as_location(setting.value)
    if setting.source.startswith("0.1.0"):
        return LedgerChoice(path, f"使用了当前文件夹中 0.1.0 版的台账 {path}。建议移到固定位置："
                                  f"fjvoucher config set ledger {path}（或把文件移到 {default_ledger_path()}）"
                                  " (using the 0.1.0 ledger found in this folder)")
    return LedgerChoice(path)


DEMO_LEDGER_NAME = "试用台账.db"


def demo_ledger(outdir: Path) -> LedgerChoice:
    """Return the ledger of a trial run (merge --demo): inside its output folder, never the centre's own."""
    path = Path(outdir) / DEMO_LEDGER_NAME
    return LedgerChoice(path, f"试用 (demo)：凭证只记入输出文件夹中的试用台账 {path}，本中心的台账 "
                              f"{choose_ledger(None).path} 没有被改动；删除 {outdir} 即可清除 "
                              "(a trial: the centre's ledger is untouched)")


def setting(key: str) -> str | None:
    """Return one setting from the config file, or None."""
    return read_config().get(key)


def other_centre_mode() -> str:
    """Return what merge does with a candidate another centre issued: refuse (default) or warn."""
    return setting("other_centre") or "refuse"  # checked when read: refuse or warn
