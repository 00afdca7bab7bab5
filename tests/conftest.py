"""Shared fixtures: synthetic candidates and real roster files written in temporary folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.synthetic import make_candidates, write_roster_xlsx


@pytest.fixture
def rows() -> list[dict]:
    """Return five valid candidates, fresh for each test to change."""
    return make_candidates(5, seed=11)


@pytest.fixture
def write_xlsx(tmp_path):
    """Return a function that writes rows to a new .xlsx in tmp_path and returns its path."""
    counter = iter(range(1000))

    def write(rows: list[dict], **kwargs) -> Path:
        return write_roster_xlsx(tmp_path / f"roster{next(counter)}.xlsx", rows, **kwargs)

    return write
