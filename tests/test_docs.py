"""The README and the documents in docs/ stay honest: the README stays short, every `xladdin <command>
--flag` they quote exists in that command's parser, every relative link points at a file (and heading)
that exists, every command is listed in the README, and the configuration example parses."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from xladdin.ops import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
#: files whose quoted xladdin commands and flags are checked against the parsers
COMMAND_DOCS = [README] + DOCS
#: files whose relative links are checked
LINKED_DOCS = COMMAND_DOCS + [ROOT / "bench" / "README.md"]
README_MAX_LINES = 300

FLAG = re.compile(r"(?<![\w-])--(\[no-\])?([a-z][a-z0-9-]*)")
SPAN = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


# ------------------------------------------------------------------------------------------ the parsers
def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _parsers() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every command path (``("backtest", "rotation")``, ``("style",)``, ...) and its parser."""
    out: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def walk(parser, path):
        for name, sub in _subcommands(parser).items():
            out[path + (name,)] = sub
            walk(sub, path + (name,))

    walk(cli.build_parser(), ())
    return out


PARSERS = _parsers()
TOP = {path[0] for path in PARSERS}
ALL_FLAGS = {opt for p in PARSERS.values() for opt in p._option_string_actions}


def _flags(text: str) -> list[str]:
    """The long options written in ``text``; ``--[no-]x`` gives ``--x`` and ``--no-x``."""
    out = []
    for no, name in FLAG.findall(text):
        out.append(f"--{name}")
        if no:
            out.append(f"--no-{name}")
    return out


#: ``python -m xladdin``, ``py -3.12 -m xladdin``, ``%USERPROFILE%\env\Scripts\python -m xladdin``,
#: ``"C:\Program Files\Python312\python.exe" -m xladdin``, ``~/env/bin/python -m xladdin``: the program ``xladdin``
PYTHON_M = re.compile(r'^(?:"[^"]*(?:py|python[\d.]*w?)(?:\.exe)?"|\S*?(?:py|python[\d.]*w?)(?:\.exe)?)\s+'
                      r"(?:-\d[\d.]*\s+)?-m\s+xladdin(?=\s|$)", re.I)


def _command(text: str, where: str) -> tuple[tuple[str, ...], str] | None:
    """``(command path, rest)`` when ``text`` is an xladdin command line (``xladdin style --pair size``,
    ``python -m xladdin style ...`` with any path to the interpreter, or, in a table or sentence, ``style --pair
    size``); None for anything else."""
    text = text.replace("$ ", "", 1) if text.startswith("$ ") else text
    text = PYTHON_M.sub("xladdin", text.strip(), count=1)
    words = text.split()
    if not words:
        return None
    prefixed = words[0] == "xladdin"
    if prefixed:
        words = words[1:]
        if words and re.fullmatch(r"[a-z][a-z-]*", words[0]) and words[0] not in TOP:
            raise AssertionError(f"{where}: `xladdin {words[0]}` is not a command (commands: {sorted(TOP)})")
    if not words or words[0] not in TOP:
        return None
    path = (words[0],)
    if len(words) > 1 and (words[0], words[1]) in PARSERS:
        path = (words[0], words[1])
    return path, " ".join(words[len(path):])


def _check(path: tuple[str, ...], flags: list[str], where: str, problems: list[str]) -> None:
    known = PARSERS[path]._option_string_actions
    for flag in flags:
        if flag not in known:
            problems.append(f"{where}: `xladdin {' '.join(path)}` has no option {flag}")


# ------------------------------------------------------------------------------------------ the documents
def _blocks(text: str):
    """(kind, lines) of a Markdown text: "code" for a fenced block, "table" for one table row, "para" for a
    paragraph or list item (lines joined, so a code span may wrap)."""
    lines = text.splitlines()
    i, para = 0, []
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            if para:
                yield "para", para
                para = []
            j = i + 1
            while j < len(lines) and not lines[j].lstrip().startswith("```"):
                j += 1
            yield "code", lines[i + 1:j]
            i = j + 1
            continue
        if line.startswith("|"):
            if para:
                yield "para", para
                para = []
            yield "table", [line]
        elif not line.strip() or line.startswith("#") or re.match(r"\s*(?:[-*]|\d+\.)\s", line):
            if para:
                yield "para", para
            para = [line] if line.strip() and not line.startswith("#") else []
        else:
            para.append(line)
        i += 1
    if para:
        yield "para", para


def _code_lines(lines: list[str]):
    """Logical lines of a code block: a line ending in ``\\`` or followed by an indented ``[--...`` /
    ``--...`` line continues; a trailing ``# comment`` is dropped."""
    out: list[str] = []
    for line in lines:
        text = re.split(r"\s#\s", line, maxsplit=1)[0]
        if out and (out[-1].endswith("\\") or re.match(r"\s+\[?--", line)):
            out[-1] = out[-1].rstrip("\\") + " " + text.strip()
        else:
            out.append(text.strip())
    return out


def _label(doc: Path) -> str:
    return str(doc.relative_to(ROOT)) if doc.is_relative_to(ROOT) else doc.name


def _command_problems(doc: Path) -> list[str]:
    problems: list[str] = []
    text = doc.read_text(encoding="utf-8")
    for kind, lines in _blocks(text):
        where = f"{_label(doc)}: {lines[0].strip()[:60] if lines else ''}"
        if kind == "code":
            for line in _code_lines(lines):
                found = _command(line, where)
                if found:
                    _check(found[0], _flags(found[1]), where, problems)
            continue
        context = None  # in a table row, bare flags belong to the command named before them in the row
        for _, span in SPAN.findall(" ".join(lines)):
            span = span.strip()
            found = _command(span, where)
            if found:
                context = found[0] if kind == "table" else None
                _check(found[0], _flags(found[1]), where, problems)
            elif span.startswith("--"):
                flags = _flags(span)
                if context is not None:
                    _check(context, flags, where, problems)
                else:
                    problems += [f"{where}: no xladdin command has {f}" for f in flags if f not in ALL_FLAGS]
    return problems


@pytest.mark.parametrize("doc", COMMAND_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_quoted_flag_exists(doc):
    problems = _command_problems(doc)
    assert not problems, "\n".join(problems)


def test_the_checker_catches_a_wrong_flag(tmp_path):
    """The checker itself: a flag of another command, an unknown flag and an unknown command are caught;
    deprecated spellings and --[no-] pairs pass."""
    doc = tmp_path / "x.md"
    doc.write_text("\n".join([
        "Run `xladdin style --hp-lambda 100` or `xladdin style --lambda 100`.",
        "",
        "```",
        "xladdin backtest rotation --top-n 6 \\",
        "    --etf-cost 0.1",
        "xladdin dashboard --heat-years 3   # --nonsense in a comment is not read",
        "```",
        "",
        "| `backtest northbound --etf-top-n` | `--[no-]etf-one-per-index`, `--corr-window` |",
        "",
        "A bare `--no-such-flag`.",
    ]) + "\n", encoding="utf-8")
    problems = _command_problems(doc)
    assert len(problems) == 3, problems
    assert "`xladdin backtest rotation` has no option --etf-cost" in problems[0]
    assert "`xladdin backtest northbound` has no option --corr-window" in problems[1]
    assert "no xladdin command has --no-such-flag" in problems[2]
    doc.write_text("\n".join([
        "```bat",
        "%USERPROFILE%\\xladdin-env\\Scripts\\python -m xladdin excel-setup --nonsense",
        "py -3.12 -m xladdin doctor --data x",
        "```",
        "Run `\"C:\\Program Files\\Python312\\python.exe\" -m xladdin weekly --no-such` or `~/env/bin/python -m xladdin "
        "excel-setup --force` or `python3 -m xladdin template --asof 2026-01-02`; `python -m pip install x.whl` is no "
        "xladdin command.",
    ]) + "\n", encoding="utf-8")
    problems = _command_problems(doc)
    assert [p.split(": ", 2)[-1] for p in problems] == [
        "`xladdin excel-setup` has no option --nonsense", "`xladdin doctor` has no option --data",
        "`xladdin weekly` has no option --no-such"], problems
    doc.write_text("`xladdin stlye --pair size`\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="`xladdin stlye` is not a command"):
        _command_problems(doc)


def test_readme_lists_every_command():
    """The README's Commands table names every command and sub-command of the CLI."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    listed = set()
    for line in section.splitlines():
        if line.startswith("|"):
            for _, span in SPAN.findall(line):
                found = _command(span.strip(), "README Commands")
                if found:
                    listed.add(found[0])
    groups = {path[:1] for path in PARSERS if len(path) > 1}
    leaves = {path for path in PARSERS if path not in groups}
    assert leaves <= listed, sorted(leaves - listed)


# ------------------------------------------------------------------------------------------ size and links
def test_readme_is_short():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n < README_MAX_LINES, f"README.md has {n} lines; move detail into docs/ (goal: about 250)"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    """The anchors of ``doc``'s headings; a repeated heading gets ``-1``, ``-2``, ... as on GitHub."""
    text = doc.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    seen: dict[str, int] = {}
    out = set()
    for m in re.findall(r"^#{1,6}\s+(.*)$", text, flags=re.M):
        slug = _slug(m)
        out.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return out


@pytest.mark.parametrize("doc", LINKED_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_existing_files_and_headings(doc):
    problems = []
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z+.-]*:", target):  # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.exists():
            problems.append(f"{target}: {path} does not exist")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            problems.append(f"{target}: no heading `#{anchor}` in {path.relative_to(ROOT)}")
    assert not problems, f"{doc.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_slug_is_githubs():
    assert _slug("The weekly job") == "the-weekly-job"
    assert _slug("One-sided HP (n = 2,500 random walk)") == "one-sided-hp-n--2500-random-walk"
    assert _slug("`xladdin send`: mail the weekly report") == "xladdin-send-mail-the-weekly-report"
    assert _slug("Parameters sheet (参数)") == "parameters-sheet-参数"


# ------------------------------------------------------------------------------------------ the config example
def test_operations_config_example_parses(tmp_path):
    """The configuration example of docs/operations.md is a valid configuration file."""
    from xladdin.ops.config import expand_recipients, load_config
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    path = tmp_path / "config.toml"
    path.write_text(blocks[0], encoding="utf-8")
    cfg = load_config(path, environ={})
    assert cfg.smtp.security == "starttls" and cfg.smtp.effective_port == 587
    assert expand_recipients(["@desk"], cfg.recipients) == ["desk@example.com", "pm@example.com",
                                                            "张三 <zhangsan@example.com>"]


def test_slug_of_a_repeated_heading(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("# A\n## WPS Office\ntext\n## WPS Office\n", encoding="utf-8")
    assert _anchors(doc) == {"a", "wps-office", "wps-office-1"}


# ------------------------------------------------------------------------------------------ the analyst's page
INSTALL = ROOT / "docs" / "install.md"
#: ``pip install xladdin`` (an index package of that name does not exist: anyone could register it)
INDEX_INSTALL = re.compile(r"pip3?\s+install\s+(?:-\S+\s+)*[\"']?xladdin(?:\[[^\]]*\])?[\"']?(?=[\s`)]|$)", re.M)


@pytest.mark.parametrize("doc", LINKED_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_doc_installs_xladdin_from_an_index(doc):
    """Only to say never to run it: ``never `pip install xladdin` `` / ``不要运行 `pip install xladdin` ``."""
    text = doc.read_text(encoding="utf-8")
    bad = [m.group(0) for m in INDEX_INSTALL.finditer(text)
           if not text[:m.start()].endswith(("never `", "不要运行 `"))]
    assert not bad, bad


#: the code and scripts whose messages, help and notes an analyst reads (the wheel's modules, the workbook builders)
MESSAGE_SOURCES = sorted(p for folder in ("xladdin", "udfs", "macros", "workbooks", "scripts")
                         for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("source", MESSAGE_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_message_installs_xladdin_from_an_index(source):
    """Errors, help texts and workbook notes name the wheel (or its extra on the wheel's path), never an index
    package ``xladdin`` (``pip install xladdin[akshare]`` would ask PyPI for a package we do not publish)."""
    bad = [m.group(0) for m in INDEX_INSTALL.finditer(source.read_text(encoding="utf-8"))]
    assert not bad, bad


#: a data source's library installed on its own: without the extra's pins (the tested minor version) and what the
#: library imports undeclared (tushare 1.4: six)
BARE_VENDOR = re.compile(r"pip3?\s+install\s+(?:-\S+\s+)*[\"']?(akshare|tushare)\b", re.M)


@pytest.mark.parametrize("path", LINKED_DOCS + MESSAGE_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_data_source_is_installed_through_its_extra(path):
    bad = [m.group(0) for m in BARE_VENDOR.finditer(path.read_text(encoding="utf-8"))]
    assert not bad, bad


@pytest.mark.parametrize("path", LINKED_DOCS + MESSAGE_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_xlwings_comes_with_the_wheel(path):
    """xladdin pins xlwings (its VBA is in the workbook): no text tells the user to pip install xlwings on its own,
    which gives the newest release, or another one than the pin."""
    assert not re.search(r"pip3?\s+install\s+(?:-\S+\s+)*[\"']?xlwings\b", path.read_text(encoding="utf-8"))


def test_index_install_pattern():
    assert INDEX_INSTALL.search("pip install xladdin") and INDEX_INSTALL.search('pip install "xladdin[tushare]"')
    assert INDEX_INSTALL.search("pip install -U xladdin\n")
    assert not INDEX_INSTALL.search("pip install xladdin-0.1.0-py3-none-any.whl")
    assert not INDEX_INSTALL.search('pip install -e ".[test]"')


def test_the_install_page_walks_each_path_in_both_languages():
    text = INSTALL.read_text(encoding="utf-8")
    zh, en = text.split("\n## 中文\n", 1)[1].split("\n## English\n", 1)
    for part, words in ((zh, ["python.org", "Anaconda", "macOS", "解除锁定", "Unblock-File", "刷新 Refresh", "=XA_VERSION()",
                              "信任对 VBA 工程对象模型的访问", "xlwings runpython install", "WPS", "没有运行过"]),
                        (en, ["python.org", "Anaconda", "macOS", "Unblock", "Unblock-File", "刷新 Refresh", "=XA_VERSION()",
                              "Trust access to the VBA project object model", "xlwings runpython install", "WPS",
                              "not run"])):
        missing = [w for w in words if w not in part]
        assert not missing, missing
        assert part.count("-m xladdin excel-setup") >= 3  # python.org, conda, macOS
        assert "Python 3.11" in part
    for doc in (README, ROOT / "docs" / "excel.md"):
        assert "install.md" in doc.read_text(encoding="utf-8"), doc


# ------------------------------------------------------------------------------------------ docs/excel.md's lists
EXCEL_DOC = ROOT / "docs" / "excel.md"


def _section_rows(doc: Path, heading: str) -> list[list[str]]:
    """The cells of the table rows (``| a | b |``) of the section under ``## heading`` (up to the next ``##``)."""
    text = doc.read_text(encoding="utf-8")
    body = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in body.splitlines()
            if line.startswith("|") and not re.fullmatch(r"\|[\s|:-]+", line.strip())]


def test_the_excel_doc_lists_every_function():
    """Each XA_ function of the xladdin_udfs modules (the folder is the registry) has its row, and each row
    names one."""
    import importlib

    from xladdin.workbook.template import udf_modules
    functions = {name for m in udf_modules() for name in vars(importlib.import_module(m)) if name.startswith("XA_")}
    rows = {row[0].strip("`") for row in _section_rows(EXCEL_DOC, "Excel functions (xlwings UDFs)")
            if row[0].startswith("`XA_")}
    assert rows == functions


def test_the_excel_doc_lists_every_sheet():
    """Each sheet of workbooks/layout.toml has its row (``zh / en``) in the workbook's table."""
    from xladdin.workbook.layout import load_layout
    rows = {row[0] for row in _section_rows(EXCEL_DOC, "The weekly tracking workbook")}
    assert {f"{s.zh} / {s.en}" for s in load_layout().sheets} <= rows


def test_the_excel_doc_lists_every_parameter():
    """Each key of the parameters sheet (SPECS) is in the parameters table, and the table names no other key."""
    from xladdin.workbook.params import SPECS
    listed = {key for row in _section_rows(EXCEL_DOC, "Parameters sheet (参数)")[1:]
              for key in re.findall(r"`([a-z_]+)`", row[0])}
    assert listed == {s.key for s in SPECS}


def test_the_section_reader_sees_a_table(tmp_path):
    doc = tmp_path / "probe.md"
    doc.write_text("# T\n\n## A\n| x | y |\n|---|---|\n| `k1`, `k2` | z |\n\n## B\n| q |\n", encoding="utf-8")
    assert _section_rows(doc, "A") == [["x", "y"], ["`k1`, `k2`", "z"]]
