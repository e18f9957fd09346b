"""The mock server's settings: one dataclass, :class:`MockConfig`, with documented defaults.

Every field carries its help text in ``metadata["help"]``; the CLI, the README's table and
``GET /openapi.json`` read it from there. A config comes from keyword arguments, a mapping
(:meth:`MockConfig.from_mapping`, used for ``PATCH /_mock/config``), or a JSON or TOML file
(:meth:`MockConfig.from_file`), always with unknown keys and wrong types rejected.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["REQUEST_FAILURE_CODES", "WEBHOOK_BODIES", "ConfigError", "MockConfig", "describe_fields"]


class ConfigError(ValueError):
    """A config file or mapping has an unknown key or a value of the wrong type or range."""


def _opt(default: Any, help: str, **kwargs: Any) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help, **kwargs})
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass(frozen=True)
class MockConfig:
    """Settings of one mock server. Immutable; use :meth:`replace` to derive a changed copy."""

    host: str = _opt("127.0.0.1", "address `ideogram-kit serve` binds (loopback by default)")
    port: int = _opt(8000, "port `ideogram-kit serve` binds; 0 picks a free one")
    http: str = _opt(
        "auto", "HTTP/1.1 parser, read at start-up: auto (httptools with uvloop when installed), httptools or h11"
    )
    seed: int = _opt(0, "seeds images, result seeds and the fault plan: same seed, same run")
    public_base_url: str | None = _opt(
        None, "base of imageURL (e.g. https://images.test); default: the scheme and Host of each request"
    )
    api_keys: tuple[str, ...] = _opt((), "API keys accepted; empty accepts any non-empty key")
    rejected_api_key: str = _opt("invalid", "API key that is always rejected with 401 invalidApiKey")
    max_body_bytes: int = _opt(20 * 1024 * 1024, "largest request body; larger gives 413 payloadTooLarge")
    max_tasks_per_request: int = _opt(
        100, "most tasks in one request or WebSocket frame; more gives 413 payloadTooLarge"
    )
    max_images_per_request: int = _opt(
        200, "most images (numberResults summed over valid tasks) one request or frame asks for; more gives 413"
    )
    max_json_depth: int = _opt(
        64, "deepest nesting of arrays and objects in a body or frame; deeper gives 400 invalidRequestBody"
    )
    require_json_content_type: bool = _opt(
        True,
        "a POST /v1 declaring a Content-Type other than application/json (or a +json type) gets 415 "
        "unsupportedMediaType; a request without one is read as JSON",
    )
    latency_min: float = _opt(0.0, "seconds a task takes at least (drawn per task, uniformly)")
    latency_max: float = _opt(0.0, "seconds a task takes at most; images of a task finish evenly spread")
    failure_rate: float = _opt(0.0, "probability a task fails with providerError (500 when alone)")
    timeout_rate: float = _opt(0.0, "probability a task fails with timeoutProvider (504 when alone)")
    nsfw_rate: float = _opt(0.0, "probability an image is flagged NSFWContent: true (when safety is on)")
    webhook_drop_rate: float = _opt(0.0, "probability a webhook POST is silently dropped (recorded as dropped)")
    request_failure_rate: float = _opt(
        0.0, "probability a POST /v1 or WebSocket frame is refused whole with request_failure_code (seeded)"
    )
    request_failure_code: str = _opt(
        "serviceUnavailable",
        "what a refused request gets: insufficientCredits (402), forbidden (403), rateLimitExceeded (429), "
        "serviceUnavailable (503) or queueTimeout (504)",
    )
    rate_limit: int = _opt(0, "requests to /v1 allowed per rate_window; 0 disables; over it: 429 + Retry-After")
    rate_window: float = _opt(1.0, "length of the rate-limit window in seconds")
    retention: float = _opt(300.0, "seconds a finished task stays pollable with getResponse")
    max_tasks: int = _opt(10_000, "most tasks remembered; the oldest finished ones are forgotten first")
    max_result_bytes: int = _opt(
        256 * 1024 * 1024,
        "budget of the base64 image data kept in remembered results; past it the oldest finished tasks are "
        "forgotten first",
    )
    image_ttl: float = _opt(3600.0, "seconds an image URL serves when the task sets no ttl")
    max_images: int = _opt(10_000, "most image URLs remembered; the oldest are forgotten first")
    image_cache_bytes: int = _opt(64 * 1024 * 1024, "budget of the encoded-image cache")
    cost_per_image: float = _opt(0.0013, "USD reported as cost per image when includeCost is true")
    delivery_attempts: int = _opt(4, "attempts per webhook POST or upload PUT (1 = no retry)")
    delivery_base_delay: float = _opt(0.25, "seconds before the first retry; doubles each retry (Runware: 250 ms)")
    delivery_max_delay: float = _opt(8.0, "longest wait between two attempts (Runware: capped at 8 s)")
    delivery_jitter: float = _opt(
        0.2, "each wait is scaled by a seeded random factor in [1 - jitter, 1 + jitter] (0 = exact doubling)"
    )
    webhook_body: str = _opt(
        "flat",
        "shape of a webhook POST body: flat (the result or error object itself, as Runware's own skills repo says) "
        'or data ({"data": [result]} / {"errors": [error]}, as a third-party integration parses)',
    )
    delivery_timeout: float = _opt(10.0, "seconds one webhook or upload attempt may take")
    delivery_concurrency: int = _opt(64, "webhook and upload attempts in flight at once; the rest wait their turn")
    delivery_per_host: int = _opt(
        8, "attempts in flight at once to one host, so a hanging receiver cannot stall others"
    )
    allowed_origins: tuple[str, ...] = _opt(
        (), "web page origins (e.g. https://app.example) that may call the mock besides loopback ones; * allows any"
    )
    allowed_hosts: tuple[str, ...] = _opt(
        (), "Host names the mock answers besides loopback names, its bound address and public_base_url's; * any"
    )
    outbound_allow: tuple[str, ...] = _opt(
        (), "hosts (or host:port) webhooks and uploads may reach besides loopback; all else is refused"
    )
    request_log_size: int = _opt(1000, "received requests kept for GET /_mock/requests")
    request_log_bytes: int = _opt(
        64 * 1024 * 1024, "budget of the request log (bodies as kept, answers estimated); oldest entries go first"
    )
    delivery_log_size: int = _opt(1000, "delivery attempts kept for GET /_mock/deliveries")
    shutdown_grace: float = _opt(
        5.0, "seconds open requests, running tasks and deliveries get to finish on shutdown; then they are cancelled"
    )
    header_timeout: float = _opt(
        10.0, "seconds a connection may take to send a request's headers (idle ones too); then 408 or closed"
    )
    body_timeout: float = _opt(30.0, "seconds a request's body may take to arrive; then 408 requestTimeout, closed")
    fidelity_file: str | None = _opt(
        None, "a recording of ideogram-kit contract --record: answer the mistakes it covers as that target did"
    )
    ws_idle_timeout: float = _opt(
        120.0, "seconds a WebSocket may go without a client frame before the mock closes it (code 1000)"
    )
    ws_resume_retention: float = _opt(
        120.0, "seconds a dropped WebSocket session keeps its undelivered results for a resuming client"
    )
    ws_resume_bytes: int = _opt(
        64 * 1024 * 1024, "most bytes of undelivered frames kept across dropped sessions; oldest dropped first"
    )
    ws_max_frame_bytes: int = _opt(
        20 * 1024 * 1024, "largest WebSocket frame; larger gives a payloadTooLarge error frame, the socket stays open"
    )
    ws_max_sockets: int = _opt(1000, "most WebSocket connections open at once; more are closed with code 1013")

    def __post_init__(self) -> None:
        if self.latency_max == 0.0 and self.latency_min > 0.0:  # only a minimum given: the maximum follows it
            object.__setattr__(self, "latency_max", self.latency_min)
        _check(self)

    def replace(self, **changes: Any) -> MockConfig:
        """A copy with ``changes`` applied (checked like :meth:`from_mapping`)."""
        return self.from_mapping(changes, base=self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (tuples as lists)."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in _fields()}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], base: MockConfig | None = None) -> MockConfig:
        """A config from ``values`` (camelCase or snake_case keys) over ``base`` (default: defaults)."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"config must be an object of settings, got {type(values).__name__}")
        known = {f.name: f for f in _fields()}
        aliases = {_camel(name): name for name in known}
        changes: dict[str, Any] = {}
        for key, value in values.items():
            name = key if key in known else aliases.get(str(key))
            if name is None:
                raise ConfigError(f"unknown setting {key!r}; known: {', '.join(known)}")
            changes[name] = _coerce(known[name], value)
        base = base or cls()
        if "latency_max" not in changes and changes.get("latency_min", 0.0) > base.latency_max:
            changes["latency_max"] = changes["latency_min"]  # only a minimum given: the maximum follows it
        return dataclasses.replace(base, **changes)

    @classmethod
    def from_file(cls, path: str | Path, base: MockConfig | None = None) -> MockConfig:
        """A config read from a JSON or TOML file (by extension; a ``[mock]`` table is used if present)."""
        path = Path(path)
        text = path.read_text("utf-8")
        data: Any
        if path.suffix.lower() == ".toml":
            data = _load_toml(text, path)
        else:
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise ConfigError(f"{path}: invalid JSON: {exc}") from None
        try:
            return cls.from_mapping(data, base)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None


def _load_toml(text: str, path: Path) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        try:
            data: dict[str, Any] = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        return data.get("mock", data)
    raise ConfigError("TOML config files need Python 3.11+; use JSON")  # pragma: no cover


def describe_fields() -> list[dict[str, Any]]:
    """Name, type, default and help of every setting, in declaration order."""
    default = MockConfig().to_dict()
    return [
        {"name": f.name, "type": str(f.type), "default": default[f.name], "help": f.metadata["help"]} for f in _fields()
    ]


def _fields() -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(MockConfig)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _coerce(f: dataclasses.Field[Any], value: Any) -> Any:
    kind = str(f.type)
    if kind == "tuple[str, ...]":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{f.name} must be a list of strings")
        return tuple(value)
    if kind == "str | None":
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{f.name} must be a string or null")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{f.name} must be a string")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{f.name} must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{f.name} must be a number")
    if kind == "int":
        if isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{f.name} must be an integer")
        return int(value)
    return float(value)


_RATES = ("failure_rate", "timeout_rate", "nsfw_rate", "webhook_drop_rate", "request_failure_rate", "delivery_jitter")
#: The codes request_failure_code may name (request-level faults with their documented statuses).
REQUEST_FAILURE_CODES = ("insufficientCredits", "forbidden", "rateLimitExceeded", "serviceUnavailable", "queueTimeout")
WEBHOOK_BODIES = ("flat", "data")
HTTP_PARSERS = ("auto", "httptools", "h11")
_NON_NEGATIVE = (
    "latency_min", "latency_max", "rate_limit", "retention", "max_body_bytes", "image_ttl",
    "image_cache_bytes", "cost_per_image", "delivery_base_delay", "delivery_max_delay", "shutdown_grace", "seed",
    "ws_resume_retention", "ws_resume_bytes",
)  # fmt: skip
_POSITIVE = ("rate_window", "max_tasks", "max_images", "delivery_attempts", "delivery_timeout",
             "request_log_size", "delivery_log_size", "ws_idle_timeout", "ws_max_frame_bytes",
             "ws_max_sockets", "delivery_concurrency", "delivery_per_host", "max_tasks_per_request",
             "max_images_per_request", "max_json_depth", "max_result_bytes", "request_log_bytes",
             "header_timeout", "body_timeout")  # fmt: skip


def _check(config: MockConfig) -> None:
    for name in _RATES:
        value = getattr(config, name)
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{name} must be between 0 and 1, got {value}")
    for name in _NON_NEGATIVE:
        value = getattr(config, name)
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"{name} must be a finite number >= 0, got {value}")
    for name in _POSITIVE:
        value = getattr(config, name)
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{name} must be > 0, got {value}")
    if config.request_failure_code not in REQUEST_FAILURE_CODES:
        allowed = ", ".join(REQUEST_FAILURE_CODES)
        raise ConfigError(f"request_failure_code must be one of {allowed}, got {config.request_failure_code!r}")
    if config.http not in HTTP_PARSERS:
        raise ConfigError(f"http must be one of {', '.join(HTTP_PARSERS)}, got {config.http!r}")
    if config.webhook_body not in WEBHOOK_BODIES:
        raise ConfigError(f"webhook_body must be flat or data, got {config.webhook_body!r}")
    if config.failure_rate + config.timeout_rate > 1.0:
        raise ConfigError("failure_rate + timeout_rate must not exceed 1")
    if config.latency_max < config.latency_min:
        raise ConfigError(f"latency_max ({config.latency_max}) must be >= latency_min ({config.latency_min})")
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"port must be 0..65535, got {config.port}")
    if config.public_base_url is not None and not config.public_base_url.startswith(("http://", "https://")):
        raise ConfigError("public_base_url must start with http:// or https://")
