"""The README's set-up works on a Debian-like system Python that refuses `pip install` (PEP 668)."""

import subprocess
from pathlib import Path

import pytest

from support import ROOT

SYSTEM_PYTHON = Path("/usr/bin/python3")


def externally_managed(python: Path) -> bool:
    """Return True when `python` is a distribution's Python that refuses pip installs (PEP 668)."""
    if not python.exists():
        return False
    stdlib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=False).stdout.strip()
    return (Path(stdlib) / "EXTERNALLY-MANAGED").exists()


@pytest.mark.slow
@pytest.mark.skipif(not externally_managed(SYSTEM_PYTHON),
                    reason="needs a Debian-like, externally managed /usr/bin/python3")
def test_setup_installs_into_a_venv_on_an_externally_managed_system_python(tmp_path):
    refused = subprocess.run([str(SYSTEM_PYTHON), "-m", "pip", "install", "--dry-run", "click"],
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr + refused.stdout
    venv = tmp_path / "venv"
    done = subprocess.run(["bash", "scripts/setup.sh"], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHON": str(SYSTEM_PYTHON), "VENV": str(venv),
                               "HOME": str(tmp_path)}, timeout=540)
    assert done.returncode == 0, done.stderr[-2000:]
    version = subprocess.run([str(venv / "bin" / "fjvoucher"), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "fjvoucher" in version.stdout
