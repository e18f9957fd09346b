"""MkDocs hooks: reference tables that the code itself holds are generated, so they cannot go stale.

(The settings table of reference/settings.md is written out in the page, so that the Markdown reads
whole on its own; ``tests/test_docs.py`` checks it against ``ideogram_mock.config.describe_fields()``.)

- ``<!-- generated:cli-help -->`` (reference/cli.md): ``ideogram-kit COMMAND --help`` for every command,
  from the CLI's own parser.
- ``<!-- generated:routes -->`` (reference/inspection.md): every route of the mock, from its own
  ``GET /openapi.json`` document.
- ``<!-- generated:modules -->`` (architecture.md): every module of ``ideogram_kit`` and
  ``ideogram_mock`` with its size and the first sentence of its docstring.

Registered in ``mkdocs.yml`` (``hooks:``); the file is excluded from the site (``exclude_docs``).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"ideogram_kit": ROOT / "src" / "ideogram_kit", "ideogram_mock": ROOT / "mock_server" / "ideogram_mock"}


def cli_help() -> str:
    from ideogram_kit.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps help to the terminal's width
    try:
        parser = build_parser()
        commands: dict[str, argparse.ArgumentParser] = {}
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                commands = dict(action.choices)
        parts = []
        for name, sub in commands.items():
            parts.append(f"### `ideogram-kit {name}`\n\n```text\n{sub.format_help().rstrip()}\n```")
        return "\n\n".join(parts)
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def first_sentence(text: str) -> str:
    paragraph = " ".join(text.split("\n\n")[0].split())
    match = re.match(r"(.+?\.)(\s|$)", paragraph)
    sentence = match.group(1) if match else paragraph
    return re.sub(r":(?:class|func|mod|meth|attr):`~?([^`]+)`", r"`\1`", sentence).replace("``", "`")


def modules_table() -> str:
    rows = ["| module | lines | its job (the module's docstring) |", "|---|---|---|"]
    for package, folder in PACKAGES.items():
        for path in sorted(folder.glob("*.py")):
            source = path.read_text()
            doc = ast.get_docstring(ast.parse(source)) or ""
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            job = first_sentence(doc).replace("|", "\\|")
            rows.append(f"| `{name}` | {len(source.splitlines())} | {job} |")
    return "\n".join(rows)


def routes_table() -> str:
    from ideogram_mock.openapi import openapi_document

    rows = ["| method | path | what it does |", "|---|---|---|"]
    for path, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            summary = operation.get("summary", "").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            rows.append(f"| {method.upper()} | `{path}` | {summary} |")
    return "\n".join(rows)


GENERATED = {
    "<!-- generated:cli-help -->": cli_help,
    "<!-- generated:modules -->": modules_table,
    "<!-- generated:routes -->": routes_table,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    for marker, make in GENERATED.items():
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown
