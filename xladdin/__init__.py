"""xladdin: A-share fund-flow research toolkit for Excel.

The package is layered; each layer imports only from itself and the layers listed before it:

* base — :mod:`xladdin.conventions` (units, calendars of periods), :mod:`xladdin.errors`,
  :mod:`xladdin.fileguard` (atomic writes, locks), :mod:`xladdin.cells` (value to cell): import
  nothing else from xladdin;
* :mod:`xladdin.data` — canonical tables: schema, readers, validation, the market, calendar, sample, clients;
* :mod:`xladdin.methods` — the reports' methods M1–M13 and the statistics, pure functions;
* :mod:`xladdin.workbook` — the weekly tables, the layout renderer, the parameters sheet, templates;
* :mod:`xladdin.ops` — the weekly job, mail, configuration, the command line.

``tests/test_layers.py`` enforces the rule. The flat module paths of earlier releases
(``xladdin.flows``, ``xladdin.performance``, ``xladdin.commands.weekly``, …) still import: each is
the same module object as its new home (``xladdin.flows is xladdin.methods.flows``).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

#: flat module name of earlier releases -> its home in the layers
MOVED: dict[str, str] = {
    **{m: f"data.{m}" for m in ("schema", "market", "_shared", "sources", "checks", "calendar", "sample",
                                "_sample_flows", "_sample_market", "_sample_universe", "clients")},
    **{m: f"methods.{m}" for m in ("flows", "correlation", "filters", "style", "holdings", "grouping", "ranking",
                                   "backtest", "strategy", "divergence", "northbound", "dashboard")},
    "performance": "methods.stats",
    **{m: f"workbook.{m}" for m in ("params", "context", "weekly", "layout", "messages", "summary",
                                    "template", "report")},
    **{m: f"ops.{m}" for m in ("jobs", "mail", "config", "cli", "commands")},
}


def _moved_to(fullname: str) -> str | None:
    """``xladdin.flows`` -> ``xladdin.methods.flows`` (and ``xladdin.commands.x`` -> ``xladdin.ops.commands.x``)."""
    parts = fullname.split(".")
    if len(parts) < 2 or parts[0] != __name__ or parts[1] not in MOVED:
        return None
    return ".".join([__name__, MOVED[parts[1]], *parts[2:]])


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import an old flat name as the very module object of its new home (one module, two names)."""

    def find_spec(self, fullname, path=None, target=None):
        new = _moved_to(fullname)
        return None if new is None else importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(_moved_to(spec.name))

    def exec_module(self, module):
        """Nothing to run: the module was executed once, under its new name."""

    def get_code(self, fullname):
        """The new module's code, for ``python -m xladdin.cli`` (runpy runs it as ``__main__``)."""
        new = _moved_to(fullname)
        return importlib.util.find_spec(new).loader.get_code(new)


if not any(isinstance(f, _Alias) for f in sys.meta_path):
    sys.meta_path.insert(0, _Alias())


def __getattr__(name: str):
    """``xladdin.flows`` as an attribute (``from xladdin import flows``) without importing it first."""
    if name in MOVED:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
