"""Shared fixtures: the real canonical data (must exist) and the embedded sample market."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_DIR = ROOT.parent / "shared" / "data" / "real" / "canonical"


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """../shared/data/real/canonical; fails loudly (never skips) when it is missing."""
    if not (REAL_DIR / "etf_daily.csv").is_file():
        pytest.fail(f"real canonical data missing: expected {REAL_DIR} (clone with ../shared beside the repo)")
    return REAL_DIR


@pytest.fixture(scope="session")
def real_market(real_data_dir):
    from xladdin.data import load_market
    return load_market(real_data_dir)


@pytest.fixture(scope="session")
def sample_market():
    from xladdin.sample import sample_market as make
    return make()


@pytest.fixture
def isolated_mail_env(tmp_path, monkeypatch):
    """No user config, no SMTP password from the developer's environment."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.delenv("XLADDIN_CONFIG", raising=False)
    monkeypatch.delenv("XLADDIN_SMTP_PASSWORD", raising=False)
