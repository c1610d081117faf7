"""xladdin: A-share fund-flow research toolkit for Excel.

The package is layered; each layer imports only from itself and the layers listed before it:

* base — :mod:`xladdin.conventions` (units, calendars of periods), :mod:`xladdin.errors`,
  :mod:`xladdin.fileguard` (atomic writes, locks), :mod:`xladdin.cells` (value to cell): import
  nothing else from xladdin;
* :mod:`xladdin.data` — canonical tables: schema, readers, validation, the market, calendar, sample, clients;
* :mod:`xladdin.methods` — the reports' methods M1–M13 and the statistics, pure functions;
* :mod:`xladdin.workbook` — the weekly tables, the layout renderer, the parameters sheet, templates;
* :mod:`xladdin.ops` — the weekly job, mail, configuration, the command line (``python -m xladdin``).

``tests/test_layers.py`` enforces the rule.
"""
from __future__ import annotations

import sys

__version__ = "0.1.0"
#: the oldest Python xladdin runs on: xlwings 0.37.8 (the pinned version) requires 3.11 (0.37.1 dropped 3.10)
MIN_PYTHON = (3, 11)

# An install is refused before it gets here (the wheel's Requires-Python: pip says "requires a different
# Python"); this says it where an older Python reaches the code anyway: a checkout on PYTHONPATH or as the
# current folder, or the Python an xlwings.conf names (xlwings shows the message in Excel). The file keeps
# to syntax an older Python parses.
if sys.version_info < MIN_PYTHON:  # noqa: UP036 - the guard is for the versions the target excludes
    _message = (f"xladdin needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer (its xlwings 0.37.8 does too); "
                f"this is Python {'.'.join(map(str, sys.version_info[:3]))} at {sys.executable}. Install Python 3.11+ (python.org, "
                "or a conda env: conda create -n xladdin python=3.11) and the xladdin wheel into it: docs/install.md")
    if sys.argv[:1] == ["-m"]:  # `python -m xladdin`: argv[0] is "-m" while the module is looked up
        raise SystemExit(_message)  # one line on stderr, exit 1, no traceback
    raise ImportError(_message)
