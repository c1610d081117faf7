"""One-shot jobs: the weekly run (load, validate, compute, write the report, optionally send).

This module is orchestration and file I/O only -- no method lives here. :func:`run_weekly` is what
``xladdin weekly`` and ``bench/bench_weekly.py`` run. It is all-or-nothing with respect to the output
folder: every file is built in a staging folder inside ``out_dir`` (``.xladdin-weekly-<pid>-<random>``)
and moved into ``out_dir`` only after every step succeeded. On any failure (or Ctrl-C) the staging
folder is deleted, ``out_dir`` is left exactly as it was (a folder the job created is removed again),
and :class:`JobError` names the step that failed.

Steps, timed one by one (``WeeklyJobResult.timings``, seconds):

``load``
    read the table files (or generate the embedded sample); one progress unit per canonical table.
    etf_daily is read first; the stock-level tables only the dashboard reads (stock_daily,
    margin_daily) are read from :func:`xladdin.dashboard.stock_rows_since` of the as-of date on
    (the file's leading rows dated before it are dropped; in parquet the row groups wholly before it
    are not decoded at all) -- the dashboard is identical (tested), and the cover's freshness table
    says from which date.
``validate``
    type and check every table with the rules of :mod:`xladdin.data` (file, row and column in the
    messages; an in-memory market goes through :func:`xladdin.data.validate_market`), then resolve
    the as-of date.
``compute``
    :func:`xladdin.weekly.compute_weekly`'s tables, timed per table group (``units["compute"]``;
    the first group also carries the shared holding levels of M6).
``write``
    render the sheets, the hidden ``_summary`` sheet, sanitise and save the values-only report
    (:func:`xladdin.report.build_report`), timed per sheet (the cover's headline and freshness
    tables, computed after the last table group, count here).
``send``
    (optional) :func:`xladdin.mail.send_report`: SMTP with retries, or the ``.eml`` only (dry run).
``commit``
    move the finished files from the staging folder into ``out_dir`` (``os.replace`` each).
"""
from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from .market import Market
from .params import Params, ParamError, default_params, params_from_mapping, params_from_rows

#: the job's steps in order (``commit`` is not shown on the progress bar)
STEPS = ("load", "validate", "compute", "write", "send", "commit")
#: report file name: ASCII only, so every mail client and file system shows it as is
REPORT_NAME = "xladdin_weekly_{asof:%Y-%m-%d}.xlsx"
STAGING_PREFIX = ".xladdin-weekly-"
_STAGING_RE = re.compile(re.escape(STAGING_PREFIX) + r"(\d+)-")

#: ``progress(step, unit)``: ``unit`` None when ``step`` starts, else the name of a finished unit
Progress = Callable[[str, "str | None"], None]


class JobError(RuntimeError):
    """A step of the job failed; ``step`` (and ``unit``: table, sheet) say where, the message why.

    ``out_dir`` is unchanged when this is raised. ``delivered`` lists recipients who got the mail
    when the ``send`` step failed half-way (partial delivery; do not resend to them).
    """

    def __init__(self, step: str, message: str, unit: str | None = None, delivered: Sequence[str] = ()):
        self.step = step
        self.unit = unit
        self.delivered = list(delivered)
        where = f"step `{step}`" + (f" ({unit})" if unit else "")
        super().__init__(f"{where} failed: {message}")


@dataclass
class SendOptions:
    """How to mail the report: the keyword arguments of :func:`xladdin.mail.send_report`.

    ``smtp`` holds the server overrides (host, port, security, user, cafile, timeout). With
    ``keep_eml`` (default) the message sent is also kept as ``<report>.eml`` beside the report;
    ``dry_run`` writes only that file and connects to nothing.
    """

    to: Sequence[str] | None = None
    cc: Sequence[str] | None = None
    config: Any = None
    sender: str | None = None
    subject: str | None = None
    retries: int | None = None
    backoff: float | None = None
    dry_run: bool = False
    keep_eml: bool = True
    environ: Mapping[str, str] | None = None
    smtp: dict[str, Any] = field(default_factory=dict)


@dataclass
class WeeklyJobResult:
    """What :func:`run_weekly` did.

    Attributes
    ----------
    report : the report in ``out_dir`` (``xladdin_weekly_<asof>.xlsx``).
    asof : the as-of date of the report.
    weekly : the :class:`~xladdin.weekly.WeeklyResult` (tables, notes, summary).
    timings : step -> wall seconds, in :data:`STEPS` order (steps not run are absent).
    units : step -> {unit -> wall seconds} (tables loaded/validated, table groups, sheets).
    eml : the ``.eml`` kept beside the report (dry run, or a copy of the mail sent), else None.
    mail : the :class:`~xladdin.mail.ReportMail` of the send step, else None.
    rows : rows per table loaded.
    peak_rss_mb : peak resident memory of this process so far (MiB, ``getrusage``).
    memory : step -> peak resident memory (MiB) at the end of the step; the step where it first
        jumps to ``peak_rss_mb`` is the one that sets the peak.
    """

    report: Path
    asof: pd.Timestamp
    weekly: Any
    timings: dict[str, float]
    units: dict[str, dict[str, float]]
    eml: Path | None = None
    mail: Any = None
    rows: dict[str, int] = field(default_factory=dict)
    peak_rss_mb: float = float("nan")
    memory: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return float(sum(self.timings.values()))

    @property
    def slowest(self) -> tuple[str, float]:
        """(step, seconds) of the slowest step."""
        step = max(self.timings, key=self.timings.__getitem__)
        return step, self.timings[step]

    def slowest_units(self, n: int = 3) -> list[tuple[str, str, float]]:
        """The ``n`` slowest units over all steps: (step, unit, seconds), slowest first."""
        flat = [(s, u, t) for s, d in self.units.items() for u, t in d.items()]
        return sorted(flat, key=lambda x: -x[2])[:n]

    def timing_frame(self) -> pd.DataFrame:
        """Steps as rows: step, seconds, share of the total, peak memory so far (MiB), slowest unit and its seconds."""
        rows = []
        total = self.total or float("nan")
        for step, secs in self.timings.items():
            u = self.units.get(step) or {}
            top = max(u, key=u.__getitem__) if u else ""
            rows.append({"step": step, "seconds": secs, "share": secs / total, "peak_mb": self.memory.get(step, float("nan")),
                         "slowest_unit": top, "unit_seconds": u.get(top, float("nan"))})
        return pd.DataFrame(rows, columns=["step", "seconds", "share", "peak_mb", "slowest_unit", "unit_seconds"])


# ------------------------------------------------------------------------------------- parameters
def read_params_file(path: str | Path) -> Params:
    """Parameters from a file: TOML, a parameters sheet of a workbook, or a key,value CSV.

    Parameters
    ----------
    path : ``.toml`` (top-level keys, or a ``[params]`` table), ``.xlsx``/``.xlsm`` (the ``参数`` /
        ``Parameters`` sheet of a workbook written by ``xladdin template``/``report``/``weekly``), or
        ``.csv`` (rows ``key,value[,description]``, header optional).

    Returns
    -------
    Params
        Validated; keys the file leaves out take their defaults.

    Raises
    ------
    FileNotFoundError, ParamError (unknown key, bad value, unsupported file type).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"parameters file {path} not found")
    suffix = path.suffix.lower()
    source = f"parameters file {path.name}"
    if suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ParamError(f"{source}: not valid TOML ({exc})") from None
        if "params" in data:
            extra = [k for k in data if k != "params"]
            if extra:
                raise ParamError(f"{source}: put every key under [params] (found {', '.join(extra)} outside it)")
            data = data["params"]
        return params_from_mapping(data, source)
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        from .template import read_params_sheet
        wb = load_workbook(path, read_only=False, keep_vba=False)
        try:
            return read_params_sheet(wb)
        finally:
            wb.close()
    if suffix == ".csv":
        import csv
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = [r for r in csv.reader(fh)]
        return params_from_rows(rows, source)
    raise ParamError(f"{source}: use a .toml, .xlsx/.xlsm (parameters sheet) or .csv (key,value) file")


# ------------------------------------------------------------------------------------- loading
#: value columns no weekly table reads (free-float cap, financing repayments): the job neither loads nor
#: checks them, which saves about 170 MB on a full-universe market (a test pins that the weekly tables
#: are identical without them)
UNUSED_COLUMNS: dict[str, tuple[str, ...]] = {"stock_daily": ("float_mcap",), "margin_daily": ("financing_repay",)}


def _read_raw(path: Path, progress: Callable[[str], None],
              since_for: Callable[[Any], dict[str, pd.Timestamp]] | None = None) -> dict[str, Any]:
    """Read every canonical table file under ``path`` (not typed yet): name -> RawTable.

    ``since_for(etf_daily_raw)``: table -> date from which that table is read (see
    :func:`xladdin.data.read_table_files`); etf_daily is then read first so that the dates can
    follow from it. A file that cannot be read (encoding, empty, not a workbook or parquet file, a
    refused workbook) does not stop the others: every such problem is raised together, as
    :class:`~xladdin.errors.ValidationFailed`, once all files were tried.
    """
    from .data import read_table_files, read_workbook_tables
    from .errors import DataError, ValidationFailed
    from .schema import TABLES
    if not path.exists():
        raise FileNotFoundError(f"data path {path} does not exist")
    raws: dict[str, Any] = {}
    errors: list[str] = []
    if path.is_dir():
        # largest files first: each read needs room for one more column on top of what is held, so the
        # peak is lowest when the big tables come in while little else is loaded
        def size(name: str) -> int:
            return sum(f.stat().st_size for f in path.glob(f"{name}.*") if f.is_file())
        order = sorted(TABLES, key=size, reverse=True)
        since: dict[str, pd.Timestamp] = {}
        if since_for is not None:
            order.remove("etf_daily")
            order.insert(0, "etf_daily")
        for name in order:
            try:
                raw = read_table_files(path, name, skip=UNUSED_COLUMNS.get(name, ()), since=since.get(name))
            except DataError as exc:
                errors.append(str(exc))
                raw = None
            if raw is not None:
                raws[name] = raw
            if name == "etf_daily" and since_for is not None and raw is not None:
                since = since_for(raw)
            progress(name)
    else:
        raws = read_workbook_tables(path)
        for name in TABLES:
            progress(name)
    if errors:
        raise ValidationFailed(errors)
    if not raws:
        raise FileNotFoundError(f"{path}: no canonical tables found (expected files like etf_daily.csv or "
                                f"etf_daily.parquet; known tables: {', '.join(TABLES)})")
    return raws


def _dashboard_since(asof, params: Params) -> Callable[[Any], dict[str, pd.Timestamp]]:
    """``since_for`` of :func:`_read_raw` for the weekly job: the stock-level tables only the dashboard
    reads (:data:`xladdin.dashboard.STOCK_WINDOW_TABLES`) are read from
    :func:`xladdin.dashboard.stock_rows_since` of the as-of date (``asof``, else the last etf_daily date)."""
    from .dashboard import STOCK_WINDOW_TABLES, stock_rows_since

    def since_for(etf_raw) -> dict[str, pd.Timestamp]:
        at = pd.Timestamp(asof) if asof is not None else None
        if at is None:
            frame = etf_raw.frame
            if "date" not in frame.columns or not pd.api.types.is_datetime64_any_dtype(frame["date"]):
                return {}  # dates not typed yet (text): read every row; validation decides
            at = frame["date"].max()
        if pd.isna(at):
            return {}
        start = stock_rows_since(at, params.heat_years)
        return {t: start for t in STOCK_WINDOW_TABLES}
    return since_for


def _type_and_check(raws: dict[str, Any], source: str, progress: Callable[[str], None]) -> Market:
    """Type and check raw tables exactly as :func:`xladdin.data.load_market` does
    (:func:`xladdin.data.type_tables`); raise on any error, keep the warnings on the market.

    ``raws`` is consumed (emptied) table by table, so that a raw table is freed as soon as its typed
    copy exists: peak memory is the typed data plus one raw table, not twice the data.
    """
    from .data import type_tables
    return type_tables(raws, source, progress=progress)


def _check_market(market: Market) -> None:
    from .data import validate_market
    from .errors import ValidationFailed
    issues = validate_market(market)
    if issues:
        raise ValidationFailed(issues)


# ------------------------------------------------------------------------------------- staging
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def sweep_stale_staging(out_dir: str | Path) -> list[Path]:
    """Remove staging folders left in ``out_dir`` by killed runs (their process id is gone)."""
    removed = []
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return removed
    for p in out_dir.iterdir():
        m = _STAGING_RE.match(p.name)
        if m and p.is_dir() and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def _commit(staging: Path, out_dir: Path, names: Sequence[str]) -> None:
    """Move ``names`` from ``staging`` into ``out_dir``; on failure put back what was replaced."""
    backups: list[tuple[Path, Path]] = []
    moved: list[Path] = []
    try:
        for name in names:
            target = out_dir / name
            if target.exists():
                bak = staging / f"{name}.previous"
                os.replace(target, bak)
                backups.append((bak, target))
            os.replace(staging / name, target)
            moved.append(target)
    except BaseException:
        for target in moved:
            with contextlib.suppress(OSError):
                target.unlink()
        for bak, target in backups:
            with contextlib.suppress(OSError):
                os.replace(bak, target)
        raise
    with contextlib.suppress(OSError):  # persist the renames (POSIX)
        fd = os.open(out_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ------------------------------------------------------------------------------------- the job
def total_units(send: bool = False, layout: Any = None) -> int:
    """Number of progress units :func:`run_weekly` reports (for a progress bar's total)."""
    from .layout import load_layout
    from .schema import TABLES
    from .weekly import STEPS as WEEKLY_STEPS
    layout = layout or load_layout()
    return 2 * len(TABLES) + len(WEEKLY_STEPS) + len(layout.sheets) + 1 + (1 if send else 0)


def run_weekly(market_or_path: Market | str | Path | None, out_dir: str | Path, asof=None,
               params: Params | None = None, send: SendOptions | None = None,
               progress: Progress | None = None, *, layout: Any = None) -> WeeklyJobResult:
    """Run the weekly job once: load, validate, compute, write the report, optionally send.

    Parameters
    ----------
    market_or_path : Market, path or None
        A loaded market; a folder (or workbook) of canonical tables (see :func:`xladdin.data.load_market`);
        or None for ``params.data_dir``, else the embedded sample market.
    out_dir : path
        Folder receiving ``xladdin_weekly_<asof>.xlsx`` (and ``.eml`` when sending); created if needed.
        A previous report of the same date is replaced, atomically.
    asof : date-like, optional
        As-of date (default ``params.asof``, else the data's last ETF date).
    params : Params, optional
        Parameters of the report (default :func:`~xladdin.params.default_params`).
    send : SendOptions, optional
        Mail the report (or only write the ``.eml`` with ``dry_run``); None = do not send.
    progress : callable ``(step, unit)``, optional
        Called with ``unit=None`` when a step starts and with the unit's name when one finishes;
        :func:`total_units` is the number of unit calls.
    layout : Layout, optional
        Default :func:`xladdin.layout.load_layout`.

    Returns
    -------
    WeeklyJobResult

    Raises
    ------
    JobError
        Naming the step (and table or sheet) that failed; ``out_dir`` is unchanged and no staging
        file is left. ``KeyboardInterrupt`` also leaves ``out_dir`` unchanged.

    Notes
    -----
    The mail is sent from the staging folder before the files are moved into ``out_dir``, so a
    failed send leaves no report behind either (rerun the job, or run it without ``--send`` and
    use ``xladdin send``). Times are wall clock (``time.perf_counter``).
    """
    from .layout import load_layout
    from .weekly import STEPS as WEEKLY_STEPS
    from .weekly import WeeklyError, resolve_asof

    params = params or default_params()
    layout = layout or load_layout()
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise JobError("write", f"--out {out_dir} exists and is not a folder")
    notify = progress or (lambda step, unit: None)
    timings: dict[str, float] = {}
    units: dict[str, dict[str, float]] = {}
    memory: dict[str, float] = {}
    state = {"step": "load", "unit": None}

    def begin(step: str, at: float | None = None) -> None:
        state["step"], state["unit"] = step, None
        units[step] = {}
        state["t0"] = state["tu"] = at if at is not None else time.perf_counter()
        notify(step, None)

    def unit_done(name: str) -> None:
        now = time.perf_counter()
        d = units[state["step"]]
        d[name] = d.get(name, 0.0) + now - state["tu"]
        state["tu"] = now
        notify(state["step"], name)

    def _units_at_once(label: str) -> None:
        """One timed unit ``label`` for work done in one call; the other table units only tick."""
        unit_done(label)
        for name in _all_tables()[1:]:
            notify(state["step"], name)

    def end(at: float | None = None) -> None:
        timings[state["step"]] = (at if at is not None else time.perf_counter()) - state["t0"]
        memory[state["step"]] = _peak_rss_mb()

    # out_dir: remember what we create so that a failure can remove it again
    created: list[Path] = []
    p = out_dir.absolute()
    while not p.exists():
        created.append(p)
        p = p.parent
    staging: Path | None = None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        sweep_stale_staging(out_dir)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out_dir))

        # ---- load
        begin("load")
        source = market_or_path if market_or_path is not None else (params.data_dir or None)
        raws = None
        if isinstance(source, Market):
            market = source
            _units_at_once("in-memory market")
        elif source is None:
            from .sample import sample_market
            market = sample_market()
            _units_at_once("embedded sample")
        else:
            path = Path(source)
            raws = _read_raw(path, unit_done, _dashboard_since(asof if asof is not None else params.asof, params))
        end()

        # ---- validate
        begin("validate")
        if raws is not None:
            market = _type_and_check(raws, str(path), unit_done)
            del raws
        else:
            _check_market(market)
            _units_at_once("all tables")
        asof_ts = resolve_asof(market, asof if asof is not None else params.asof)
        end()

        # ---- compute + write (build_report does both; its progress calls split them)
        from .report import build_report
        name = REPORT_NAME.format(asof=asof_ts)
        tmp_report = staging / name
        compute_names = {s[0] for s in WEEKLY_STEPS}
        first_sheet = layout.sheets[0].key
        seen_compute: list[str] = []
        begin("compute")

        def on_progress(key: str) -> None:
            if state["step"] == "compute" and key == first_sheet and key not in compute_names:
                # compute ended with its last table group; the cover's own tables count as writing
                at = state["tu"]
                _finish_compute(seen_compute)
                end(at)
                begin("write", at)
            if state["step"] == "compute":
                seen_compute.append(key)
            unit_done(key)

        def _finish_compute(done: list[str]) -> None:
            for s in WEEKLY_STEPS:  # table groups skipped for missing inputs: 0 s, one unit each
                if s[0] not in done:
                    units["compute"][s[0]] = 0.0
                    notify("compute", s[0])

        try:
            weekly = build_report(tmp_report, market, params, asof_ts, layout=layout, progress=on_progress)
        except WeeklyError as exc:
            raise JobError("compute", str(exc.__cause__ or exc), unit=f"table `{exc.table}`") from exc
        except JobError:
            raise
        except Exception as exc:
            step = state["step"]
            last = list(units.get(step, {}))
            unit = None
            if step == "write":
                nxt = [s.key for s in layout.sheets if s.key not in last]
                unit = f"sheet `{nxt[0]}`" if nxt else "saving"
            raise JobError(step, f"{type(exc).__name__}: {exc}", unit=unit) from exc
        if state["step"] == "compute":  # no render progress seen (cannot happen with a non-empty layout)
            _finish_compute(seen_compute)
            end()
            begin("write")
        unit_done("save")
        end()
        files = [name]

        # ---- send
        mail = None
        eml_name = None
        if send is not None:
            from .config import ConfigError
            from .mail import MailError, send_report
            begin("send")
            eml_name = Path(name).with_suffix(".eml").name
            keep = send.dry_run or send.keep_eml
            try:
                mail = send_report(tmp_report, config=send.config, to=send.to, cc=send.cc, sender=send.sender,
                                   subject=send.subject, retries=send.retries, backoff=send.backoff,
                                   dry_run=send.dry_run, eml=(staging / eml_name) if keep else None,
                                   environ=send.environ, **send.smtp)
            except MailError as exc:
                raise JobError("send", str(exc), delivered=exc.delivered) from exc
            except (ConfigError, ValueError, FileNotFoundError, OSError) as exc:
                raise JobError("send", str(exc)) from exc
            unit_done("dry run" if send.dry_run else "sent")
            end()
            if keep:
                files.append(eml_name)
            else:
                eml_name = None

        # ---- commit
        begin("commit")
        _commit(staging, out_dir, files)
        end()
    except JobError:
        _rollback(staging, created)
        raise
    except BaseException as exc:
        _rollback(staging, created)
        if isinstance(exc, Exception):
            raise JobError(state["step"], _describe(exc)) from exc
        raise
    shutil.rmtree(staging, ignore_errors=True)
    rows = {k: len(v) for k, v in market.tables.items() if v is not None}
    return WeeklyJobResult(report=out_dir / name, asof=asof_ts, weekly=weekly, timings=timings, units=units,
                           eml=(out_dir / eml_name) if eml_name else None, mail=mail, rows=rows,
                           peak_rss_mb=_peak_rss_mb(), memory=memory)


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0


def _all_tables() -> list[str]:
    from .schema import TABLES
    return list(TABLES)


def _describe(exc: BaseException) -> str:
    from .errors import DataError, format_error
    text = format_error(exc)
    if isinstance(exc, (DataError, FileNotFoundError, ParamError)):
        return text
    return f"{type(exc).__name__}: {text}"


def _rollback(staging: Path | None, created: Sequence[Path]) -> None:
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)
    for p in created:  # innermost first; only if still empty
        with contextlib.suppress(OSError):
            p.rmdir()
