"""Frozen copies of ``xladdin/ranking.py``, ``grouping.py``, ``performance.py`` and ``backtest.py`` as of
commit 55a094b, before issue 14 rewrote them on arrays: the reference that tests/test_cores_pinned.py
compares today's cores against (same labels, values bit-for-bit or within 1e-12 relative). Not used by
the package."""
