"""The release artefact: ``scripts/build_release.sh`` builds the wheel and the sdist and checks them; the wheel,
installed into a fresh virtual environment away from this checkout (its own site-packages, no PYTHONPATH, the
current folder elsewhere), runs what an analyst runs: ``python -m xladdin`` (every command's parser, the weekly
job, the template, excel-setup, doctor), an XA_ function, the Refresh entry module and the template's module, the
template's VBA (xlwings' own, from the venv's xlwings), the layout (package data) and the headless refresh; the
``tushare`` and ``akshare`` extras; and what a real Python 3.10's own pip says to the wheel (docs/install.md quotes
it). ``scripts/check_dist.py`` itself is shown to catch a wheel with a generic top-level package, a missing layout
and a machine path."""
from __future__ import annotations

import email.parser
import html
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import xladdin
import xladdin_macros.lite_main as lite_main  # the checkout's: the wheel's registers the same XA_ functions
from xladdin.ops.cli import COMMAND_MODULES

ROOT = Path(__file__).resolve().parents[1]
V = xladdin.__version__
WHEEL = f"xladdin-{V}-py3-none-any.whl"


def _run(args, cwd, env=None, timeout=600):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    r = _run(["bash", str(ROOT / "scripts" / "build_release.sh"), str(out)], cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "contents, metadata and paths ok" in r.stdout and r.stdout.count("PASSED") == 2
    return out


def _clean_env() -> dict[str, str]:
    """The environment of a new shell: no PYTHONPATH or venv of this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (uv, sharing its cache of downloaded wheels; pip when there is no uv)."""
    base = tmp_path_factory.mktemp("analyst")
    env = _clean_env()
    target = base / "venv"
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:
        r = _run([uv, "venv", "-q", "--python", sys.executable, str(target)], cwd=base, env=env)
        assert r.returncode == 0, r.stderr
        r = _run([uv, "pip", "install", "-q", "--compile-bytecode", "--python", str(target / "bin" / "python"),
                  str(dist / WHEEL)],
                 cwd=base, env=env)
    else:  # pragma: no cover - scripts/setup.sh installs uv
        r = _run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(target)], cwd=base, env=env)
        assert r.returncode == 0, r.stderr
        r = _run([str(target / "bin" / "python"), "-m", "pip", "install", "-q", str(dist / WHEEL)], cwd=base, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return target


def py(venv: Path, *args: str, cwd: Path, timeout=600) -> subprocess.CompletedProcess:
    return _run([str(venv / "bin" / "python"), *args], cwd=cwd, env=_clean_env(), timeout=timeout)


@pytest.mark.slow
def test_the_wheel_is_the_only_xladdin_of_the_venv(venv, tmp_path):
    code = ("import json, sys, xladdin, xladdin_udfs, xladdin_macros, xlwings; print(json.dumps({'path': sys.path, "
            "'mods': [m.__file__ for m in (xladdin, xladdin_udfs, xladdin_macros)], 'xlwings': xlwings.__version__}))")
    r = py(venv, "-c", code, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    site = str(next((venv / "lib").glob("python3.*/site-packages")))
    assert all(m.startswith(site) for m in got["mods"]), got["mods"]
    assert not any(p.startswith(str(ROOT)) for p in got["path"]), got["path"]  # the checkout is nowhere on the path
    assert got["xlwings"] == "0.37.8"
    assert not (Path(site) / "udfs").exists() and not (Path(site) / "macros").exists()


@pytest.mark.slow
def test_every_command_parses_from_the_wheel(venv, tmp_path):
    code = ("import sys\nfrom xladdin.ops.cli import main\nfor c in sys.argv[1:]:\n    try:\n        main([c, '--help'])\n"
            "    except SystemExit as e:\n        assert e.code == 0, (c, e.code)\n")
    r = py(venv, "-c", code, *COMMAND_MODULES, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert all(f"usage: xladdin {c}" in r.stdout for c in COMMAND_MODULES)
    r = py(venv, "-m", "xladdin", "--version", cwd=tmp_path)
    assert r.stdout == f"xladdin {V}\n"
    console = venv / "bin" / "xladdin"
    assert _run([str(console), "--version"], cwd=tmp_path, env=_clean_env()).stdout == f"xladdin {V}\n"


@pytest.mark.slow
def test_weekly_template_excel_setup_and_doctor_from_the_wheel(venv, tmp_path):
    """The weekly job and the template run side by side (two cores), then excel-setup and doctor."""
    env = _clean_env()
    python = str(venv / "bin" / "python")
    jobs = {name: subprocess.Popen([python, "-m", "xladdin", *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
            for name, args in {"weekly": ["weekly", "--out", "out", "--no-progress"],
                               "template": ["template", "tpl/xladdin_weekly.xlsm", "--no-progress"]}.items()}
    for name, job in jobs.items():
        out, err = job.communicate(timeout=600)
        assert job.returncode == 0, f"{name}: {out}{err}"
    assert list((tmp_path / "out").glob("xladdin_weekly_*.xlsx"))
    built = tmp_path / "tpl" / "xladdin_weekly.xlsm"
    site = next((venv / "lib").glob("python3.*/site-packages"))
    with zipfile.ZipFile(built) as z, zipfile.ZipFile(site / "xlwings" / "quickstart_standalone.xlsm") as x:
        assert z.read("xl/vbaProject.bin") == x.read("xl/vbaProject.bin")  # the venv's xlwings' VBA
    assert (site / "xladdin" / "workbooks" / "layout.toml").read_bytes() == \
        (ROOT / "workbooks" / "layout.toml").read_bytes()
    # the template's module and the Refresh entry: `import xladdin_weekly` runs xladdin_macros.refresh.main
    r = py(venv, "-c", "import xladdin_weekly, xladdin_macros.refresh as r, xladdin_macros.lite_main as lite; "
                       "assert xladdin_weekly.main is r.main; print(sum(n.startswith('XA_') for n in dir(lite)))",
           cwd=tmp_path / "tpl")
    assert r.returncode == 0 and int(r.stdout) == sum(n.startswith("XA_") for n in dir(lite_main)), r.stderr
    r = py(venv, "-m", "xladdin", "excel-setup", "xl", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = py(venv, "-m", "xladdin", "doctor", "xl/xladdin_weekly.xlsm", cwd=tmp_path)
    assert r.returncode == 0 and "[FIX]" not in r.stdout, r.stdout + r.stderr
    # the headless refresh docs/install.md gives WPS users, of the workbook excel-setup wrote
    r = py(venv, "-m", "xladdin", "refresh", "xl/xladdin_weekly.xlsm", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0 and "refreshed " in r.stdout, r.stdout + r.stderr


@pytest.mark.slow
def test_an_xa_function_from_the_wheel(venv, tmp_path):
    """XA_ETF_FLOW as Excel passes a column: flow_t = (shares_t - shares_t-1) * nav_t, by hand below."""
    r = py(venv, "-c", "import json; from xladdin_udfs.flows import XA_ETF_FLOW; from xladdin_udfs.stats import "
                       "XA_VERSION; print(json.dumps([XA_ETF_FLOW([100, 110, 105], [1.0, 1.1, 1.2]), XA_VERSION()]))",
           cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    flows, version = json.loads(r.stdout)
    assert flows[0] == [None]
    assert flows[1][0] == pytest.approx((110 - 100) * 1.1) and flows[2][0] == pytest.approx((105 - 110) * 1.2)
    assert version == [[f"xladdin {V}"]]


def _rewrite(src: Path, dst: Path, change) -> None:
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as out:
        for name in z.namelist():
            for new_name, data in change(name, z.read(name)):
                out.writestr(new_name, data)


@pytest.mark.slow
def test_check_dist_catches_a_bad_wheel(dist, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(dist / f"xladdin-{V}.tar.gz", bad)

    def change(name, data):
        if name == "xladdin/workbooks/layout.toml":
            return []  # the layout left out
        if name.startswith("xladdin_udfs/"):
            return [(name, data), (name.replace("xladdin_udfs/", "udfs/", 1), data)]  # a generic top-level package
        if name == "xladdin/__init__.py":
            return [(name, data + f"\n# built in {ROOT}\n".encode())]
        return [(name, data)]

    _rewrite(dist / WHEEL, bad / WHEEL, change)
    r = _run([sys.executable, str(ROOT / "scripts" / "check_dist.py"), str(bad)], cwd=tmp_path)
    assert r.returncode == 1
    assert "installs `udfs`, a name that does not start with xladdin" in r.stderr
    assert "missing ['xladdin/workbooks/layout.toml']" in r.stderr
    assert f"xladdin/__init__.py contains the machine path {ROOT}" in r.stderr
    (bad / WHEEL).unlink()
    r = _run([sys.executable, str(ROOT / "scripts" / "check_dist.py"), str(bad)], cwd=tmp_path)
    assert r.returncode == 1 and "want one wheel and one sdist" in r.stderr and r.stdout == ""


@pytest.mark.slow
def test_the_data_source_extras_import_from_the_wheel(dist, tmp_path):
    """``pip install "<wheel>[tushare]"``, then ``[akshare]``, into a fresh venv: each client starts from the vendor's
    own module after its own extra (tushare 1.4 imports six undeclared: its extra must bring it; akshare's
    dependencies would bring it too, so tushare is checked first, alone)."""
    target = tmp_path / "venv"
    env = _clean_env()
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:  # pragma: no cover - scripts/setup.sh installs uv
        pytest.skip("no uv to install the extras with")
    r = _run([uv, "venv", "-q", "--python", sys.executable, str(target)], cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    for extra, client, args in (("tushare", "TushareClient", "token='abc'"), ("akshare", "AkshareClient", "")):
        r = _run([uv, "pip", "install", "-q", "--python", str(target / "bin" / "python"), f"{dist / WHEEL}[{extra}]"],
                 cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        code = f"from xladdin.data.clients import {client} as C; print(type(C.from_env({args})).__name__)"
        r = _run([str(target / "bin" / "python"), "-c", code], cwd=tmp_path, env=env)
        assert r.returncode == 0 and r.stdout.strip() == client, (extra, r.stderr)


def _stub_index(wheel: Path, root: Path) -> str:
    """A PEP 503 index (file://) answering every dependency of ``wheel`` with an empty wheel of its lowest allowed
    version, xlwings with ``data-requires-python`` from its real metadata (0.37.1 on: ``>=3.11``): what pip sees on
    PyPI, without the network."""
    meta = email.parser.Parser().parsestr(zipfile.ZipFile(wheel).read(f"xladdin-{V}.dist-info/METADATA").decode())
    (root / "files").mkdir(parents=True)
    for req in (r for r in meta.get_all("Requires-Dist") if "extra ==" not in r):
        name, version = re.match(r"([A-Za-z0-9_.-]+)\s*(?:==|>=)\s*([0-9.]+)", req).groups()
        requires = ">=3.11" if name == "xlwings" else None
        norm = re.sub(r"[-_.]+", "_", name).lower()
        whl = root / "files" / f"{norm}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(whl, "w") as z:
            z.writestr(f"{norm}-{version}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                       + (f"Requires-Python: {requires}\n" if requires else ""))
            z.writestr(f"{norm}-{version}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
            z.writestr(f"{norm}-{version}.dist-info/RECORD", "")
        page = root / "simple" / re.sub(r"[-_.]+", "-", name).lower()
        page.mkdir(parents=True)
        attr = f' data-requires-python="{html.escape(requires)}"' if requires else ""
        page.joinpath("index.html").write_text(f'<a href="../../files/{whl.name}"{attr}>{whl.name}</a>')
    return (root / "simple").as_uri()


@pytest.mark.slow
def test_an_older_python_cannot_install_the_wheel(dist, older_python, tmp_path):
    """What docs/install.md says a Python 3.10 user sees: the pip that Python's own venv brings (ensurepip, no
    network) refuses the install; pip reads its answer from a local index shaped like PyPI's."""
    if older_python is None:
        pytest.skip("no Python < 3.11 on this machine")
    target = tmp_path / "venv"
    r = _run([older_python, "-m", "venv", str(target)], cwd=tmp_path, env=_clean_env())
    assert r.returncode == 0, r.stderr
    env = {**{k: v for k, v in _clean_env().items() if not k.startswith("PIP_")}, "PIP_CONFIG_FILE": os.devnull}
    pip = [str(target / "bin" / "python"), "-m", "pip"]
    version = _run([*pip, "--version"], cwd=tmp_path, env=env).stdout.split()[1]
    r = _run([*pip, "install", "--no-cache-dir", "--index-url", _stub_index(dist / WHEEL, tmp_path / "index"),
              str(dist / WHEEL)], cwd=tmp_path, env=env)
    assert r.returncode == 1
    doc = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    if int(version.split(".")[0]) < 24:  # the pip of Python 3.10's venv (23.0.1 with 3.10.13)
        said = ["require a different python version", "0.37.8 Requires-Python >=3.11",
                "No matching distribution found for xlwings==0.37.8"]
    else:  # a newer pip checks the wheel's own Requires-Python first
        said = ["requires a different Python"]
    for text in said:
        assert text in r.stdout + r.stderr, (version, r.stdout + r.stderr)
        assert doc.count(text) == 2, text  # quoted in the Chinese and the English part
