"""The import layering docs/architecture.md draws stays true."""

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
#: what no module of the mock may import, at module level or inside a function: the layers above it
MOCK_MAY_NOT = {
    "ideogram_kit.strategies", "ideogram_kit.strategy_values", "ideogram_kit.strategy_tasks",
    "ideogram_kit.strategy_mistakes", "ideogram_kit.strategy_envelopes", "ideogram_kit.types",
    "ideogram_kit.hypothesis_hook", "ideogram_kit.cli", "ideogram_kit.contract", "ideogram_kit.plugin",
    "ideogram_kit.pytest_support", "ideogram_kit.plugin_engine", "ideogram_kit.inprocess_mock",
    "ideogram_kit.live_server", "ideogram_kit.webhook_receiver", "ideogram_kit.network_guard",
    "ideogram_kit.intercept_httpx", "ideogram_kit.intercept_requests", "ideogram_kit.intercept_aiohttp",
}  # fmt: skip
#: every module of the two packages, by dotted name
KNOWN = {f"{package}.{path.stem}" for package, folder in PACKAGES.items() for path in folder.glob("*.py")} | set(
    PACKAGES
)


def _modules_named(names: set[str]) -> set[str]:
    """The names that are modules of the packages (``a.b.C`` where ``C`` is a class counts as ``a.b``)."""
    found = set()
    for name in names:
        while name and name not in KNOWN:
            name = name.rpartition(".")[0]
        if name and name not in PACKAGES:  # the package itself (__init__) is not a layer
            found.add(name)
    return found


def imports(package: str, path: Path, everywhere: bool = False) -> set[str]:
    """Kit modules ``path`` imports, in every form (``import a.b``, ``from a import b``, ``from a.b
    import c``, relative or not): at module level, or anywhere (inside functions too) when ``everywhere``."""
    tree = ast.parse(path.read_text())
    nodes = ast.walk(tree) if everywhere else iter(tree.body)
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package if node.module is None else f"{package}.{node.module}"
            elif node.module and node.module.split(".")[0] in PACKAGES:
                base = node.module
            else:
                continue
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from a import b`: b may be a module
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.split(".")[0] in PACKAGES)
    return _modules_named(names)


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
    package, _, name = module.partition(".")
    anywhere = imports(package, PACKAGES[package] / f"{name}.py", everywhere=True)
    assert not anywhere & MOCK_MAY_NOT, f"{module} imports {sorted(anywhere & MOCK_MAY_NOT)}"


@pytest.mark.parametrize(
    "source",
    [
        "from ideogram_kit import strategies",
        "import ideogram_kit.strategies",
        "from ideogram_kit.strategies import valid_tasks",
        "from ideogram_kit.strategy_tasks import valid_tasks as v",
        "def f():\n    from ideogram_kit import cli",
    ],
)
def test_every_import_form_is_seen(tmp_path: Path, source: str) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(source + "\n")
    found = imports("ideogram_mock", probe, everywhere=True)
    assert found & MOCK_MAY_NOT, (source, found)


def test_the_plugin_imports_no_server_code_at_load() -> None:
    deps = dict(MODULES)["ideogram_kit.plugin"]
    assert not {d for d in deps if d.startswith("ideogram_mock")}, deps
    assert "ideogram_kit.pytest_support" not in deps
