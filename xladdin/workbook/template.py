"""Build and refresh the macro workbook (``.xlsm``) of the weekly tracker.

Build (:func:`build_template`)
    1. XlsxWriter writes a skeleton: the layout's sheets (cover first, parameters last), a
       ``xlwings.conf`` sheet (no machine path unless asked for; notes on what to fill), a
       **Refresh** button on the cover, and the VBA project of xlwings'
       *standalone* quickstart workbook (``xlwings/quickstart_standalone.xlsm`` -- the very file
       ``xlwings quickstart NAME --standalone`` copies; BSD-3 licensed). That project holds
       ``Module1.SampleCall``, the ``xlwings`` module (``RunPython``) and its ``Dictionary`` class, so
       no add-in is needed.
    2. openpyxl (``keep_vba=True``) renders the tables through the layout -- the same code as
       :func:`refresh_workbook` -- and the result replaces the target atomically. The Excel tables,
       number formats, conditional formats, charts, widths and frozen panes made here are the ones the
       Refresh button (:class:`~xladdin.workbook.xlwings_writer.XlwingsWriter`) later updates in place.
    3. A module ``<workbook stem>.py`` is written beside the workbook.

Why ``SampleCall`` and the ``<stem>.py`` shim: the VBA project is kept byte-identical (it is
compiled; editing it needs Excel). ``SampleCall`` runs
``RunPython "import <stem>; <stem>.main()"`` where ``<stem>`` is the workbook's file name without
extension, evaluated when the button is clicked -- the xlwings quickstart convention, and what the
ribbon's *Run main* does too. The shim imports :func:`xladdin_macros.refresh.main`, so the button, *Run main*
and ``python <stem>.py`` all run the same refresh. Renaming the workbook needs a shim of the same
name (``xladdin template NEW.xlsm`` writes both).

Refresh (:func:`refresh_workbook`)
    Headless: load with ``keep_vba=True`` (VBA, button and ``xlwings.conf`` kept byte-for-byte),
    read the parameters sheet, compute, render (only the layout's tables, banner and charts are
    rewritten: the user's cells, formulas, comments, charts and conditional formats elsewhere are kept,
    as by the Refresh button; see :mod:`~xladdin.workbook.placement`), save to a temporary file in the same
    folder, fsync, ``os.replace``. On any error the temporary file is removed, the workbook is untouched,
    and :class:`RefreshError` names the step (and table) that failed.
"""
from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import keyword
import os
import re
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xladdin.data.loaders import data_dir_from, open_market
from xladdin.data.market import Market
from xladdin.data.sources import data_files, open_workbook
from xladdin.data.store import update_before_run
from xladdin.errors import DataError, ReportedError
from xladdin.fileguard import (
    LockBusy,
    atomic_target,
    atomic_write_text,
    describe_owner,
    lock_path,
    owner_lock,
    read_only_reason,
    real_path,
    same_file,
    sweep_temp_files,
)

from . import weekly
from .embedded import EMBEDDED_LABEL, read_tables, write_tables
from .layout import Layout, load_layout
from .openpyxl_writer import OpenpyxlWriter
from .params import ParamError, Params, default_params, params_from_rows, params_to_frame
from .placement import PlacementError
from .refs import parse_cell, parse_range
from .render import render
from .weekly import WeeklyError

CONF_SHEET = "xlwings.conf"
BUTTON_MACRO = "SampleCall"
BUTTON_CAPTION = {"zh": "刷新 Refresh", "en": "Refresh"}
#: the import name of the Excel adapters (the repository's ``udfs/`` folder, installed under this name)
UDF_PACKAGE = "xladdin_udfs"


class RefreshError(ReportedError, RuntimeError):
    """A refresh step failed; the workbook on disk is unchanged. ``step`` names the step."""

    def __init__(self, step: str, message: str, path: Path | None = None):
        self.step = step
        where = f" ({path})" if path else ""
        super().__init__(f"refresh failed at step `{step}`{where}: {message}; the workbook was not changed")


# ------------------------------------------------------------------------------------- VBA source
def xlwings_standalone_workbook() -> Path:
    """Path of xlwings' standalone quickstart workbook (source of the VBA project)."""
    import xlwings  # lazy: only building a workbook needs xlwings (its VBA); ~0.2 s to import
    p = Path(xlwings.__file__).resolve().parent / "quickstart_standalone.xlsm"
    if not p.is_file():
        raise FileNotFoundError(f"{p} not found: xlwings {xlwings.__version__} is incomplete; reinstall it with the "
                                "xladdin wheel (`python -m pip install --force-reinstall <path or URL of the xladdin "
                                "wheel>`)")
    return p


def vba_project_bytes() -> bytes:
    """``xl/vbaProject.bin`` of xlwings' standalone quickstart (RunPython + Module1.SampleCall)."""
    with zipfile.ZipFile(xlwings_standalone_workbook()) as z:
        return z.read("xl/vbaProject.bin")


def xlwings_version() -> str:
    import xlwings  # lazy: only building a workbook needs xlwings (its VBA); ~0.2 s to import
    return xlwings.__version__


def udf_modules() -> list[str]:
    """The UDF modules of the project (``xladdin_udfs.<name>`` for each ``<name>.py`` of the package's folder
    without a leading underscore), found without importing them."""
    spec = importlib.util.find_spec(UDF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{UDF_PACKAGE} is not installed: install xladdin into this Python "
                                  "(pip install <path or URL of the xladdin wheel>, or pip install -e . in a checkout)")
    return sorted(f"{UDF_PACKAGE}.{p.stem}" for folder in spec.submodule_search_locations
                  for p in Path(folder).glob("*.py") if not p.stem.startswith("_"))


#: what the ``xlwings.conf`` sheet says about the keys left out (column D, outside the key block)
CONF_NOTES = [
    "How Excel finds Python (xlwings reads column A:B from A1 down to the first blank row; sheet keys win "
    "over the ribbon's settings, so only keys with a value are listed).",
    "Add a key in the first empty row of column A, its value in column B:",
    "  Interpreter_Win  full path of pythonw.exe (python.org installs: the Microsoft Store alias 'python' is "
    "not Python), e.g. C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python312\\pythonw.exe",
    "  Interpreter_Mac  full path of python, e.g. /Library/Frameworks/Python.framework/Versions/3.12/bin/python3",
    "  Conda Path + Conda Env  Anaconda/Miniconda on Windows, e.g. C:\\Users\\me\\anaconda3 and base",
    "  PYTHONPATH  folders of your own modules; xladdin itself must be installed into that Python (pip install <path "
    "or URL of the xladdin wheel>: the Refresh button and the functions import its xladdin_macros and xladdin_udfs)",
    "`python -m xladdin excel-setup FOLDER`, run with the Python Excel should use, writes a workbook with these rows "
    "filled in; `python -m xladdin doctor` prints them for this machine.",
]


def interpreter_key(path: str) -> str:
    """``Interpreter_Win`` for a Windows path (drive letter, backslash or ``.exe``), ``Interpreter_Mac`` for
    an absolute POSIX path; anything else is refused (xlwings needs a full path there)."""
    p = str(path).strip()
    if re.match(r"^[A-Za-z]:[\\/]", p) or "\\" in p or p.lower().endswith(".exe"):
        return "Interpreter_Win"
    if p.startswith(("/", "~")):
        return "Interpreter_Mac"
    raise ValueError(f"--interpreter {path!r}: give the full path of the Python Excel should run (e.g. "
                     "C:\\...\\pythonw.exe on Windows, /usr/local/bin/python3 on macOS)")


def conf_rows(pythonpath: str | None = None, interpreter: str | None = None, conda_path: str | None = None,
              conda_env: str | None = None) -> list[tuple[str, str]]:
    """Rows of the ``xlwings.conf`` sheet (keys as xlwings' VBA ``GetConfig`` reads them).

    Only keys with a value: an empty key on the sheet would still override the user's xlwings
    settings. Nothing machine-specific is written unless asked for (``--pythonpath``,
    ``--interpreter``, ``--conda-path``/``--conda-env``).
    """
    if (conda_path is None) != (conda_env is None):
        raise ValueError("--conda-path and --conda-env go together (the Anaconda folder and the environment name)")
    rows = []
    if interpreter:
        rows.append((interpreter_key(interpreter), interpreter.strip()))
    if conda_path:
        rows += [("Conda Path", conda_path.strip()), ("Conda Env", conda_env.strip())]
    rows += [("PYTHONPATH", pythonpath or ""), ("UDF Modules", ";".join(udf_modules())),
             ("ADD_WORKBOOK_TO_PYTHONPATH", "True")]
    return [(k, v) for k, v in rows if v]


SHIM = '''"""Entry point of {stem}.xlsm for xlwings (written by `xladdin template`).

The workbook's Refresh button runs xlwings' ``SampleCall``:
``RunPython "import {stem}; {stem}.main()"`` (module name = workbook name), and the xlwings
ribbon's *Run main* does the same. Both land here and run the shared refresh.
"""
from xladdin_macros.refresh import main  # noqa: F401

if __name__ == "__main__":  # debug from an IDE: python {stem}.py (Windows/macOS with Excel open)
    import xlwings as xw

    xw.Book("{stem}.xlsm").set_mock_caller()
    main()
'''


# ------------------------------------------------------------------------------------- build
def _skeleton(path: Path, layout: Layout, language: str, conf: list[tuple[str, str]]) -> None:
    """XlsxWriter skeleton: sheets, xlwings.conf (``conf`` rows and the notes), Refresh button, VBA project."""
    import xlsxwriter  # lazy: only building a workbook writes with XlsxWriter
    wb = xlsxwriter.Workbook(str(path))
    wb.set_vba_name("ThisWorkbook")
    sheets = {}
    for i, s in enumerate(layout.sheets, start=1):
        ws = wb.add_worksheet(s.name(language))
        ws.set_vba_name(f"Sheet{i}")
        sheets[s.key] = ws
    conf_ws = wb.add_worksheet(CONF_SHEET)
    conf_ws.set_vba_name(f"Sheet{len(layout.sheets) + 1}")
    for r, (k, v) in enumerate(conf):
        conf_ws.write_string(r, 0, k)
        conf_ws.write_string(r, 1, v)
    for r, text in enumerate(CONF_NOTES):  # column D: apart from the A:B block xlwings reads
        conf_ws.write_string(r, 3, text)
    conf_ws.set_column(0, 0, 30)
    conf_ws.set_column(1, 1, 60)
    conf_ws.set_column(3, 3, 110)
    conf_ws.set_landscape()  # printed, its notes are not cut: one page wide
    conf_ws.fit_to_pages(1, 0)
    for s in layout.sheets:
        if s.button_cell:
            sheets[s.key].insert_button(s.button_cell, {"macro": BUTTON_MACRO, "caption": BUTTON_CAPTION[language],
                                                        "width": 128, "height": 32})
    with tempfile.TemporaryDirectory() as d:
        vba = Path(d) / "vbaProject.bin"
        vba.write_bytes(vba_project_bytes())
        wb.add_vba_project(str(vba))
        wb.close()


def render_result(wb: Any, result: Any, params: Params, layout: Layout, progress: Callable[[str], None] | None = None,
                  writer: Any = None, snapshot: bool = False):
    """Render a :class:`~xladdin.workbook.weekly.WeeklyResult` and the parameters used (written back to the
    parameters sheet for the next refresh) through the layout: into an openpyxl workbook ``wb``, or
    with ``writer`` (e.g. :class:`~xladdin.workbook.xlwings_writer.XlwingsWriter` for the Refresh button).
    ``snapshot``: the values-only report (no Refresh: its parameters sheet says so)."""
    writer = writer or OpenpyxlWriter.for_layout(wb, layout)
    tables = dict(result.tables)
    tables["params"] = params_to_frame(params)
    return render(tables, writer, layout, language=params.language,
                  subtitles=result.subtitles_for(params.language), notes=result.notes, progress=progress,
                  sample=result.sample, inputs=result.inputs, snapshot=snapshot)


def embed_frames(market: Market, params: Params, asof=None, since=None) -> dict:
    """The tables ``xladdin template --embed-data`` puts into the workbook (:func:`xladdin.data.embed.embedded_frames`):
    every table of ``market`` from ``since`` on (default: whole), the stock-level tables from the weekly window of
    the as-of date (:func:`xladdin.workbook.weekly.stock_rows_since`: the weekly tables never read earlier rows).
    A table that does not fit a sheet is a DataError naming it."""
    from xladdin.data.embed import embedded_frames  # lazy: only an embedding build needs it
    day = weekly.resolve_asof(market, asof if asof is not None else params.asof)
    return embedded_frames(market, since=weekly.stock_rows_since(day, params), window=since)


def module_name_problem(stem: str, folder: str | Path) -> str | None:
    """Why ``<stem>.py`` beside a workbook in ``folder`` cannot be the module its Refresh button imports, or None.

    The button runs ``import <stem>`` with the workbook's folder first on ``sys.path`` (xlwings'
    ``utils.prepare_sys_path``), so ``<stem>`` must be a module name (not ``xladdin_weekly (1)``, ``2026`` or a
    keyword) and must not be the name of a module this Python already has (``xladdin``, ``pandas``, ``calendar``):
    the file would hide that module from the refresh, and from ``python -m xladdin`` run in that folder. The
    workbook's own folder and the current folder are not searched (the workbook's own ``<stem>.py`` may be there),
    and another workbook's module found elsewhere on ``sys.path`` (one that runs xladdin's refresh) hides nothing."""
    if not stem.isidentifier() or keyword.iskeyword(stem):
        return f"`{stem}` is not a Python module name"
    if stem in sys.stdlib_module_names:
        return f"`{stem}` is the name of a module of Python's standard library, which {stem}.py would hide"
    skip = {os.path.normcase(os.path.abspath(p)) for p in ("", folder)}
    path = [p for p in sys.path if p and os.path.normcase(os.path.abspath(p)) not in skip]
    spec = None
    for finder in sys.meta_path:  # sys.path without those folders; other finders (an editable install's) as they are
        find = getattr(finder, "find_spec", None)
        if find is not None:
            spec = find(stem, path) if finder is importlib.machinery.PathFinder else find(stem, None)
        if spec is not None:
            break
    if spec is None or _runs_the_refresh(spec.origin):  # another workbook's module: the same refresh either way
        return None
    where = spec.origin or next(iter(spec.submodule_search_locations or []), stem)
    return f"`{stem}` is the name of the installed module {where}, which {stem}.py would hide"


def _runs_the_refresh(origin: str | None) -> bool:
    """Whether the module file ``origin`` is a workbook's module (it imports xladdin's refresh, as the one
    :func:`build_template` writes does)."""
    if not origin or not origin.endswith(".py"):
        return False
    try:
        return "xladdin_macros.refresh" in Path(origin).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def build_template(out: str | Path, market: Market, params: Params | None = None, asof=None,
                   layout: Layout | None = None, pythonpath: str | None = None, write_shim: bool = True,
                   progress: Callable[[str], None] | None = None, interpreter: str | None = None,
                   conda_path: str | None = None, conda_env: str | None = None, embed: bool = False,
                   embed_since=None) -> Path:
    """Build the macro workbook ``out`` (.xlsm) filled with the week's tables of ``market``.

    Parameters
    ----------
    out : path ending in ``.xlsm``; its stem must be a Python module name that hides no installed module
        (:func:`module_name_problem`: the macro imports it).
    market : data for the first fill (the embedded sample for the committed template).
    params : initial parameters written to the parameters sheet (default: defaults).
    asof : as-of date (default: params.asof, else the weekly tables' effective end: :func:`~xladdin.workbook.weekly.report_asof`).
    pythonpath : PYTHONPATH written to the ``xlwings.conf`` sheet (default: none; install the package).
    interpreter : full path of the Python Excel runs (``Interpreter_Win`` or ``Interpreter_Mac``).
    conda_path, conda_env : Anaconda folder and environment (``Conda Path`` / ``Conda Env``, Windows).
    write_shim : also write ``<stem>.py`` beside the workbook (see the module docstring).
    embed : carry ``market``'s tables in hidden sheets (:func:`embed_frames`, from ``embed_since`` on when given):
        the Refresh reads them while ``data_dir`` is blank (:mod:`xladdin.workbook.embedded`); ``data_dir`` must be
        blank then.

    Returns
    -------
    Path of the workbook.
    """
    out = Path(out)
    if out.suffix.lower() != ".xlsm":
        raise ValueError(f"{out}: the macro workbook must end in .xlsm (Excel refuses macros in .xlsx)")
    problem = module_name_problem(out.stem, out.parent) if write_shim else None
    if problem is not None:
        raise ValueError(f"{out}: the Refresh button runs `import {out.stem}` from `{out.stem}.py` beside the workbook, "
                         f"and {problem}: choose another file name (letters, digits and _, not starting with a digit)")
    out.parent.mkdir(parents=True, exist_ok=True)
    layout = layout or load_layout()
    params = params or default_params()
    conf = conf_rows(pythonpath, interpreter, conda_path, conda_env)  # checked before the computation
    frames = None
    if embed:
        if params.data_dir:
            raise ValueError(f"the workbook would carry its data but data_dir is set ({params.data_dir}): the Refresh "
                             "reads that folder instead; leave data_dir blank to embed")
        frames = embed_frames(market, params, asof, embed_since)  # a table too long for a sheet fails here
    result = weekly.compute_weekly(market, params, asof, progress=progress)
    with atomic_target(out) as tmp:
        _skeleton(tmp, layout, params.language, conf)
        wb = open_workbook(tmp, label=out.name, keep_vba=True)
        render_result(wb, result, params, layout, progress)
        if frames is not None:
            write_tables(wb, frames, sample=market.sample)
        wb.active = 0
        wb.save(tmp)
    if write_shim:
        atomic_write_text(out.parent / f"{out.stem}.py", SHIM.format(stem=out.stem))
    return out


# ------------------------------------------------------------------------------------- refresh
#: rows read below the parameters table's anchor (the table has about 30)
PARAM_ROWS = 200


def read_params_sheet(book: Any, layout: Layout | None = None) -> Params:
    """Parameters from the workbook's parameters sheet (either language), validated.

    ``book`` is an openpyxl workbook (``xladdin refresh``, ``weekly --params FILE.xlsx``) or an
    ``xlwings.Book`` (the Refresh button, xlwings Lite): the same rows are read either way, the two
    columns key and value of the parameters table (the Excel table the layout names, down to its last
    row: the user's notes below it are not parameters), or, in a sheet without that table, from the
    table's anchor down :data:`PARAM_ROWS` rows.
    """
    layout = layout or load_layout()
    spec = layout.sheet("params")
    table = spec.table("params")
    openpyxl_book = hasattr(book, "sheetnames")
    names = list(book.sheetnames) if openpyxl_book else [s.name for s in book.sheets]
    name = next((n for n in (spec.zh, spec.en) if n in names), None)
    if name is None:
        raise ValueError(f"no parameters sheet (`{spec.zh}` or `{spec.en}`) in the workbook; rebuild it with "
                         "`xladdin template`")
    row, col = parse_cell(table.anchor)
    if openpyxl_book:
        ws = book[name]
        found = dict(ws.tables.items()).get(table.name)
        last = parse_range(found)[2] if found else max(row, min(ws.max_row, row + PARAM_ROWS))
        rows = list(ws.iter_rows(min_row=row, max_row=last, min_col=col, max_col=col + 1, values_only=True))
    else:
        sheet = book.sheets[name]
        found = next((t for t in sheet.tables if t.name == table.name), None)
        last = parse_range(found.range.address)[2] if found is not None else row + PARAM_ROWS
        rows = sheet.range((row, col), (last, col + 1)).value or []
    return params_from_rows(rows, source=f"sheet {name}")


@dataclass(frozen=True)
class Refreshed:
    """What :func:`refresh_workbook` wrote: the workbook and the week it now holds (``result.sample``: from the
    embedded sample)."""

    path: Path
    result: Any  # xladdin.workbook.weekly.WeeklyResult


def _check_data_is_not(workbook: Path, data: Any) -> None:
    """RefreshError when a file of the data (``--data`` or ``data_dir``) is the workbook being refreshed."""
    for p in data_files(data):
        if same_file(p, workbook):
            raise RefreshError("checking the data", f"the data ({data}) is the workbook being refreshed: a refresh "
                               "rewrites the workbook, so its data must be other files; set data_dir (or --data) to "
                               "the folder of the canonical tables", workbook)


def refresh_workbook(path: str | Path, data: str | Path | None = None, asof=None, language: str | None = None,
                     layout: Layout | None = None, market: Market | None = None,
                     progress: Callable[[str], None] | None = None, *, wait: float = 0.0,
                     notice: Callable[[str], None] | None = None) -> Refreshed:
    """Refresh an existing workbook (.xlsm or .xlsx) in place, atomically.

    Parameters
    ----------
    path : the workbook built by ``xladdin template`` (or a report).
    data : folder of canonical tables; overrides the sheet's ``data_dir`` (blank there: the tables the workbook
        carries in hidden sheets, ``xladdin template --embed-data``, else the sample).
    asof : overrides the sheet's ``asof``.
    language : overrides the sheet's ``language``.
    market : an already loaded market (tests, callers that hold one); overrides ``data``.
    wait : seconds to wait while another process refreshes the same workbook (default: fail at once).
    notice : gets one line for each leftover of a killed refresh that is cleaned up (a stale lock, a
        temporary file).

    Returns
    -------
    Refreshed
        The workbook's path and the :class:`~xladdin.workbook.weekly.WeeklyResult` written into it.

    Raises
    ------
    RefreshError
        Naming the step: ``checking the workbook`` (read-only workbook or folder), ``locking`` (another
        refresh of the same workbook is running), ``opening workbook``, ``reading parameters``,
        ``loading data``, ``computing table <key>``, ``checking the sheets against the layout`` (a table moved
        or deleted, or the user's content where a table grows: what the Excel refresh refuses too),
        ``writing sheets``, ``saving``. The workbook is unchanged.
    FileNotFoundError
        ``path`` does not exist.

    Notes
    -----
    While it runs, the refresh holds the lock :func:`xladdin.fileguard.lock_path` (``.<name>.xladdin-lock``
    beside the workbook, holding its pid, host and start time), so two refreshes of one workbook never
    both write it; a lock whose process is gone is taken over (:func:`xladdin.fileguard.owner_lock`).
    Holding it, the refresh first removes the temporary files killed refreshes left
    (:func:`xladdin.fileguard.sweep_temp_files`). A symlink is followed: the workbook it points to is
    refreshed (and locked), the link stays a link.
    """
    started = time.time()
    if not Path(path).is_file():
        raise FileNotFoundError(f"workbook {path} not found; build one with `xladdin template {Path(path).name}`")
    path = real_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"workbook {path} not found; build one with `xladdin template {path.name}`")
    for p in (path, path.parent):
        reason = read_only_reason(p)
        if reason:
            raise RefreshError("checking the workbook", f"{reason}; the refresh writes a new file beside the "
                               "workbook and swaps it in: make it writable, or refresh a copy", path)
    say = notice or (lambda text: None)
    lock = lock_path(path)
    held = contextlib.ExitStack()
    try:
        held.enter_context(owner_lock(lock, wait=wait, notice=say))
    except LockBusy as exc:
        raise RefreshError("locking", f"the workbook is being refreshed by {describe_owner(exc.owner)}; wait "
                           f"until it finishes and run again (if that process is gone, delete the stale lock {lock})", path) from None
    except OSError as exc:
        raise RefreshError("locking", f"cannot create the lock file {lock} ({exc.strerror or exc})", path) from exc
    layout = layout or load_layout()
    keep_vba = path.suffix.lower() == ".xlsm"
    step = "opening workbook"
    try:
        for p in sweep_temp_files(path, before=started):
            say(f"removed {p.name} (temporary file left by a killed refresh)")
        wb = open_workbook(path, keep_vba=keep_vba)
        step = "reading parameters"
        params = read_params_sheet(wb, layout)
        if language is not None:
            params = params.replace(language=language)
        if asof is not None:
            params = params.replace(asof=asof)
        data_dir = data_dir_from(params.data_dir, path.parent)  # the sheet's data_dir: from the workbook's folder
        if market is None:  # the data may not be the workbook itself
            _check_data_is_not(path, data or data_dir)
        if market is None and params.update_data == "yes":
            step = "updating data"
            update_before_run(data or data_dir, notice=say)
        step = "loading data"
        if market is None and data is None and not params.data_dir:  # the workbook's own tables, if it has any
            market = read_tables(wb, EMBEDDED_LABEL.format(book=path.name))
        if market is None:
            market = open_market(data, data_dir)
        step = "computing tables"
        result = weekly.compute_weekly(market, params, progress=progress)
        step = "writing sheets"
        with atomic_target(path) as tmp:
            render_result(wb, result, params, layout, progress)
            step = "saving"
            wb.save(tmp)
    except WeeklyError as exc:
        raise RefreshError(f"computing table {exc.table}", str(exc.__cause__ or exc), path) from exc
    except PlacementError as exc:  # the user's work in the layout's way: nothing written (as the Excel refresh)
        raise RefreshError("checking the sheets against the layout", str(exc), path) from exc
    except RefreshError:
        raise
    except Exception as exc:
        text = str(exc) if isinstance(exc, (DataError, ParamError, ReportedError)) else f"{type(exc).__name__}: {exc}"
        raise RefreshError(step, text, path) from exc
    finally:
        held.close()  # releases the lock
    return Refreshed(path, result)
