"""Frozen copies of the cores now in ``xladdin/methods/`` (``ranking.py``, ``grouping.py``, ``stats.py`` -- here
``performance.py``, its name then -- and ``backtest.py``) as of commit 55a094b, before issue 14 rewrote them on
arrays: the reference that tests/test_cores_pinned.py compares today's cores against (same labels, values
bit-for-bit or within 1e-12 relative). Not used by the package."""
