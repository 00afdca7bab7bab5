"""A centre's settings, kept once in a TOML file in the per-user config folder, and where the ledger is.

Precedence for every setting: the command's option, then the environment (FJVOUCHER_LEDGER for
the ledger), then the config file, then the default.  The ledger defaults to the per-user data
folder, so that every command finds the same ledger whatever folder it runs in.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from fjvoucher.atomic import write_bytes_atomic
from fjvoucher.errors import InputError

APP = "fjvoucher"
ENV_LEDGER = "FJVOUCHER_LEDGER"
LEGACY_LEDGER = "fjvoucher.db"  # where 0.1.0 kept the ledger: the working folder
KEYS = {  # key → what it is, for `fjvoucher config`
    "center_name": "鉴定指导中心全称 · the centre's full name (seal line)",
    "center_code": "凭证编号中的中心代码 · centre code in new NOs, e.g. 3501",
    "ledger": "凭证台账文件 · the ledger file",
    "photos": "照片文件夹 · the photo folder",
    "verify_url": "真伪查询网址 · verification address printed as a QR code",
    "phone": "中心联系电话 · the centre's phone, shown with 真伪查询 answers (desk and serve's page)",
    "output": "输出文件夹 · where `fjvoucher desk` writes vouchers, reissues and monthly reports",
}


def config_path() -> Path:
    """Return the config file's path in the per-user config folder."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "config.toml"


def default_ledger_path() -> Path:
    """Return the ledger's default path in the per-user data folder."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP, appauthor=False)) / "ledger.db"


def default_output_path() -> Path:
    """Return where the desk writes when no output folder is set: fjvoucher in the user's documents."""
    import platformdirs

    return Path(platformdirs.user_documents_dir()) / APP


def read_config(path: Path | None = None) -> dict[str, str]:
    """Return the settings in the config file (none when it does not exist)."""
    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"配置文件 {path} 格式有误：{exc}。请改正或删除它 (config file is not valid TOML)") from exc
    return {k: str(v) for k, v in data.items() if k in KEYS}


ALIASES = {"center_phone": "phone"}  # the name the clerk may reach for, beside center_name


def set_value(key: str, value: str, path: Path | None = None) -> Path:
    """Set one setting in the config file (created when missing); return the file's path."""
    key = ALIASES.get(key, key)
    if key not in KEYS:
        raise InputError(f"没有「{key}」这一设置；可设置的有：{'、'.join(KEYS)} (unknown setting)")
    path = path or config_path()
    values = read_config(path)
    values[key] = value
    text = "".join(f"{k} = {_toml_string(v)}\n" for k, v in values.items())
    write_bytes_atomic(path, text.encode("utf-8"))
    return path


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

    path: Path
    note: str = ""


def choose_ledger(option: Path | None = None) -> LedgerChoice:
    """Return the ledger to use: the option, $FJVOUCHER_LEDGER, the config file, a 0.1.0 one here, the default."""
    if option:
        return LedgerChoice(Path(option))
    setting = _ledger_setting(read_config())
    assert setting.value is not None  # the ledger setting always has one: the default at last
    path = Path(setting.value).expanduser()
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
