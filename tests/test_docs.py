"""The docs site builds with ``mkdocs build --strict``, and what its pages (and the README) show is true.

- the site builds without a warning (a broken link, anchor, snippet or nav entry fails), the
  tables generated when it builds (CLI help, routes, modules) are on its pages, and the settings
  table is ``describe_fields()``, row for row;
- every Python block of the docs includes a file under ``examples/`` that a test runs (the README's
  are copies of such files: ``tests/test_readme.py``);
- every file a shell command names is shipped; every ``ideogram-kit`` command parses, and the
  offline ones (validate, schema, generate) run as pasted from the repository's root; every curl
  command gets a JSON answer from a live mock; the sample CLI output is what the CLI prints;
- the shipped sample files are what the pages say they are.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ideogram_kit import validate
from ideogram_kit.cli import build_parser
from ideogram_mock import MockConfig
from ideogram_mock.config import describe_fields
from ideogram_mock.server import BackgroundServer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
SNIPPET = re.compile(r'--8<-- "([^"]+)"')
BIN = Path(sys.executable).parent
#: top-level folders of the repository: a command's word starting with one of them names a shipped file
REPO_PATH = re.compile(r"(?<![\w/.$-])((?:examples|tests|docs|bench|schema|src|mock_server)/[\w./*-]*[\w*])")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def blocks(path: Path, language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(path.read_text()) if lang == language]


def commands(body: str) -> list[str]:
    """The commands of a bash block, each whole (over continued and quoted lines), without comment lines."""
    found, current = [], ""
    for line in body.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line + "\n"
        if current.rstrip().endswith("\\"):
            continue
        try:
            shlex.split(current, comments=True)
        except ValueError:  # a quote still open: the command goes on
            continue
        found.append(current.strip())
        current = ""
    assert not current, f"unfinished command: {current}"
    return found


def segments(command: str) -> list[list[str]]:
    """The simple commands of a command line, as words (split at |, && and ;, cut at a redirection)."""
    found: list[list[str]] = [[]]
    for word in shlex.split(command, comments=True):
        if word in ("|", "&&", ";"):
            found.append([])
        else:
            found[-1].append(word)
    return [words[: words.index(">")] if ">" in words else words for words in found if words]


def ids(pairs: list[tuple[str, str]]) -> list[str]:
    return [f"{page}: {' '.join(command.split())[:70]}" for page, command in pairs]


SHELL = [(rel(p), c) for p in [ROOT / "README.md", *PAGES] for b in blocks(p, "bash") for c in commands(b)]


# -- the site --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("mkdocs and mkdocs-material are not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    return out


def test_the_site_builds_strict_with_every_page(site: Path) -> None:
    for page in PAGES:
        name = rel(page)[len("docs/") : -len(".md")]
        html = site / ("index.html" if name == "index" else f"{name}/index.html")
        assert html.is_file(), f"{rel(page)} was not built"


def settings_table() -> str:
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    for field in describe_fields():
        default, meaning = json.dumps(field["default"]), field["help"].replace("|", "\\|")
        rows.append(f"| `{field['name']}` | `{default}` | {meaning} |")
    return "\n".join(rows)


def test_the_settings_page_is_every_setting_with_its_default() -> None:
    page = (DOCS / "reference" / "settings.md").read_text()
    start, end = "<!-- settings:start -->\n", "\n<!-- settings:end -->"
    shown = page[page.index(start) + len(start) : page.index(end)]
    table = settings_table()
    assert shown == table, f"docs/reference/settings.md's table is stale; paste:\n{table}"


def test_generated_reference_tables_are_on_their_pages(site: Path) -> None:
    cli = (site / "reference" / "cli" / "index.html").read_text()
    for command in ("validate", "schema", "generate", "serve", "contract"):
        assert f"usage: ideogram-kit {command}" in cli, command
    routes = (site / "reference" / "inspection" / "index.html").read_text()
    assert "<code>/_mock/requests</code>" in routes and "PATCH" in routes
    modules = (site / "architecture" / "index.html").read_text()
    for package, folder in (("ideogram_kit", "src/ideogram_kit"), ("ideogram_mock", "mock_server/ideogram_mock")):
        for path in (ROOT / folder).glob("*.py"):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            assert f"<td><code>{name}</code></td>" in modules, name


# -- what the pages show ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_python_and_js_blocks_include_files_the_suite_runs(page: Path) -> None:
    for language, folder in (("python", "examples/"), ("js", "tests/sdk_scripts/")):
        for body in blocks(page, language):
            included = SNIPPET.fullmatch(body.strip())
            assert included, f'{rel(page)}: a {language} block must be --8<-- "{folder}NAME", got:\n{body[:200]}'
            path = included.group(1)
            assert path.startswith(folder) and (ROOT / path).is_file(), path
            name = Path(path).name
            runners = [t for t in (ROOT / "tests").rglob("*.py") if t.name != "test_docs.py" and name in t.read_text()]
            assert runners, f"no test runs {path}"


@pytest.mark.parametrize(("page", "command"), SHELL, ids=ids(SHELL))
def test_files_named_by_shell_commands_are_shipped(page: str, command: str) -> None:
    for path in REPO_PATH.findall(command):
        assert sorted(ROOT.glob(path)), f"{page}: `{command}` names {path}, which is not in the repository"


KIT = [(p, c) for p, c in SHELL if any(words[0] == "ideogram-kit" for words in segments(c))]


@pytest.mark.parametrize(("page", "command"), KIT, ids=ids(KIT))
def test_ideogram_kit_commands_parse(page: str, command: str) -> None:
    for words in segments(command):
        if words[0] == "ideogram-kit":
            build_parser().parse_args(words[1:])  # exits 2 on an unknown option or command


OFFLINE = [(p, c) for p, c in SHELL if re.search(r"(^|[|&] *)ideogram-kit (validate|schema|generate)", c)]


@pytest.mark.parametrize(("page", "command"), OFFLINE, ids=ids(OFFLINE))
def test_offline_commands_run_as_pasted(page: str, command: str, tmp_path: Path) -> None:
    """validate, schema and generate commands run from the repository's root (``/tmp`` becomes a temporary folder)."""
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    line = command.replace("/tmp/", f"{tmp_path}/")
    done = subprocess.run(["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    fails = "exit 1" in command or "bad" in command or ("--strict" in command and "warnings.json" in command)
    assert done.returncode == (1 if fails else 0), f"{page}: {command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr


def cli_samples() -> Iterator[tuple[str, str, str]]:
    for page in PAGES:
        for body in blocks(page, "text"):
            for sample in re.split(r"^(?=\$ )", body, flags=re.MULTILINE):
                if sample.startswith("$ ideogram-kit "):
                    command, _, output = sample.partition("\n")
                    yield rel(page), command[2:], output


@pytest.mark.parametrize(("page", "command", "output"), list(cli_samples()), ids=lambda v: str(v)[:60])
def test_sample_output_is_what_the_cli_prints(page: str, command: str, output: str) -> None:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout == output, f"{page}: {command}"


def test_the_validation_guide_shows_the_cli_samples() -> None:
    assert len([s for s in cli_samples() if s[0] == "docs/guide/validation.md"]) == 4


@pytest.fixture(scope="module")
def live_mock() -> Iterator[BackgroundServer]:
    with BackgroundServer(MockConfig(port=0)) as server:
        yield server


CURL = [(p, c) for p, c in SHELL if c.startswith("curl ")]


@pytest.mark.parametrize(("page", "command"), CURL, ids=ids(CURL))
def test_curl_commands_get_json_from_a_live_mock(page: str, command: str, live_mock: BackgroundServer) -> None:
    """Each page's commands in order, on a mock reset when the page begins (as a reader would start it)."""
    if command == next(c for p, c in CURL if p == page):
        live_mock.engine.reset()
    line = command.replace("http://127.0.0.1:8000", live_mock.url.rstrip("/"))
    done = subprocess.run(["bash", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    body, _, trailer = done.stdout.partition("\nHTTP ")  # curl -w '\nHTTP %{http_code}\n'
    answer = json.loads(body)
    refused = isinstance(answer, dict) and answer.get("errors")
    assert not refused or "bad.json" in command, f"{page}: `{command}` was refused: {answer}"
    if trailer:
        assert trailer.strip() == ("400" if "bad.json" in command else "200")


def test_the_pytest_guide_and_home_show_the_readme_failure_report() -> None:
    """The report in the guide and on the home page is the README's (tests/test_plugin_pytester.py checks it)."""
    readme = (ROOT / "README.md").read_text()
    report = [b for lang, b in BLOCK.findall(readme) if lang == "text" and "test_too_strong" in b]
    for page in (DOCS / "guide" / "pytest.md", DOCS / "index.md"):
        assert len(report) == 1 and report[0] in blocks(page, "text"), rel(page)
        assert '--8<-- "examples/plugin_invalid_payload.py"' in page.read_text()


def test_the_guides_name_every_option_and_ini_key_of_the_plugin() -> None:
    source = (ROOT / "src" / "ideogram_kit" / "plugin.py").read_text()
    names = re.findall(r'addini\(\s*"(\w+)"', source) + re.findall(r'addoption\(\s*"(--[\w-]+)"', source)
    assert len(names) >= 8, names
    guides = "".join(p.read_text() for p in (DOCS / "guide").glob("*.md"))
    assert [n for n in names if f"`{n}" not in guides] == []


def test_the_architecture_drawing_names_every_module() -> None:
    [drawing] = [b for b in blocks(DOCS / "architecture.md", "text") if "schema/*.schema.json" in b]
    drawn = set(re.findall(r"[a-z_]+", drawing))
    for folder in (ROOT / "src" / "ideogram_kit", ROOT / "mock_server" / "ideogram_mock"):
        for path in folder.glob("*.py"):
            assert path.stem == "__init__" or path.stem in drawn, f"docs/architecture.md does not draw {path.stem}"


def test_the_performance_page_has_a_section_per_benchmark() -> None:
    headings = re.findall(r"^## .*`(bench/\w+\.py)`$", (DOCS / "performance.md").read_text(), re.MULTILINE)
    scripts = sorted(f"bench/{p.name}" for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_"))
    assert sorted(headings) == scripts


# -- the sample files --------------------------------------------------------------------------------


def test_the_sample_files_are_what_the_pages_say() -> None:
    def load(name: str) -> object:
        return json.loads((ROOT / "examples" / name).read_text())

    for name in ("payload.json", "docs-example.json", "tasks/anime.json", "tasks/watercolor-png.json"):
        result = validate(load(name))
        assert (result, list(result.warnings)) == ([], []), name
    lines = (ROOT / "examples" / "fixtures.jsonl").read_text().splitlines()
    assert len(lines) >= 2 and all(validate(json.loads(line)) == [] for line in lines)
    [error] = validate(load("bad.json"))
    assert (error.code, error.parameter) == ("invalidRemixStrength", "providerSettings.ideogram.remixStrength")
    warned = validate(load("warnings.json"))
    assert warned == [] and [w.code for w in warned.warnings] == ["ineffectiveParameter", "deprecatedParameter"]
    with pytest.raises(json.JSONDecodeError):
        load("truncated.json")
    config = MockConfig.from_file(ROOT / "examples" / "mock.toml")
    assert (config.seed, config.latency_min, config.latency_max, config.rate_limit) == (7, 0.2, 1.5, 20)


def test_node_commands_copy_the_scripts_the_suite_runs() -> None:
    guide = (DOCS / "guide" / "other-languages.md").read_text()
    versions = re.findall(r"npm install --no-save ([^&]+?) &&", guide)
    npm_env = (ROOT / "tests" / "npm_env.py").read_text()
    assert len(versions) == 2
    for package in " ".join(versions).split():
        assert f'"{package}"' in npm_env, f"{package} is not the version tests/npm_env.py installs"
