"""LibreOffice headless helper for the workbook tests.

Every call gets a brand-new user profile (``-env:UserInstallation``) seeded with a
``registrymodifications.xcu`` that forces formula recalculation on load, so parallel or repeated
runs never share state. ``soffice`` exits 0 even when it fails, so the output file is checked.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def ensure_tools() -> None:
    """Install LibreOffice/poppler/CJK font via scripts/ensure_libreoffice.sh when absent."""
    if shutil.which("soffice") and shutil.which("pdftotext") and shutil.which("pdftoppm"):
        fc = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True)
        if fc.stdout.strip():
            return
    res = subprocess.run(["bash", str(ROOT / "scripts" / "ensure_libreoffice.sh")], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"scripts/ensure_libreoffice.sh failed ({res.returncode}):\n{res.stderr[-2000:]}")


def convert(sources: list[Path] | Path, fmt: str, outdir: Path, timeout: float = 180) -> list[Path]:
    """Convert one or more files with a fresh profile; return the output paths (all must exist)."""
    ensure_tools()
    srcs = [Path(sources)] if isinstance(sources, (str, Path)) else [Path(s) for s in sources]
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    ext = fmt.split(":")[0]
    with tempfile.TemporaryDirectory(prefix="lo_profile_") as prof:
        user = Path(prof) / "user"
        user.mkdir(parents=True)
        (user / "registrymodifications.xcu").write_text(RECALC_XCU, encoding="utf-8")
        cmd = ["soffice", "--headless", "--norestore", "--nologo", f"-env:UserInstallation=file://{prof}",
               "--convert-to", fmt, "--outdir", str(outdir), *map(str, srcs)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    outs = [outdir / f"{s.stem}.{ext}" for s in srcs]
    missing = [o for o in outs if not o.is_file() or o.stat().st_size == 0]
    if missing:
        raise RuntimeError(f"soffice did not write {', '.join(map(str, missing))} (rc={res.returncode})\n"
                           f"stdout: {res.stdout[-1000:]}\nstderr: {res.stderr[-1000:]}")
    return outs


def pdf_text(pdf: Path) -> str:
    res = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return res.stdout


def pdf_pages(pdf: Path) -> int:
    res = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    for line in res.stdout.splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise RuntimeError(f"pdfinfo gave no page count for {pdf}")


def pdf_png(pdf: Path, out_stem: Path, first: int = 1, last: int | None = None, dpi: int = 70) -> list[Path]:
    """Render pages to PNG (``out_stem-N.png``)."""
    cmd = ["pdftoppm", "-png", "-r", str(dpi), "-f", str(first)]
    if last is not None:
        cmd += ["-l", str(last)]
    subprocess.run(cmd + [str(pdf), str(out_stem)], check=True, capture_output=True)
    return sorted(Path(out_stem).parent.glob(Path(out_stem).name + "-*.png"))
