"""One-shot jobs: the weekly run (load, validate, compute, write the report, optionally send).

This module is orchestration and file I/O only -- no method lives here. :func:`run_weekly` is what
``xladdin weekly`` and ``bench/bench_weekly.py`` run. It is all-or-nothing with respect to the output
folder: every file is built in a staging folder inside ``out_dir`` (``.xladdin-weekly-<pid>-h<host>-<random>``;
beside it, in the nearest existing folder, when ``out_dir`` does not exist yet) and moved into ``out_dir``
only after every step succeeded. On any failure (or Ctrl-C) the staging folder is deleted, ``out_dir`` is
left exactly as it was (a new ``out_dir`` is never created), and :class:`JobError` names the step that
failed. A kill at any instant leaves every file name holding a complete file (the previous one or the
new one); the next run removes what the killed run left (its staging folder) and says so.

Steps, timed one by one (``WeeklyJobResult.timings``, seconds):

``load``
    read the table files (or generate the embedded sample); one progress unit per canonical table.
    etf_daily is read first; the stock-level tables (stock_daily, margin_daily) are read from
    :func:`xladdin.workbook.weekly.stock_rows_since` of the as-of date on (the windows of the dashboard
    and the crowding sheet; the file's leading rows dated before it are dropped; in parquet the row
    groups wholly before it are not decoded at all) -- the tables are identical (tested), and the
    cover's freshness table says from which date.
``validate``
    type and check every table with the rules of :mod:`xladdin.data` (file, row and column in the
    messages; an in-memory market goes through :func:`xladdin.data.validate_market`), then resolve
    the as-of date.
``compute``
    :func:`xladdin.workbook.weekly.compute_weekly`'s tables in two lanes (the second a forked process on
    Linux, :mod:`xladdin.workbook.lanes`), timed per table group (``units["compute"]``; a group also carries
    the run's shared intermediates it is the first of its lane to need, such as the M5 style tables, see
    :class:`xladdin.workbook.context.WeeklyContext`; before a forked lane starts, the M1 ETF flows, the M6
    penetration weights and the calendar are built for both lanes, in no group:
    :data:`xladdin.workbook.weekly.SHARED_INTERMEDIATES`).
``write``
    render the sheets, the hidden ``_summary`` sheet, sanitise and save the values-only report
    (:func:`xladdin.workbook.report.build_report`), timed per sheet (the cover's headline and freshness
    tables, computed after the last table group, count here).
``send``
    (optional) :func:`xladdin.ops.mail.send_report`: SMTP with retries, or the ``.eml`` only (dry run).
``commit``
    move the finished files from the staging folder into ``out_dir``: ``os.replace`` of each complete
    file over its final name, the report last (never a delete or move-aside first); a new ``out_dir`` is
    the staging folder renamed. :data:`xladdin.fileguard.FAULT_HOOK` sees each file operation (tests kill
    the job at every one).
"""
from __future__ import annotations

import contextlib
import csv
import gc
import importlib
import io
import os
import re
import resource
import shutil
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xladdin.data import early
from xladdin.data.loaders import (
    data_dir_from,
    data_source,
    map_in_order,
    sample_marked,
    type_tables,
    validate_market,
)
from xladdin.data.market import Market
from xladdin.data.readers import read_table_files, read_workbook_tables
from xladdin.data.schema import TABLES
from xladdin.data.sources import csv_text, data_files, open_workbook
from xladdin.data.store import UpdateFailed, update_before_run
from xladdin.data.storefiles import finish_pending
from xladdin.errors import DataError, ReportedError, ValidationFailed, format_error
from xladdin.fileguard import (
    LockBusy,
    OverwriteRefused,
    abandoned,
    check_outputs,
    describe_owner,
    fileop,
    fsync_dir,
    lock_path,
    mark_live,
    owner_lock,
    owner_tag,
    read_only_reason,
    real_path,
    remove,
    remove_stale_lock,
    unmark_live,
)
from xladdin.workbook import weekly as wk
from xladdin.workbook.layout import load_layout
from xladdin.workbook.params import ParamError, Params, default_params, params_from_mapping, params_from_rows
from xladdin.workbook.report import build_report
from xladdin.workbook.template import read_params_sheet
from xladdin.workbook.weekly import WeeklyError, resolve_asof, stock_rows_since

from .config import ConfigError
from .mail import MailError, send_report

#: the job's steps in order (``commit`` is not shown on the progress bar)
STEPS = ("load", "validate", "compute", "write", "send", "commit")
#: report file name: ASCII only, so every mail client and file system shows it as is
REPORT_NAME = "xladdin_weekly_{asof:%Y-%m-%d}.xlsx"
STAGING_PREFIX = ".xladdin-weekly-"
_STAGING_RE = re.compile(re.escape(STAGING_PREFIX) + r"(\d+)-(?:h([0-9a-f]{8})-)?")
#: names of the locks a job takes in its output folder: the folder's own and a report's
_JOB_LOCK_RE = re.compile(r"\.(xladdin-weekly|xladdin_weekly_\d{4}-\d{2}-\d{2}\.xlsx)\.xladdin-lock")

#: ``progress(step, unit)``: ``unit`` None when ``step`` starts, else the name of a finished unit
Progress = Callable[[str, "str | None"], None]


class JobError(ReportedError, RuntimeError):
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
    """How to mail the report: the keyword arguments of :func:`xladdin.ops.mail.send_report`.

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
    weekly : the :class:`~xladdin.workbook.weekly.WeeklyResult` (tables, notes, summary).
    timings : step -> wall seconds, in :data:`STEPS` order (steps not run are absent).
    units : step -> {unit -> wall seconds} (tables loaded/validated, table groups, sheets).
    eml : the ``.eml`` kept beside the report (dry run, or a copy of the mail sent), else None.
    mail : the :class:`~xladdin.ops.mail.ReportMail` of the send step, else None.
    rows : rows per table loaded.
    peak_rss_mb : peak resident memory of this process so far (MiB, ``getrusage``).
    memory : step -> peak resident memory (MiB) at the end of the step; the step where it first
        jumps to ``peak_rss_mb`` is the one that sets the peak.
    swept : staging folders of killed runs removed at the start (:func:`sweep_stale_staging`).
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
    swept: list[Path] = field(default_factory=list)

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
    """Parameters from a file (:func:`_params_in`), a relative ``data_dir`` there taken as relative to the file's
    folder (not the working directory: the job runs the same from anywhere; a workbook's sheet is read as
    ``xladdin refresh`` reads it)."""
    params = _params_in(Path(path))
    resolved = data_dir_from(params.data_dir, Path(path).parent)
    return params.replace(data_dir=resolved) if resolved != params.data_dir else params


def _params_in(path: Path) -> Params:
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
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ParamError(f"{source}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                             "TOML files are UTF-8: save it as UTF-8") from None
        except tomllib.TOMLDecodeError as exc:
            raise ParamError(f"{source}: not valid TOML ({exc})") from None
        if "params" in data:
            extra = [k for k in data if k != "params"]
            if extra:
                raise ParamError(f"{source}: put every key under [params] (found {', '.join(extra)} outside it)")
            data = data["params"]
        return params_from_mapping(data, source)
    if suffix in (".xlsx", ".xlsm"):
        wb = open_workbook(path, label=source, read_only=False, keep_vba=False)
        try:
            return read_params_sheet(wb)
        finally:
            wb.close()
    if suffix == ".csv":  # UTF-8, GBK/GB18030 or UTF-16 with a BOM, as the data files (sources.csv_text)
        text = csv_text(path, whole=True)
        data = text.source if isinstance(text.source, bytes) else path.read_bytes()
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=text.delimiter))
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
        first: list[str] = []
        if since_for is not None:
            order.remove("etf_daily")
            first = ["etf_daily"]

        def read(name: str, at: pd.Timestamp | None) -> tuple[Any, str | None]:
            try:
                return read_table_files(path, name, skip=UNUSED_COLUMNS.get(name, ()), since=at), None
            except DataError as exc:
                return None, str(exc)

        def done(name: str, raw: Any, error: str | None) -> None:
            if error is not None:
                errors.append(error)
            if raw is not None:
                raws[name] = raw
            progress(name)
        for name in first:  # the dates the other reads start from follow from it
            raw, error = read(name, None)
            if raw is not None:
                since = since_for(raw)
            done(name, raw, error)
        # files read at once (:data:`READ_THREADS`), results taken in order; on an unexpected error the
        # reads not started yet are cancelled
        for name, (raw, error) in zip(order, map_in_order(lambda n: read(n, since.get(n)), order, READ_THREADS,
                                                          "xladdin-read")):
            done(name, raw, error)
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


#: files read at once: parquet and CSV decoding run outside Python's lock, so two reads keep both cores
#: busy (a bare ``pyarrow`` read of the folder uses them too); peak memory grows by about one column
READ_THREADS = 2


def _dashboard_since(asof, params: Params) -> Callable[[Any], dict[str, pd.Timestamp]]:
    """``since_for`` of :func:`_read_raw` for the weekly job: the stock-level tables (stock_daily,
    margin_daily) are read from :func:`xladdin.workbook.weekly.stock_rows_since` of the as-of date
    (``asof``, else the last etf_daily date): the windows of the dashboard and the crowding sheet."""
    def since_for(etf_raw) -> dict[str, pd.Timestamp]:
        at = pd.Timestamp(asof) if asof is not None else None
        if at is None:
            frame = etf_raw.frame
            if "date" not in frame.columns or not pd.api.types.is_datetime64_any_dtype(frame["date"]):
                return {}  # dates not typed yet (text): read every row; validation decides
            at = frame["date"].max()
        if pd.isna(at):
            return {}
        return stock_rows_since(at, params)
    return since_for


def _type_and_check(raws: dict[str, Any], source: str, progress: Callable[[str], None]) -> Market:
    """Type and check raw tables exactly as :func:`xladdin.data.load_market` does
    (:func:`xladdin.data.type_tables`); raise on any error, keep the warnings on the market.

    ``raws`` is consumed (emptied) table by table, so that a raw table is freed as soon as its typed
    copy exists: peak memory is the typed data plus one raw table, not twice the data.
    """
    return type_tables(raws, source, progress=progress, sample=sample_marked(source))


def _check_market(market: Market) -> None:
    issues = validate_market(market)
    if issues:
        raise ValidationFailed(issues)


# ------------------------------------------------------------------------------------- staging
def _staging_owner(name: str) -> tuple[int, str | None] | None:
    """(pid, host tag or None) of a staging folder's name; None when it is not one."""
    m = _STAGING_RE.match(name)
    if m is None:
        return None
    return int(m.group(1)), m.group(2)


def sweep_stale_staging(folder: str | Path, before: float | None = None,
                        notice: Callable[[str], None] | None = None) -> list[Path]:
    """Remove the staging folders and locks that killed runs left in ``folder``; return them.

    A staging folder (``.xladdin-weekly-<pid>-h<host>-<random>``, or ``.xladdin-weekly-<pid>-<random>``
    from older versions) is removed when it was modified before ``before`` (default now) and its process
    is gone (:func:`xladdin.fileguard.abandoned`). A report an older version had moved aside into such a
    folder (``<name>.previous``) is first put back when ``folder`` lacks it. The job's locks (the folder's,
    a report's) are removed when no live process holds them (:func:`xladdin.fileguard.remove_stale_lock`).
    ``notice`` gets one line per folder or lock removed or report restored.
    """
    removed: list[Path] = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    before = time.time() if before is None else before
    say = notice or (lambda text: None)
    for p in sorted(folder.iterdir()):
        if _JOB_LOCK_RE.fullmatch(p.name):
            if remove_stale_lock(p):
                removed.append(p)
                say(f"removed the stale lock {p.name} in {folder} (left by a killed run)")
            continue
        owner = _staging_owner(p.name)
        if owner is None or not p.is_dir() or not abandoned(p, before, *owner):
            continue
        for bak in p.glob("*.previous"):  # left by the old final step between its two moves
            target = folder / bak.name[: -len(".previous")]
            if not target.exists():
                with contextlib.suppress(OSError):
                    os.replace(bak, target)
                    say(f"restored {target.name} from {p.name} (left by a killed run)")
        remove(p)
        removed.append(p)
        say(f"removed {p.name} in {folder} (staging folder left by a killed run, process {owner[0]})")
    return removed


def _output_base(out_dir: Path) -> tuple[Path, Path | None]:
    """(folder that holds the staging folder, first missing folder of ``out_dir`` or None).

    When ``out_dir`` exists the staging folder goes inside it; otherwise it goes in the nearest existing
    ancestor, and the commit renames it to the first missing folder, so that ``out_dir`` appears only
    complete (a kill never leaves an empty or half-filled new folder behind).
    """
    out_dir = out_dir.absolute()
    if out_dir.exists():
        if not out_dir.is_dir():
            raise JobError("write", f"--out {out_dir} exists and is not a folder")
        return out_dir, None
    top = out_dir
    while not top.parent.exists():
        top = top.parent
    base = top.parent
    if not base.is_dir():
        raise JobError("write", f"--out {out_dir}: {base} is a file, not a folder")
    return base, top


def _check_writable(base: Path, out_dir: Path) -> None:
    reason = read_only_reason(base)
    if reason:
        raise JobError("write", f"{reason}; the job writes the report there: make it writable or choose "
                                f"another --out than {out_dir}")


def _mark_backup(target: Path, backup: Path) -> None:
    """Keep a second name for ``target`` (hard link; a copy where links are not supported)."""
    try:
        os.link(target, backup)
    except OSError:
        shutil.copy2(target, backup)


def _commit(work: Path, out_dir: Path, names: Sequence[str]) -> None:
    """Move ``names`` from ``work`` into ``out_dir``; ``names[0]`` (the report) goes last.

    Each file arrives under its final name by one ``os.replace`` of a complete file, so at every
    instant each name holds either its previous file or the new one; the report is the commit point
    (a new report means every other file is new too). An existing file is first given a second name in
    ``work`` (hard link: it stays in place) so that an error can put it back; nothing is deleted first.
    """
    order = list(names[1:]) + list(names[:1])
    targets = {name: _destination(out_dir / name) for name in order}
    for name in order:  # a read-only earlier file is respected: refuse before replacing anything
        reason = read_only_reason(targets[name])
        if reason:
            raise JobError("commit", f"{reason}; make it writable or move it away to replace it")
    restore: list[tuple[Path, Path | None]] = []  # (target, its previous file or None)
    try:
        for name in order:
            target, backup = targets[name], work / f"{name}.previous"
            if target.exists():
                fileop("keep previous", target)
                _mark_backup(target, backup)
            else:
                backup = None
            fileop("replace", target)
            os.replace(work / name, target)
            restore.append((target, backup))
    except BaseException:
        for target, backup in reversed(restore):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, target)
                else:
                    target.unlink()
        raise
    for folder in {t.parent for t in targets.values()} | {out_dir}:
        fileop("fsync folder", folder)
        fsync_dir(folder)


def _destination(path: Path) -> Path:
    """Where the job's file ``path`` goes: the file a symlink points to (the link stays a link, as every
    writer of xladdin keeps it, :func:`xladdin.fileguard.atomic_target`), else ``path``."""
    return real_path(path) if path.is_symlink() else path


def _check_link_target(what: str, path: Path, work_base: Path) -> None:
    """Refuse (before anything is written) a symlinked output whose target the commit cannot rename into:
    a missing folder, or another file system than the staging folder (a rename cannot cross it)."""
    if not path.is_symlink():
        return
    target = real_path(path)
    if not target.parent.is_dir():
        raise JobError("write", f"{what} {path} is a link to {target}, whose folder does not exist: create "
                                f"{target.parent} or remove the link")
    if os.stat(target.parent).st_dev != os.stat(work_base).st_dev:
        raise JobError("write", f"{what} {path} is a link to {target}, on another file system than {work_base}: the "
                                "job puts the report in place by renaming, which cannot cross file systems; give "
                                f"--out {target.parent} (and a link back), or remove the link")


def _commit_new_folder(staging: Path, work: Path, top: Path, out_dir: Path, names: Sequence[str]) -> bool:
    """Rename ``staging`` (holding ``out_dir``'s files at ``work``) to ``top``, the first missing folder.

    One rename makes the whole new folder appear at once. If ``top`` appeared meanwhile the files are
    committed one by one (:func:`_commit`). Returns True when ``staging`` itself became ``top``.
    """
    umask = os.umask(0)
    os.umask(umask)
    for d in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
        with contextlib.suppress(OSError):
            os.chmod(d, 0o777 & ~umask)  # mkdtemp makes 0700; the user's folder gets the usual mode
    fileop("rename staging", top)
    try:
        os.rename(staging, top)
    except OSError:
        if not top.exists():
            raise
        out_dir.mkdir(parents=True, exist_ok=True)
        _commit(work, out_dir, names)
        return False
    fileop("fsync folder", top.parent)
    fsync_dir(top.parent)
    return True


# ------------------------------------------------------------------------------------- the job
def total_units(send: bool = False, layout: Any = None) -> int:
    """Number of progress units :func:`run_weekly` reports (for a progress bar's total)."""
    layout = layout or load_layout()
    return 2 * len(TABLES) + len(wk.STEPS) + len(layout.sheets) + 1 + (1 if send else 0)


def run_weekly(market_or_path: Market | str | Path | None, out_dir: str | Path, asof=None,
               params: Params | None = None, send: SendOptions | None = None,
               progress: Progress | None = None, *, layout: Any = None,
               notice: Callable[[str], None] | None = None, update: bool | None = None, wait: float = 0.0,
               inputs: Sequence[tuple[str, Path]] = (), outputs: Sequence[tuple[str, Path]] = ()) -> WeeklyJobResult:
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
        As-of date (default ``params.asof``, else :func:`~xladdin.workbook.weekly.report_asof`'s effective end).
    params : Params, optional
        Parameters of the report (default :func:`~xladdin.workbook.params.default_params`).
    send : SendOptions, optional
        Mail the report (or only write the ``.eml`` with ``dry_run``); None = do not send.
    progress : callable ``(step, unit)``, optional
        Called with ``unit=None`` when a step starts and with the unit's name when one finishes;
        :func:`total_units` is the number of unit calls.
    layout : Layout, optional
        Default :func:`xladdin.workbook.layout.load_layout`.
    notice : callable, optional
        Gets one line for each leftover of a killed run removed at the start (``result.swept``), and
        the update's summary.
    update : bool, optional
        First bring the data store (the path, else ``params.data_dir``) up to date with
        :func:`xladdin.data.store.update_before_run` (default: ``params.update_data == "yes"``); a
        failed update raises :class:`JobError` (step ``update data``) before anything is written.
    wait : seconds to wait for another job writing ``out_dir`` (or a refresh of the report) to finish;
        0 (default) refuses at once.
    inputs, outputs : (what, path) of the caller's other input files (``--params``, ``--config`` ...) and
        output files (``--timings-json``): none of the job's files may name one of them, nor its data
        files (refused before the report is written, :func:`xladdin.fileguard.check_outputs`).

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

    A kill (``SIGKILL``, power loss) at any instant leaves every name in ``out_dir`` holding a complete
    file, the previous one or the new one (:func:`_commit`); a new ``out_dir`` appears only complete
    (:func:`_commit_new_folder`). What the killed run leaves (a hidden staging folder) is removed by the
    next run (:func:`sweep_stale_staging`), which says so.

    Two jobs never write one ``out_dir`` at once: the job holds an owner lock (:func:`_job_lock`, the
    lock of :func:`xladdin.fileguard.owner_lock` that a refresh holds on its workbook) from the start to
    the commit, and the report's own lock (the one ``xladdin refresh`` of that report takes) once its name
    is known; a second job waits ``wait`` seconds, then fails naming the first.
    """
    started = time.time()
    params = params or default_params()
    layout = layout or load_layout()
    out_dir = Path(out_dir)
    base, top = _output_base(out_dir)
    _check_writable(base, out_dir)
    held = contextlib.ExitStack()
    _take_lock(held, _job_lock(out_dir, top), wait, notice, f"{out_dir} is being written")
    try:
        if update if update is not None else params.update_data == "yes":
            _update_data(market_or_path, params, notice)
        clock = _StepClock(progress)
        swept = _sweep(out_dir, base, started, notice)
        staging = _make_staging(base, out_dir)
        mark_live(staging)
        work = staging if top is None else staging / out_dir.absolute().relative_to(top)
        gc_was_enabled = _pause_gc()
        try:
            fileop("staging created", staging)
            work.mkdir(parents=True, exist_ok=True)
            market, raws, path = _load_step(clock, market_or_path, params, asof)
            market, asof_ts = _validate_step(clock, market, raws, path, params, asof)
            del raws
            name = REPORT_NAME.format(asof=asof_ts)
            _check_outputs(out_dir, name, send, path, inputs, outputs)
            if top is None:  # a refresh of the report, or a job writing it, waits for none of this
                report_lock = lock_path(real_path(out_dir / name))  # a refresh locks the file a link points to
                _take_lock(held, report_lock, wait, notice, f"{out_dir / name} is being written")
            weekly = _compute_and_write_step(clock, work / name, market, params, asof_ts, layout)
            files, mail, eml_name = _send_step(clock, send, work, name)
            staging_left = _commit_step(clock, staging, work, top, out_dir, files)
        except JobError:
            _rollback(staging)
            raise
        except BaseException as exc:
            _rollback(staging)
            if isinstance(exc, Exception):
                raise JobError(clock.step, _describe(exc)) from exc
            raise
        finally:
            unmark_live(staging)
            if gc_was_enabled:
                gc.enable()
        if staging_left:
            fileop("remove staging", staging)
            remove(staging)
        rows = {k: len(v) for k, v in market.tables.items() if v is not None}
        return WeeklyJobResult(report=out_dir / name, asof=asof_ts, weekly=weekly, timings=clock.timings, units=clock.units,
                               eml=(out_dir / eml_name) if eml_name else None, mail=mail, rows=rows,
                               peak_rss_mb=_peak_rss_mb(), memory=clock.memory, swept=swept)
    finally:
        held.close()  # releases the locks


#: name of the lock of a whole output folder (:func:`_job_lock`)
JOB_LOCK = "xladdin-weekly"


def _job_lock(out_dir: Path, top: Path | None) -> Path:
    """The lock of the jobs writing ``out_dir``: inside it when it exists, else beside the first missing
    folder of its path (``top``, which the job creates by one rename), so that it is always in a folder that
    exists and the same for every job that could write there."""
    return lock_path(out_dir / JOB_LOCK) if top is None else lock_path(top)


def _take_lock(held: contextlib.ExitStack, lock: Path, wait: float, notice: Callable[[str], None] | None,
               busy: str) -> None:
    """Hold ``lock`` until ``held`` is closed; JobError (step ``lock``) when another live process holds it."""
    try:
        held.enter_context(owner_lock(lock, wait=wait, notice=notice))
    except LockBusy as exc:
        raise JobError("lock", f"{busy} by {describe_owner(exc.owner)}; wait until it finishes and run again "
                               f"(if that process is gone, delete the stale lock {lock})") from None
    except OSError as exc:
        raise JobError("lock", f"cannot create the lock file {lock} ({exc.strerror or exc})") from exc


def _check_outputs(out_dir: Path, name: str, send: SendOptions | None, data: Path | None,
                   inputs: Sequence[tuple[str, Path]], outputs: Sequence[tuple[str, Path]]) -> None:
    """Refuse (JobError, step ``write``) a report or ``.eml`` that would replace an input or another output."""
    files = [("--out", out_dir / name)]
    if send is not None and (send.dry_run or send.keep_eml):
        files.append(("--out", out_dir / Path(name).with_suffix(".eml").name))
    data_in = [(f"the data file {p.name}", p) for p in data_files(data)]
    try:
        check_outputs(files + list(outputs), list(inputs) + data_in)
    except OverwriteRefused as exc:
        raise JobError("write", str(exc)) from None
    if out_dir.is_dir():
        for what, path in files:
            _check_link_target(what, path, out_dir)


def _update_data(market_or_path, params: Params, notice: Callable[[str], None] | None) -> None:
    """Update the data store the job reads (before anything is written); JobError names the table and call."""
    source = data_source(market_or_path, params.data_dir)
    if not isinstance(source, Path):
        raise JobError("update data", "an update needs a data store as the data (--data STORE, or data_dir)")
    try:
        report = update_before_run(source, notice=notice)
    except UpdateFailed as exc:
        raise JobError("update data", str(exc)) from exc
    if notice is not None:
        for t in report.tables:
            notice(f"update: {t.line()}")


def _pause_gc() -> bool:
    """Pause Python's cyclic garbage collector for the run; returns whether it was enabled. Each of its
    full passes re-scans every live object (the job holds hundreds of thousands: frames, indexes, the
    workbook's cells): 0.3-0.9 s a run. Memory is freed by reference counting as before; what forms a
    cycle (the workbook's cells and sheets) is small and collected once the collector is back on."""
    was = gc.isenabled()
    gc.disable()
    return was


class _StepClock:
    """Times the job's steps and their units (wall clock), records the peak memory after each step and
    reports progress: ``progress(step, None)`` when a step starts, ``progress(step, unit)`` per unit."""

    def __init__(self, progress: Progress | None):
        self.notify = progress or (lambda step, unit: None)
        self.timings: dict[str, float] = {}
        self.units: dict[str, dict[str, float]] = {}
        self.memory: dict[str, float] = {}
        self.step = "load"
        self.t0 = self.tu = time.perf_counter()

    def begin(self, step: str, at: float | None = None) -> None:
        self.step = step
        self.units[step] = {}
        self.t0 = self.tu = at if at is not None else time.perf_counter()
        self.notify(step, None)

    def unit_done(self, name: str) -> None:
        now = time.perf_counter()
        d = self.units[self.step]
        d[name] = d.get(name, 0.0) + now - self.tu
        self.tu = now
        self.notify(self.step, name)

    def units_at_once(self, label: str) -> None:
        """One timed unit ``label`` for work done in one call; the other table units only tick."""
        self.unit_done(label)
        for name in _all_tables()[1:]:
            self.notify(self.step, name)

    def end(self, at: float | None = None) -> None:
        self.timings[self.step] = (at if at is not None else time.perf_counter()) - self.t0
        self.memory[self.step] = _peak_rss_mb()


def _sweep(out_dir: Path, base: Path, started: float, notice) -> list[Path]:
    """Remove what killed runs left beside or inside ``out_dir`` (:func:`sweep_stale_staging`)."""
    swept: list[Path] = []
    for folder in dict.fromkeys([out_dir.absolute(), out_dir.absolute().parent, base]):
        swept += sweep_stale_staging(folder, before=started, notice=notice)
    return swept


def _make_staging(base: Path, out_dir: Path) -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{owner_tag()}-", dir=base))
    except OSError as exc:
        raise JobError("write", f"cannot create a staging folder in {base} ({exc.strerror or exc}); "
                                f"check that --out {out_dir} is a writable folder") from exc


def _load_step(clock: _StepClock, market_or_path, params: Params, asof) -> tuple[Market | None, dict | None, Path | None]:
    """``load``: a market given, the embedded sample, or the raw table files of a folder or workbook
    (stock-level tables from the dashboard's window on). Returns (market or None, raw tables or None, path)."""
    clock.begin("load")
    source = data_source(market_or_path, params.data_dir)
    market = raws = path = None
    if isinstance(source, Market):
        market = source
        clock.units_at_once("in-memory market")
    elif source is None:
        from xladdin.data.sample import sample_market  # lazy: the sample (scipy.signal) only when no data is given
        market = sample_market()
        clock.units_at_once("embedded sample")
    else:
        path = Path(source)
        if path.is_dir():
            finish_pending(path)  # a store whose last update was killed while committing: complete it first
        _preload_modules()
        try:
            raws = _read_raw(path, clock.unit_done, _dashboard_since(asof if asof is not None else params.asof, params))
        except BaseException:  # a failed or interrupted read (Ctrl-C): no waiting for the early reads
            early.finish(wait=False)
            raise
        early.finish()  # the files decoded early that were not taken are dropped; no thread left for the fork
    clock.end()
    return market, raws, path


#: modules the compute step needs that take long to import (scipy.optimize, for the M9 regression: 0.35 s
#: on an idle machine, over 1 s under load); imported while the load step reads the files
PRELOAD_MODULES = ("scipy.optimize",)


def _preload_modules(modules: Sequence[str] = PRELOAD_MODULES) -> None:
    """Import ``modules`` in a background thread: reading and decoding the files runs outside Python's
    lock, so the import overlaps it instead of adding to the run. A module that fails to import here is
    imported again (and its error reported) by the step that needs it."""
    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - reported by the step that imports it
                pass
    threading.Thread(target=run, name=PRELOAD_THREAD, daemon=True).start()


#: the name of :func:`_preload_modules`' thread
PRELOAD_THREAD = "xladdin-preload"


def _join_preload() -> None:
    """Wait for :func:`_preload_modules` (done long before, as a rule): the compute's second lane is a forked
    process only where no other Python thread runs (:func:`xladdin.workbook.lanes.lane_kind`)."""
    for thread in threading.enumerate():
        if thread.name == PRELOAD_THREAD:
            thread.join()


def _validate_step(clock: _StepClock, market: Market | None, raws: dict | None, path: Path | None, params: Params,
                   asof) -> tuple[Market, pd.Timestamp]:
    """``validate``: type and check the raw tables (or check the given market), then the report's as-of date:
    the effective end of its tables (:func:`xladdin.workbook.weekly.report_asof`), which names the file. When that
    is earlier than the date the stock-level tables' window was read for, they are read again from the window of
    the report's date (else the dashboard and crowding sheets would miss rows the full data has)."""
    clock.begin("validate")
    if raws is not None:
        market = _type_and_check(raws, str(path), clock.unit_done)
    else:
        _check_market(market)
        clock.units_at_once("all tables")
    asof_ts = wk.report_asof(market, params, resolve_asof(market, asof if asof is not None else params.asof))
    need = stock_rows_since(asof_ts, params)
    if path is not None and any(since > need.get(t, since) for t, since in market.read_from.items()):
        market = _type_and_check(_read_raw(path, lambda name: None, lambda raw: need), str(path), lambda name: None)
    clock.end()
    return market, asof_ts


def _compute_and_write_step(clock: _StepClock, report: Path, market: Market, params: Params, asof_ts: pd.Timestamp,
                            layout) -> Any:
    """``compute`` then ``write``: :func:`xladdin.workbook.report.build_report` does both; its progress calls (table
    groups, then sheets) split the two steps. Returns the :class:`~xladdin.workbook.weekly.WeeklyResult`."""
    compute_names = {s.name for s in wk.STEPS}
    first_sheet = layout.sheets[0].key
    seen_compute: list[str] = []
    clock.begin("compute")
    _join_preload()

    def finish_compute(at: float | None = None) -> None:
        for s in wk.STEPS:  # table groups skipped for missing inputs: 0 s, one unit each
            if s.name not in seen_compute:
                clock.units["compute"][s.name] = 0.0
                clock.notify("compute", s.name)
        clock.end(at)
        clock.begin("write", at)

    def on_progress(key: str) -> None:
        if clock.step == "compute" and key == first_sheet and key not in compute_names:
            finish_compute(clock.tu)  # compute ended with its last table group; the cover counts as writing
        if clock.step == "compute":
            seen_compute.append(key)
        clock.unit_done(key)

    try:
        weekly = build_report(report, market, params, asof_ts, layout=layout, progress=on_progress)
    except WeeklyError as exc:
        raise JobError("compute", str(exc.__cause__ or exc), unit=f"table `{exc.table}`") from exc
    except JobError:
        raise
    except Exception as exc:
        unit = None
        if clock.step == "write":
            done = list(clock.units.get("write", {}))
            nxt = [s.key for s in layout.sheets if s.key not in done]
            unit = f"sheet `{nxt[0]}`" if nxt else "saving"
        raise JobError(clock.step, _describe(exc), unit=unit) from exc
    if clock.step == "compute":  # no render progress seen (cannot happen with a non-empty layout)
        finish_compute()
    clock.unit_done("save")
    clock.end()
    # each table group's own wall time (two run at once: WeeklyResult.step_seconds), not the gaps between reports
    clock.units["compute"] = {s.name: weekly.step_seconds.get(s.name, 0.0) for s in wk.STEPS}
    return weekly


def _send_step(clock: _StepClock, send: SendOptions | None, work: Path, name: str) -> tuple[list[str], Any, str | None]:
    """``send`` (optional): mail the staged report (or write the ``.eml`` only). Returns (files to commit,
    the mail or None, the kept ``.eml`` name or None)."""
    files = [name]
    if send is None:
        return files, None, None
    clock.begin("send")
    eml_name = Path(name).with_suffix(".eml").name
    keep = send.dry_run or send.keep_eml
    try:
        mail = send_report(work / name, config=send.config, to=send.to, cc=send.cc, sender=send.sender,
                           subject=send.subject, retries=send.retries, backoff=send.backoff,
                           dry_run=send.dry_run, eml=(work / eml_name) if keep else None,
                           environ=send.environ, **send.smtp)
    except MailError as exc:
        raise JobError("send", str(exc), delivered=exc.delivered) from exc
    except (ConfigError, ValueError, FileNotFoundError, OSError) as exc:
        raise JobError("send", str(exc)) from exc
    clock.unit_done("dry run" if send.dry_run else "sent")
    clock.end()
    if not keep:
        return files, mail, None
    return files + [eml_name], mail, eml_name


def _commit_step(clock: _StepClock, staging: Path, work: Path, top: Path | None, out_dir: Path,
                 files: list[str]) -> bool:
    """``commit``: move the staged files into ``out_dir`` (or rename the staging folder to the new one).
    Returns True when the staging folder is left to remove."""
    clock.begin("commit")
    if top is None:
        _commit(work, out_dir, files)
        left = True
    else:
        left = not _commit_new_folder(staging, work, top, out_dir, files)
    clock.end()
    return left


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0


def _all_tables() -> list[str]:
    return list(TABLES)


def _describe(exc: BaseException) -> str:
    text = format_error(exc)
    if isinstance(exc, (DataError, FileNotFoundError, ParamError, ReportedError)):
        return text
    return f"{type(exc).__name__}: {text}"


def _rollback(staging: Path) -> None:
    """Remove the staging folder after a failure (``out_dir`` was restored by :func:`_commit`)."""
    remove(staging)
