"""Compile a JSON Schema (the subset the kit's schemas use) into one fast Python predicate.

The validator answers "is this payload valid?" with the compiled predicate and only runs
jsonschema's full ``iter_errors`` when the answer is no, to build the report. The predicate
must agree with jsonschema on every instance; ``tests/test_compiler.py`` checks that
differentially. A keyword the compiler does not know raises :class:`Unsupported` at compile
time, and callers fall back to jsonschema's own ``is_valid``: a schema edit can make
validation slower, never wrong.

The generated code is plain Python source (like fastjsonschema's): one function per
``$ref`` target and per ``anyOf``/``oneOf``/``if`` branch, every other keyword inlined.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import referencing

__all__ = ["FAST_PATTERNS", "Unsupported", "compile_predicate"]

Predicate = Callable[[Any], bool]

#: Keywords that never affect validity (annotations and containers handled elsewhere).
_IGNORED = frozenset(
    {
        "$schema", "$id", "$defs", "$comment", "$anchor", "title", "description", "default",
        "examples", "format", "readOnly", "writeOnly", "deprecated", "contentEncoding",
        "contentMediaType", "else", "then",
    }
)  # fmt: skip
_OBJECT_KW = ("required", "properties", "additionalProperties", "dependentSchemas",
              "dependentRequired", "minProperties", "maxProperties")  # fmt: skip
_ARRAY_KW = ("items", "minItems", "maxItems")
_STRING_KW = ("minLength", "maxLength", "pattern")
_NUMBER_KW = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_OTHER_KW = ("type", "enum", "const", "$ref", "allOf", "anyOf", "oneOf", "not", "if")
_KNOWN = frozenset(_OBJECT_KW + _ARRAY_KW + _STRING_KW + _NUMBER_KW + _OTHER_KW)

_TYPE_TESTS = {
    "object": "{v}.__class__ is dict",
    "array": "{v}.__class__ is list",
    "string": "{v}.__class__ is str",
    "boolean": "{v}.__class__ is bool",
    "null": "{v} is None",
    "number": "({v}.__class__ is int or {v}.__class__ is float)",
    "integer": "({v}.__class__ is int or ({v}.__class__ is float and {v}.is_integer()))",
}
_GROUP_TYPE = {"object": _OBJECT_KW, "array": _ARRAY_KW, "string": _STRING_KW, "number": _NUMBER_KW}


_B64_RUN = re.compile(r"[A-Za-z0-9+/]+")
_DATA_URI_HEAD = re.compile(r"data:image/[A-Za-z0-9.+-]+;base64,")


def _base64_from(value: str, start: int) -> bool:
    """``value[start:]`` matches ``(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$``.

    The same answer as the regular expression (``$`` also matches before one final newline), in
    one pass of a character class and some arithmetic: the regex's repeated group costs ~20 ms per
    MiB, which a 20 MiB reference image turns into 0.4 s of a blocked event loop.
    """
    end = len(value)
    if end > start and value[end - 1] == "\n":
        end -= 1
    if value.endswith("==", start, end):
        body, remainder, least = end - 2, 2, 6
    elif value.endswith("=", start, end):
        body, remainder, least = end - 1, 3, 7
    else:
        body, remainder, least = end, 0, 4
    length = body - start
    return length >= least and length % 4 == remainder and _B64_RUN.fullmatch(value, start, body) is not None


def _base64(value: str) -> bool:
    return _base64_from(value, 0)


def _image_data_uri(value: str) -> bool:
    head = _DATA_URI_HEAD.match(value)
    return head is not None and _base64_from(value, head.end())


#: Patterns of the bundled schemas with an equivalent check that avoids a regex's repeated group;
#: ``tests/test_compiler.py`` checks each against its regex on generated strings.
_BASE64_PATTERN = "(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
FAST_PATTERNS: dict[str, Callable[[str], bool]] = {
    "^" + _BASE64_PATTERN: _base64,
    "^data:image/[A-Za-z0-9.+-]+;base64," + _BASE64_PATTERN: _image_data_uri,
}


class Unsupported(Exception):
    """The schema uses a keyword (or form of one) that the compiler does not handle."""


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality as JSON Schema defines it: ``true`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=False))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


class _Compiler:
    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"_json_equal": _json_equal}
        self.sources: list[str] = []
        self.by_identity: dict[int, str] = {}
        self.counter = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def constant(self, value: Any) -> str:
        name = self.fresh("_c")
        self.namespace[name] = value
        return name

    # -- functions ---------------------------------------------------------------------------
    def function(self, schema: Any, resolver: referencing._core.Resolver[Any]) -> str:
        """Name of a generated function ``f(v) -> bool`` for ``schema`` (memoised)."""
        key = id(schema)
        if key in self.by_identity:
            return self.by_identity[key]
        name = self.fresh("_f")
        self.by_identity[key] = name
        body: list[str] = []
        if schema is False:
            body.append("    return False")
        elif schema is True or schema == {}:
            body.append("    return True")
        else:
            if not isinstance(schema, dict):
                raise Unsupported(f"schema must be an object or boolean, got {schema!r}")
            self.emit(schema, resolver, "v", body, 1)
            body.append("    return True")
        self.sources.append(f"def {name}(v):\n" + "\n".join(body))
        return name

    # -- inline emission ---------------------------------------------------------------------
    def emit(self, schema: Mapping[str, Any], resolver: Any, v: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        unknown = set(schema) - _KNOWN - _IGNORED
        unknown = {k for k in unknown if not k.startswith("x-")}
        if unknown:
            raise Unsupported(f"keywords not compiled: {sorted(unknown)}")
        if "$id" in schema and depth > 1:
            raise Unsupported("nested $id")

        known_type: str | None = None
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            test = " or ".join(_TYPE_TESTS[t].format(v=v) for t in types)
            out.append(f"{pad}if not ({test}): return False")
            if len(types) == 1:
                known_type = "number" if types[0] == "integer" else types[0]

        if "const" in schema:
            out.append(f"{pad}if not ({self.equals(v, schema['const'])}): return False")
        if "enum" in schema:
            values = schema["enum"]
            if all(isinstance(x, str) for x in values):
                c = self.constant(frozenset(values))
                out.append(f"{pad}if not ({v}.__class__ is str and {v} in {c}): return False")
            else:
                c = self.constant(tuple(values))
                out.append(f"{pad}if not any(_json_equal({v}, x) for x in {c}): return False")

        for group_type, keywords in _GROUP_TYPE.items():
            present = [k for k in keywords if k in schema]
            if not present:
                continue
            if known_type == group_type:
                self.emit_group(group_type, schema, resolver, v, out, depth)
            else:
                guard = _TYPE_TESTS[group_type].format(v=v)
                out.append(f"{pad}if {guard}:")
                self.emit_group(group_type, schema, resolver, v, out, depth + 1)

        if "$ref" in schema:
            resolved = resolver.lookup(schema["$ref"])
            f = self.function(resolved.contents, resolved.resolver)
            out.append(f"{pad}if not {f}({v}): return False")
        for sub in schema.get("allOf", ()):
            self.emit_sub(sub, resolver, v, out, depth)
        if "anyOf" in schema:
            fs = [self.function(s, resolver) for s in schema["anyOf"]]
            out.append(f"{pad}if not ({' or '.join(f'{f}({v})' for f in fs)}): return False")
        if "oneOf" in schema:
            fs = [self.function(s, resolver) for s in schema["oneOf"]]
            out.append(f"{pad}if ({' + '.join(f'{f}({v})' for f in fs)}) != 1: return False")
        if "not" in schema:
            out.append(f"{pad}if {self.function(schema['not'], resolver)}({v}): return False")
        if "if" in schema:
            f_if = self.function(schema["if"], resolver)
            then, else_ = schema.get("then", True), schema.get("else", True)
            if then is not True:
                out.append(f"{pad}if {f_if}({v}) and not {self.function(then, resolver)}({v}): return False")
            if else_ is not True:
                out.append(f"{pad}if not {f_if}({v}) and not {self.function(else_, resolver)}({v}): return False")

    def emit_sub(self, sub: Any, resolver: Any, v: str, out: list[str], depth: int) -> None:
        if isinstance(sub, dict) and "$id" not in sub:
            self.emit(sub, resolver, v, out, depth)
        else:
            out.append(f"{'    ' * depth}if not {self.function(sub, resolver)}({v}): return False")

    def equals(self, v: str, const: Any) -> str:
        if isinstance(const, str):
            return f"{v} == {const!r}"
        if isinstance(const, bool):
            return f"{v} is {const!r}"
        if isinstance(const, (int, float)):
            return f"({v} == {const!r} and {v}.__class__ is not bool)"
        return f"_json_equal({v}, {self.constant(const)})"

    def emit_group(
        self, kind: str, schema: Mapping[str, Any], resolver: Any, v: str, out: list[str], depth: int
    ) -> None:
        pad = "    " * depth
        if kind == "number":
            for kw, op in (("minimum", "<"), ("maximum", ">"), ("exclusiveMinimum", "<="), ("exclusiveMaximum", ">=")):
                if kw in schema:
                    out.append(f"{pad}if {v} {op} {schema[kw]!r}: return False")
            if "multipleOf" in schema:
                raise Unsupported("multipleOf")
        elif kind == "string":
            if "minLength" in schema:
                out.append(f"{pad}if len({v}) < {int(schema['minLength'])}: return False")
            if "maxLength" in schema:
                out.append(f"{pad}if len({v}) > {int(schema['maxLength'])}: return False")
            if "pattern" in schema:
                fast = FAST_PATTERNS.get(schema["pattern"])
                if fast is not None:
                    c = self.constant(fast)
                    out.append(f"{pad}if not {c}({v}): return False")
                else:
                    c = self.constant(re.compile(schema["pattern"]))
                    out.append(f"{pad}if {c}.search({v}) is None: return False")
        elif kind == "array":
            if "minItems" in schema:
                out.append(f"{pad}if len({v}) < {int(schema['minItems'])}: return False")
            if "maxItems" in schema:
                out.append(f"{pad}if len({v}) > {int(schema['maxItems'])}: return False")
            if "items" in schema:
                item = self.fresh("i")
                body: list[str] = []
                self.emit_sub(schema["items"], resolver, item, body, depth + 1)
                if body:
                    out.append(f"{pad}for {item} in {v}:")
                    out.extend(body)
        else:
            self.emit_object(schema, resolver, v, out, depth)

    def emit_object(self, schema: Mapping[str, Any], resolver: Any, v: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        if "minProperties" in schema:
            out.append(f"{pad}if len({v}) < {int(schema['minProperties'])}: return False")
        if "maxProperties" in schema:
            out.append(f"{pad}if len({v}) > {int(schema['maxProperties'])}: return False")
        required = schema.get("required", ())
        if required:
            test = " or ".join(f"{name!r} not in {v}" for name in required)
            out.append(f"{pad}if {test}: return False")
        props: Mapping[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        if extra is False:
            c = self.constant(frozenset(props))
            out.append(f"{pad}if not ({v}.keys() <= {c}): return False")
        elif extra is not True:
            f = self.function(extra, resolver)
            c = self.constant(frozenset(props))
            out.append(f"{pad}for k in {v}:")
            out.append(f"{pad}    if k not in {c} and not {f}({v}[k]): return False")
        for name, sub in props.items():
            body: list[str] = []
            w = self.fresh("p")
            self.emit_sub(sub, resolver, w, body, depth + 1)
            if body:
                out.append(f"{pad}if {name!r} in {v}:")
                out.append(f"{pad}    {w} = {v}[{name!r}]")
                out.extend(body)
        for name, names in schema.get("dependentRequired", {}).items():
            test = " or ".join(f"{n!r} not in {v}" for n in names)
            out.append(f"{pad}if {name!r} in {v} and ({test}): return False")
        for name, sub in schema.get("dependentSchemas", {}).items():
            f = self.function(sub, resolver)
            out.append(f"{pad}if {name!r} in {v} and not {f}({v}): return False")


def compile_predicate(registry: referencing.Registry[Any], uri: str) -> Predicate:
    """Compile the schema at ``uri`` (already in ``registry``) into ``f(instance) -> bool``.

    Raises :class:`Unsupported` when the schema uses a keyword outside the compiled subset.
    """
    resolver = registry.resolver(uri)
    resolved = resolver.lookup(uri)
    compiler = _Compiler()
    entry = compiler.function(resolved.contents, resolved.resolver)
    source = "\n\n".join(compiler.sources)
    code = compile(source, f"<compiled schema {uri}>", "exec")
    exec(code, compiler.namespace)
    predicate: Predicate = compiler.namespace[entry]
    predicate.__doc__ = f"Compiled validity check for {uri}."
    return predicate
