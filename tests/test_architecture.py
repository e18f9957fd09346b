"""The import layering the README's Architecture section draws stays true."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"ideogram_kit": ROOT / "src" / "ideogram_kit", "ideogram_mock": ROOT / "mock_server" / "ideogram_mock"}

#: module -> kit modules it may import at module level (anything else of the kit is a layering error)
ALLOWED: dict[str, set[str]] = {
    "ideogram_kit.errors": set(),
    "ideogram_kit.compiler": set(),
    "ideogram_kit.codes": set(),
    "ideogram_kit.schemas": {"ideogram_kit.errors"},
    "ideogram_kit.payloads": {"ideogram_kit.errors"},
    "ideogram_kit.payload_warnings": {"ideogram_kit.errors", "ideogram_kit.schemas", "ideogram_kit.codes"},
    "ideogram_kit.validation": {
        "ideogram_kit.errors",
        "ideogram_kit.schemas",
        "ideogram_kit.compiler",
        "ideogram_kit.codes",
        "ideogram_kit.payload_warnings",
    },
}
#: what no module of the mock may import: the layers above it
MOCK_MAY_NOT = {"ideogram_kit.strategies", "ideogram_kit.types", "ideogram_kit.cli", "ideogram_kit.plugin",
                "ideogram_kit.pytest_support"}  # fmt: skip


def imports(package: str, path: Path) -> set[str]:
    """Kit modules ``path`` imports at module level (not inside functions: those are lazy on purpose)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        nodes = [node]
        if isinstance(node, ast.If):  # TYPE_CHECKING blocks import nothing at run time
            continue
        for item in nodes:
            if isinstance(item, ast.ImportFrom):
                if item.level:
                    base = package if item.module is None else f"{package}.{item.module}"
                    found.update(f"{package}.{alias.name}" if item.module is None else base for alias in item.names)
                elif item.module and item.module.split(".")[0] in PACKAGES:
                    found.add(item.module)
            elif isinstance(item, ast.Import):
                found.update(a.name for a in item.names if a.name.split(".")[0] in PACKAGES)
    return found


MODULES = [
    (f"{package}.{path.stem}", imports(package, path))
    for package, folder in PACKAGES.items()
    for path in sorted(folder.glob("*.py"))
    if path.stem != "__init__"
]


@pytest.mark.parametrize(("module", "deps"), [m for m in MODULES if m[0] in ALLOWED], ids=lambda v: str(v))
def test_lower_layers_import_only_below_them(module: str, deps: set[str]) -> None:
    kit = {d for d in deps if d.startswith("ideogram_")}
    assert kit <= ALLOWED[module], f"{module} imports {sorted(kit - ALLOWED[module])}"


@pytest.mark.parametrize(
    ("module", "deps"), [m for m in MODULES if m[0].startswith("ideogram_mock.")], ids=lambda v: str(v)
)
def test_the_mock_does_not_import_the_layers_above_it(module: str, deps: set[str]) -> None:
    assert not deps & MOCK_MAY_NOT, f"{module} imports {sorted(deps & MOCK_MAY_NOT)}"


def test_the_plugin_imports_no_server_code_at_load() -> None:
    deps = dict(MODULES)["ideogram_kit.plugin"]
    assert not {d for d in deps if d.startswith("ideogram_mock")}, deps
    assert "ideogram_kit.pytest_support" not in deps
