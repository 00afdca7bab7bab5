"""Write the README's command reference from the commands' own --help (tests/test_docs.py keeps them equal).

Usage: python scripts/readme_commands.py
"""

from __future__ import annotations

import re
from pathlib import Path

from fjvoucher.cli import help_reference

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- commands:start[^>]*-->\n).*?(<!-- commands:end -->)", re.S)


def main() -> None:
    text = README.read_text(encoding="utf-8")
    if not BLOCK.search(text):
        raise SystemExit("README.md has no <!-- commands:start --> … <!-- commands:end --> block")
    README.write_text(BLOCK.sub(lambda m: m.group(1) + help_reference() + "\n" + m.group(2), text), encoding="utf-8")


if __name__ == "__main__":
    main()
