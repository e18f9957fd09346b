"""The ``ideogram-kit`` command line: ``validate``, ``schema``, ``generate``, ``serve``.

Exit codes of ``validate``: 0 every payload valid, 1 some payload invalid, 2 an input could
not be read or is not JSON (the worst case wins). No command prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import copy
import errno
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from . import schemas
from .errors import TaskError
from .payloads import JSONInputError, parse_json
from .validation import validate

__all__ = ["main"]

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


# ---------------------------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------------------------


@dataclass
class _Checked:
    """What validating one input (a file, or one line of a JSON-lines file) found."""

    name: str
    line: int | None = None
    errors: list[TaskError] = field(default_factory=list)
    read_error: JSONInputError | OSError | None = None
    warnings: tuple[TaskError, ...] = ()
    strict: bool = False

    @property
    def status(self) -> int:
        if self.read_error is not None:
            return EXIT_UNREADABLE
        return EXIT_INVALID if self.errors or (self.strict and self.warnings) else EXIT_OK


def _checked(label: str, payload: Any, line: int | None, strict: bool) -> _Checked:
    result = validate(payload)
    return _Checked(label, line, errors=list(result), warnings=result.warnings, strict=strict)


def _read(name: str, stdin: Any) -> bytes:
    if name == "-":
        data: bytes = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
        return data
    return Path(name).read_bytes()


def _check_input(name: str, jsonl: bool, stdin: Any, strict: bool = False) -> list[_Checked]:
    label = "<stdin>" if name == "-" else name
    try:
        data = _read(name, stdin)
    except OSError as exc:
        return [_Checked(label, read_error=OSError(exc.strerror or str(exc)))]
    if not (jsonl or name.endswith((".jsonl", ".ndjson"))):
        try:
            return [_checked(label, parse_json(data), None, strict)]
        except JSONInputError as exc:
            return [_Checked(label, read_error=exc)]
    results = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            results.append(_checked(label, parse_json(raw), number, strict))
        except JSONInputError as exc:
            col = exc.column
            results.append(_Checked(label, number, read_error=JSONInputError(exc.message, number, col)))
    if not results:
        results.append(_Checked(label, read_error=JSONInputError("empty input: no JSON lines")))
    return results


def _where(err: TaskError) -> str:
    parts = []
    if err.task_index is not None:
        parts.append(f"task {err.task_index}")
    if err.task_uuid:
        parts.append(f"({err.task_uuid})")
    return " ".join(parts)


def _label(item: _Checked) -> str:
    return f"{item.name}:{item.line}" if item.line is not None else item.name


def _emit_text(items: list[_Checked], out: TextIO) -> None:
    invalid = unreadable = n_errors = n_warnings = 0
    for item in items:
        if item.read_error is not None:
            unreadable += 1
            exc = item.read_error
            if isinstance(exc, JSONInputError) and exc.line is not None:
                out.write(f"{item.name}:{exc.line}:{exc.column}: error: {exc.message}\n")
            else:
                message = exc.message if isinstance(exc, JSONInputError) else str(exc)
                out.write(f"{_label(item)}: error: {message}\n")
            continue
        n_warnings += len(item.warnings)
        for err in [*item.errors, *item.warnings]:
            where = _where(err)
            location = f"{_label(item)}: {where + ': ' if where else ''}"
            param = f"{err.parameter}: " if err.parameter else ""
            hint = f" (hint: {err.hint})" if err.hint else ""
            severity = "warning: " if err.is_warning else ""
            out.write(f"{location}{severity}{param}{err.message} [{err.code}]{hint}\n")
        if item.status == EXIT_OK:
            out.write(f"{_label(item)}: ok\n")
            continue
        invalid += 1
        n_errors += len(item.errors)
    total = len(items)
    summary = f"{total} payload{'s' if total != 1 else ''} checked: {total - invalid - unreadable} valid"
    strict = any(item.strict for item in items)
    warned = f"{n_warnings} warning{'s' if n_warnings != 1 else ''}"
    if invalid:
        counts = [f"{n_errors} error{'s' if n_errors != 1 else ''}"] if n_errors or not strict else []
        if strict and n_warnings:
            counts.append(f"{warned}, --strict")
        summary += f", {invalid} invalid ({', '.join(counts)})"
    if unreadable:
        summary += f", {unreadable} unreadable"
    if n_warnings and not strict:
        summary += f"; {warned}"
    out.write(summary + "\n")


def _emit_json(items: list[_Checked], out: TextIO) -> None:
    report = []
    for item in items:
        entry: dict[str, Any] = {"file": item.name, "valid": item.status == EXIT_OK}
        if item.line is not None:
            entry["line"] = item.line
        if item.read_error is not None:
            exc = item.read_error
            entry["readError"] = {
                "message": exc.message if isinstance(exc, JSONInputError) else str(exc),
                "line": getattr(exc, "line", None),
                "column": getattr(exc, "column", None),
            }
        entry["errors"] = [{**e.to_dict(), "taskIndex": e.task_index} for e in item.errors]
        entry["warnings"] = [{**e.to_dict(), "taskIndex": e.task_index} for e in item.warnings]
        report.append(entry)
    worst = max((i.status for i in items), default=EXIT_OK)
    json.dump({"valid": worst == EXIT_OK, "results": report}, out, indent=2, ensure_ascii=False)
    out.write("\n")


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _emit_github(items: list[_Checked], out: TextIO) -> None:
    for item in items:
        props = [f"file={_gh_escape(item.name, True)}"]
        if item.read_error is not None:
            exc = item.read_error
            line = getattr(exc, "line", None) or item.line
            if line is not None:
                props.append(f"line={line}")
            column = getattr(exc, "column", None)
            if column is not None:
                props.append(f"col={column}")
            message = exc.message if isinstance(exc, JSONInputError) else str(exc)
            props.append("title=unreadable payload")
            out.write(f"::error {','.join(props)}::{_gh_escape(message)}\n")
            continue
        if item.line is not None:
            props.append(f"line={item.line}")
        for err in [*item.errors, *item.warnings]:
            title = f"{err.code} {err.parameter or ''}".strip()
            where = _where(err)
            hint = f" (hint: {err.hint})" if err.hint else ""
            text = f"{where + ': ' if where else ''}{err.message}{hint}"
            title_prop = f"title={_gh_escape(title, True)}"
            level = "warning" if err.is_warning and not item.strict else "error"
            out.write(f"::{level} {','.join([*props, title_prop])}::{_gh_escape(text)}\n")


def _cmd_validate(args: argparse.Namespace, stdin: Any, out: TextIO) -> int:
    items: list[_Checked] = []
    for name in args.files:
        items.extend(_check_input(name, args.jsonl, stdin, args.strict))
    {"text": _emit_text, "json": _emit_json, "github": _emit_github}[args.format](items, out)
    return max((i.status for i in items), default=EXIT_OK)


# ---------------------------------------------------------------------------------------------
# schema
# ---------------------------------------------------------------------------------------------


def bundle(name: str) -> dict[str, Any]:
    """Document ``name`` with every other bundled document embedded under ``$defs``.

    The result stands alone: any JSON Schema 2020-12 tool resolves its ``$ref``s offline.
    """
    doc = copy.deepcopy(schemas.load(name))
    defs = doc.setdefault("$defs", {})
    for other in schemas.DOCUMENTS:
        if other != name:
            defs[f"bundled:{other}"] = copy.deepcopy(schemas.load(other))
    return doc


def _cmd_schema(args: argparse.Namespace, stdin: Any, out: TextIO) -> int:
    if args.list:
        for name, filename in schemas.DOCUMENTS.items():
            title = schemas.load(name).get("title", "")
            out.write(f"{name:16} {filename:30} {title}\n")
        return EXIT_OK
    doc = schemas.load(args.name) if args.raw else bundle(args.name)
    json.dump(doc, out, indent=2, ensure_ascii=False)
    out.write("\n")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# serve
# ---------------------------------------------------------------------------------------------


def _cmd_serve(args: argparse.Namespace, stdin: Any, out: TextIO) -> int:
    from ideogram_mock.config import ConfigError, MockConfig  # lazy: keeps `validate` fast
    from ideogram_mock.server import serve

    changes: dict[str, Any] = {}
    for flag, name in (("host", "host"), ("port", "port"), ("seed", "seed"), ("failure_rate", "failure_rate"),
                       ("timeout_rate", "timeout_rate"), ("webhook_drop_rate", "webhook_drop_rate"),
                       ("retention", "retention"), ("public_url", "public_base_url"), ("http", "http")):  # fmt: skip
        if getattr(args, flag) is not None:
            changes[name] = getattr(args, flag)
    if args.api_key:
        changes["api_keys"] = tuple(args.api_key)
    if args.allow_host:
        changes["outbound_allow"] = tuple(args.allow_host)
    if args.fidelity:
        changes["fidelity_file"] = args.fidelity
    err = sys.stderr
    try:
        if args.latency is not None:
            low, _, high = args.latency.partition(":")
            try:
                changes["latency_min"], changes["latency_max"] = float(low), float(high or low)
            except ValueError:
                raise ValueError(f"--latency takes SECONDS or MIN:MAX seconds, got {args.latency!r}") from None
        if args.rate_limit is not None:
            count, _, window = args.rate_limit.partition("/")
            try:
                changes["rate_limit"] = int(count)
                if window:
                    changes["rate_window"] = float(window)
            except ValueError:
                raise ValueError(f"--rate-limit takes N or N/SECONDS, got {args.rate_limit!r}") from None
        config = MockConfig.from_file(args.config) if args.config else MockConfig()
        config = config.replace(**changes)
        if config.fidelity_file is not None:
            from ideogram_mock.fidelity import load as load_fidelity

            load_fidelity(config.fidelity_file)  # a bad file is one line here, not a traceback later
    except (ConfigError, ValueError, OSError) as exc:
        err.write(f"ideogram-kit serve: error: {exc}\n")
        return EXIT_UNREADABLE
    try:
        return serve(config, out=out, log_level=args.log_level)
    except OSError as exc:  # the address cannot be bound: in use, or not this machine's
        where = f"{config.host}:{config.port}"
        reason = exc.strerror or str(exc)
        hint = " (pass --port N, or --port 0 for a free one)" if exc.errno == errno.EADDRINUSE else ""
        err.write(f"ideogram-kit serve: error: cannot listen on {where}: {reason}{hint}\n")
        return EXIT_UNREADABLE


# ---------------------------------------------------------------------------------------------
# contract
# ---------------------------------------------------------------------------------------------


def _cmd_contract(args: argparse.Namespace, stdin: Any, out: TextIO) -> int:
    from . import contract

    err = sys.stderr
    api_key = args.api_key or os.environ.get("RUNWARE_API_KEY")
    if not api_key:
        err.write("ideogram-kit contract: error: no API key: pass --api-key KEY or set RUNWARE_API_KEY\n")
        return EXIT_UNREADABLE
    case_list = contract.cases(spend=args.spend)
    billable = sum(1 for c in case_list if c.billable)
    err.write(
        f"ideogram-kit contract: {len(case_list)} requests to {args.base_url} over {args.transport}, "
        f"{billable} billable{' (--spend)' if billable else ': every task fails validation, nothing is run'}\n"
    )
    err.flush()
    try:
        outcomes = contract.run(
            case_list, base_url=args.base_url, api_key=api_key, transport=args.transport, delay=args.delay,
            backoff=args.backoff, time_limit=args.time_limit,
        )  # fmt: skip
    except contract.ContractAborted as exc:
        err.write(f"ideogram-kit contract: error: {exc}\n")
        return EXIT_UNREADABLE
    if args.record:
        contract.record(outcomes, args.base_url, args.record)
        err.write(f"ideogram-kit contract: recorded the target's answers in {args.record}\n")
    render = {"text": contract.report_text, "json": contract.report_json, "github": contract.report_github}
    out.write(render[args.format](outcomes, args.base_url))
    return EXIT_OK if all(o.agrees for o in outcomes) else EXIT_INVALID


# ---------------------------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _sample_quietly(sample: Any, strategy: Any, n: int, seed: int) -> list[Any]:
    """``sample(...)`` with hypothesis' cache in a temporary directory, not ``./.hypothesis``."""
    import os
    import tempfile

    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return list(sample(strategy, n, seed=seed))
    with tempfile.TemporaryDirectory(prefix="ideogram-kit-") as tmp:
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = tmp
        try:
            return list(sample(strategy, n, seed=seed))
        finally:
            del os.environ["HYPOTHESIS_STORAGE_DIRECTORY"]


def _cmd_generate(args: argparse.Namespace, stdin: Any, out: TextIO) -> int:
    import random

    from hypothesis.errors import InvalidArgument

    from . import strategies  # lazy: only this command needs hypothesis

    def fail(message: str) -> int:
        sys.stderr.write(f"ideogram-kit generate: error: {message}\n")
        return EXIT_UNREADABLE

    if (args.parameter or args.code or args.kind) and not args.invalid:
        return fail("--parameter, --code and --kind select invalid cases; add --invalid")
    if args.payload_only and not args.invalid:
        return fail("--payload-only strips the labels of invalid cases; add --invalid")
    seed = args.seed
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
        sys.stderr.write(f"ideogram-kit generate: seed {seed} (pass --seed {seed} to repeat)\n")
    try:
        if args.invalid:
            strategy: Any = strategies.invalid_tasks(parameter=args.parameter, code=args.code, kind=args.kind)
        else:
            strategy = strategies.valid_tasks()
    except InvalidArgument as exc:
        return fail(str(exc))
    directory = Path(args.out) if args.out else None
    if directory is not None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return fail(f"cannot create {directory}: {exc.strerror or exc}")
    docs: list[Any] = []
    for example in _sample_quietly(strategies.sample, strategy, args.n, seed):
        if isinstance(example, strategies.InvalidCase):
            docs.append(example.payload if args.payload_only else example.to_dict())
        else:
            docs.append(example)
    if directory is None:
        for doc in docs:
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        return EXIT_OK
    width = max(4, len(str(len(docs))))
    try:
        for number, doc in enumerate(docs, start=1):
            path = directory / f"{number:0{width}d}.json"
            path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        return fail(f"cannot write to {directory}: {exc.strerror or exc}")
    out.write(f"wrote {len(docs)} payload{'s' if len(docs) != 1 else ''} to {directory}\n")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# the parser
# ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ideogram-kit",
        description="Test kit for Runware's Ideogram 1.0 Remix (ideogram:1@2).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "validate",
        help="validate payload files against the ideogram:1@2 schema",
        description="Validate task or request payloads. Exit 0: all valid; 1: some invalid; 2: unreadable or not JSON.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="JSON file (a task or a request array); - reads stdin")
    p.add_argument("--format", choices=("text", "json", "github"), default="text", help="output format (default: text)")
    p.add_argument("--jsonl", action="store_true", help="read each line as one payload (automatic for .jsonl/.ndjson)")
    p.add_argument(
        "--strict", action="store_true",
        help="exit 1 on warnings too (checkNSFW, ttl without URL output, safety.mode full: accepted by Runware)",
    )  # fmt: skip
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser(
        "schema",
        help="print a bundled JSON Schema",
        description="Print a schema document, bundled with everything it references (standalone) unless --raw.",
    )
    p.add_argument(
        "name", nargs="?", default="request", choices=list(schemas.DOCUMENTS), help="document (default: request)"
    )
    p.add_argument("--raw", action="store_true", help="print the file as shipped, with cross-file $refs")
    p.add_argument("--list", action="store_true", help="list the documents")
    p.set_defaults(handler=_cmd_schema)

    p = sub.add_parser(
        "serve",
        help="run the mock Runware endpoint (POST /v1) on this machine",
        description=(
            "Serve a mock of Runware's API for ideogram:1@2: POST /v1, ws://HOST:PORT/v1, the dashboard at /, "
            "inspection under /_mock/. Flags override --config; Ctrl+C stops."
        ),
    )
    p.add_argument("--host", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to bind (default: 8000; 0 picks a free one)")
    p.add_argument("--seed", type=int, help="seed of images and faults (default: 0)")
    p.add_argument("--latency", metavar="SECONDS[:MAX]", help="simulated task time, fixed or uniform MIN:MAX")
    p.add_argument("--failure-rate", type=float, metavar="P", help="probability a task fails (providerError)")
    p.add_argument("--timeout-rate", type=float, metavar="P", help="probability a task times out (timeoutProvider)")
    p.add_argument("--webhook-drop-rate", type=float, metavar="P", help="probability a webhook is dropped")
    p.add_argument("--rate-limit", metavar="N[/SECONDS]", help="allow N requests per window (default window 1 s)")
    p.add_argument("--retention", type=float, metavar="SECONDS", help="how long finished tasks stay pollable")
    p.add_argument("--api-key", action="append", metavar="KEY", help="accept only this key (repeatable)")
    p.add_argument("--allow-host", action="append", metavar="HOST", help="allow webhooks/uploads to HOST (repeatable)")
    p.add_argument("--public-url", metavar="URL", help="base of imageURL (default: from each request's Host)")
    p.add_argument("--http", choices=("auto", "httptools", "h11"),
                   help="HTTP/1.1 parser (default: auto, httptools with uvloop when installed)")  # fmt: skip
    p.add_argument("--config", metavar="FILE", help="settings file (JSON or TOML)")
    p.add_argument("--fidelity", metavar="FILE", help="answer as a target did: a recording of contract --record")
    p.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"),
                   help="uvicorn log level (default: warning)")  # fmt: skip
    p.set_defaults(handler=_cmd_serve)

    p = sub.add_parser(
        "generate",
        help="write generated payloads (valid, or invalid with their label)",
        description=(
            "Write N imageInference payloads drawn from the kit's hypothesis strategies, the same ones for the "
            "same --seed: JSON lines on stdout, or one file per payload with --out. Invalid cases are written "
            "as {payload, parameter, code, reason} unless --payload-only."
        ),
    )
    p.add_argument("--invalid", action="store_true", help="write labelled invalid tasks (one mistake each)")
    p.add_argument("-n", "--count", dest="n", type=_positive_int, default=10, metavar="N", help="how many (default 10)")
    p.add_argument("--seed", type=int, help="seed; the same seed gives the same bytes (default: random, printed)")
    p.add_argument("--out", metavar="DIR", help="write DIR/0001.json, ... instead of JSON lines on stdout")
    p.add_argument("--payload-only", action="store_true", help="with --invalid: write bare payloads, no label")
    p.add_argument("--parameter", metavar="PATH", help="with --invalid: only mistakes in this parameter")
    p.add_argument("--code", metavar="CODE", help="with --invalid: only cases with this Runware code (invalidWidth)")
    p.add_argument("--kind", metavar="KIND", help="with --invalid: only this kind of mistake (outOfRange, invalidType)")
    p.set_defaults(handler=_cmd_generate)

    p = sub.add_parser(
        "contract",
        help="check the mock against a real target (Runware's API by default) with free, invalid tasks",
        description=(
            "Send the kit's labelled invalid cases (never run, so never billed) to a target and the same to the "
            "mock, and compare status, error code, parameter, fields and message pattern. Exit 0: all agree; "
            "1: some differ; 2: unreachable target, refused key or time limit."
        ),
    )
    p.add_argument("--base-url", default="https://api.runware.ai/v1", help="the target's REST endpoint")
    p.add_argument("--api-key", help="the target's API key (default: the RUNWARE_API_KEY environment variable)")
    p.add_argument("--transport", choices=("rest", "ws"), default="rest", help="REST (default) or WebSocket")
    p.add_argument("--spend", type=int, default=0, metavar="N", help="also send N valid, billable tasks (default 0)")
    p.add_argument("--delay", type=float, default=0.5, metavar="SECONDS", help="between requests (default 0.5)")
    p.add_argument("--backoff", type=float, default=1.0, metavar="SECONDS", help="first wait after a 429/5xx")
    p.add_argument("--time-limit", type=float, default=300.0, metavar="SECONDS", help="for the whole run")
    p.add_argument("--format", choices=("text", "json", "github"), default="text", help="report format")
    p.add_argument("--record", metavar="FILE", help="save the target's answers (no key) for serve --fidelity")
    p.set_defaults(handler=_cmd_contract)

    # further subcommands register here
    return parser


def main(argv: Sequence[str] | None = None, stdin: Any = None, stdout: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0].startswith("-") and words[0] not in ("-h", "--help"):
        # `ideogram-kit --port 0 serve`: name the option, not "invalid choice: '0'" or a missing COMMAND
        parser.error(f"unrecognized arguments: {words[0]} (options go after the COMMAND: ideogram-kit COMMAND ...)")
    args = parser.parse_args(words)
    if args.command is None:
        parser.error("a COMMAND is required (validate, schema, generate, serve or contract; see --help)")
    out = stdout or sys.stdout
    try:
        code: int = args.handler(args, stdin or sys.stdin, out)
    except BrokenPipeError:  # pragma: no cover - e.g. `| head`
        return EXIT_OK
    except KeyboardInterrupt:  # pragma: no cover
        return 130
    out.flush()
    return code
