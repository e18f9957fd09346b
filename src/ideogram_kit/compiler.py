"""Compile a JSON Schema (the subset the kit's schemas use) into fast Python code.

Two products, both plain Python source (like fastjsonschema's):

- :func:`compile_predicate`: ``f(instance) -> bool``. ``$ref`` targets are inlined (a recursive
  one is called), simple subschemas become inline expressions, the rest one function each.
- :func:`compile_error_collector`: ``f(instance)`` yielding a :class:`RawError` (path, keyword,
  schema node, instance) per failing keyword: **the errors of jsonschema's** ``iter_errors``,
  **in its order** (the schema's key order; jsonschema's type checker). It descends a subtree
  only when a predicate says it is invalid: the valid parts cost one predicate call each.

Both must agree with jsonschema on every instance (``tests/test_compiler.py``,
``tests/test_compiled_report.py``). A keyword the compiler does not know raises
:class:`Unsupported` at compile time, and callers fall back to jsonschema: a schema edit can make
validation slower, never wrong. One deliberate difference: a schema-valued ``additionalProperties``
reports the extra keys in the instance's order (jsonschema's is a ``set``'s).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import referencing

__all__ = ["FAST_PATTERNS", "Collector", "RawError", "Unsupported", "compile_error_collector", "compile_predicate"]

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
_NUMBER_KW = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")  # not multipleOf: Unsupported
_OTHER_KW = ("type", "enum", "const", "$ref", "allOf", "anyOf", "oneOf", "not", "if")
_KNOWN = frozenset(_OBJECT_KW + _ARRAY_KW + _STRING_KW + _NUMBER_KW + _OTHER_KW)
#: Keywords a schema may have and still be tested by one inline expression.
_EXPRESSIBLE = frozenset(("type", "const", "enum", "required", "properties", "$ref", "allOf", "anyOf", "not",
                         *_STRING_KW, *_NUMBER_KW, "minItems", "maxItems"))  # fmt: skip

_TYPE_TESTS = {
    "object": "{v}.__class__ is dict",
    "array": "{v}.__class__ is list",
    "string": "{v}.__class__ is str",
    "boolean": "{v}.__class__ is bool",
    "null": "{v} is None",
    "number": "({v}.__class__ is int or {v}.__class__ is float)",
    "integer": "({v}.__class__ is int or ({v}.__class__ is float and {v}.is_integer()))",
}
#: The same tests as jsonschema's type checker makes them (subclasses count; bool is no number).
_EXACT_TYPE_TESTS = {
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
    "string": "isinstance({v}, str)",
    "boolean": "isinstance({v}, bool)",
    "null": "{v} is None",
    "number": "(isinstance({v}, _Number) and {v}.__class__ is not bool)",
    "integer": "((isinstance({v}, int) and {v}.__class__ is not bool)"
    " or (isinstance({v}, float) and {v}.is_integer()))",
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


class RawError(NamedTuple):
    """One failing keyword, named as jsonschema's ``ValidationError`` names it."""

    absolute_path: tuple[str | int, ...]
    validator: str | None
    schema: Any
    instance: Any

    @property
    def validator_value(self) -> Any:
        return self.schema[self.validator] if isinstance(self.schema, dict) else None


Collector = Callable[[Any], Iterator[RawError]]


def _only_ref(schema: Any) -> bool:
    """``schema`` is a bare ``$ref`` (annotations aside): its function is the target's."""
    keys = set(schema) if isinstance(schema, dict) else set()
    return (
        "$ref" in keys and "$id" not in keys and all(k == "$ref" or k in _IGNORED or k.startswith("x-") for k in keys)
    )


def _check_keywords(schema: Mapping[str, Any]) -> None:
    unknown = {k for k in set(schema) - _KNOWN - _IGNORED if not k.startswith("x-")}
    if unknown:
        raise Unsupported(f"keywords not compiled: {sorted(unknown)}")


class _Compiler:
    """Predicates; ``exact`` makes its type tests jsonschema's (``isinstance``) instead of ``__class__ is``."""

    def __init__(self, exact: bool = False) -> None:
        self.namespace: dict[str, Any] = {"_json_equal": _json_equal, "_Number": numbers.Number, "_E": RawError}
        self.sources: list[str] = []
        self.by_identity: dict[int, str] = {}
        self.active: set[int] = set()  # schemas being generated or inlined (a recursive $ref is called)
        self.bound: dict[tuple[str, str], str] = {}  # (object, required key) -> the local holding its value
        self.counter = 0
        self.exact = exact
        self.types = _EXACT_TYPE_TESTS if exact else _TYPE_TESTS

    def type_test(self, schema: Mapping[str, Any], v: str, known: str | None) -> tuple[str | None, str | None]:
        """The test of ``schema``'s ``type`` (``None`` when ``known`` already says so), and the type known after it."""
        if "type" not in schema:
            return None, known
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        test = None if types == [known] else "(" + " or ".join(self.types[t].format(v=v) for t in types) + ")"
        if len(types) == 1:
            known = "number" if types[0] == "integer" else types[0]
        return test, known

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def constant(self, value: Any) -> str:
        name = self.fresh("_c")
        self.namespace[name] = value
        return name

    # -- functions ---------------------------------------------------------------------------
    def function(self, schema: Any, resolver: referencing._core.Resolver[Any], root: bool = False) -> str:
        """Name of a generated function ``f(v) -> bool`` for ``schema`` (memoised); ``root``: a document or
        ``$ref`` target, whose ``resolver`` already has its ``$id`` as base."""
        key = id(schema)
        if key in self.by_identity:
            return self.by_identity[key]
        if isinstance(schema, dict) and "$id" in schema and not root:
            raise Unsupported("nested $id")
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
            self.active.add(key)
            outer, self.bound = self.bound, {}
            body.append("    try:")  # costs nothing until a required key is missing
            self.emit(schema, resolver, "v", body, 2, root=True)
            body.append("        pass\n    except KeyError:\n        return False")
            self.active.discard(key)
            self.bound = outer
            body.append("    return True")
        self.sources.append(f"def {name}(v):\n" + "\n".join(body))
        return name

    def test(self, schema: Any, resolver: Any, v: str, known: str | None = None, depth: int = 0) -> str:
        """A boolean expression: ``v`` is valid against ``schema`` (inline when simple, else a call)."""
        if schema is True or schema == {}:
            return "True"
        if schema is False:
            return "False"
        if not self.expressible(schema, resolver, depth):
            return f"{self.function(schema, resolver)}({v})"
        _check_keywords(schema)
        type_test, known = self.type_test(schema, v, known)
        terms = [type_test] if type_test else []
        if "const" in schema:
            terms.append(f"({self.equals(v, schema['const'])})")
        if "enum" in schema:
            terms.append(f"({self.in_enum(v, schema['enum'], known)})")
        for group, keywords in _GROUP_TYPE.items():
            if any(k in schema for k in keywords):
                inner = self.group_test(group, schema, resolver, v, depth)
                terms.append(inner if known == group else f"(not {self.types[group].format(v=v)} or {inner})")
        if "$ref" in schema:  # not a recursive one: expressible() said so
            resolved = resolver.lookup(schema["$ref"])
            self.active.add(id(resolved.contents))
            terms.append(self.test(resolved.contents, resolved.resolver, v, known, depth + 1))
            self.active.discard(id(resolved.contents))
        terms.extend(self.test(sub, resolver, v, known, depth + 1) for sub in schema.get("allOf", ()))
        if "anyOf" in schema:
            terms.append(f"({' or '.join(self.test(sub, resolver, v, known, depth + 1) for sub in schema['anyOf'])})")
        if "not" in schema:
            terms.append(f"not {self.test(schema['not'], resolver, v, known, depth + 1)}")
        terms = [t for t in terms if t != "True"]
        return "(" + " and ".join(terms) + ")" if terms else "True"

    def expressible(self, schema: Any, resolver: Any, depth: int) -> bool:
        """``schema`` makes one inline expression, with no call: else one function holds all its tests."""
        if isinstance(schema, bool):
            return True
        keys = {k for k in schema if k not in _IGNORED and not k.startswith("x-")} if isinstance(schema, dict) else {""}
        if depth > 3 or not keys <= _EXPRESSIBLE or "$id" in schema:
            return False
        subs = [*schema.get("properties", {}).values(), *schema.get("allOf", ()), *schema.get("anyOf", ())]
        if "$ref" in schema:
            resolved = resolver.lookup(schema["$ref"])
            if id(resolved.contents) in self.active or not self.expressible(
                resolved.contents, resolved.resolver, depth + 1
            ):
                return False
        return all(self.expressible(sub, resolver, depth + 1) for sub in [*subs, schema.get("not", True)])

    def group_test(self, group: str, schema: Mapping[str, Any], resolver: Any, v: str, depth: int) -> str:
        fails = _fails(group, schema, v)
        terms = [f"not ({' or '.join(fails)})"] if fails else []
        if group == "string" and "pattern" in schema:
            terms.append(self.matches(v, schema["pattern"]))
        elif group == "object":
            required = schema.get("required", ())
            terms.extend(f"{name!r} in {v}" for name in required if (v, name) not in self.bound)
            for name, sub in schema.get("properties", {}).items():
                known_present = self.bound.get((v, name))
                inner = self.test(sub, resolver, known_present or f"{v}[{name!r}]", None, depth + 1)
                if inner != "True":
                    present = known_present or name in required
                    terms.append(inner if present else f"({name!r} not in {v} or {inner})")
        return "(" + " and ".join(terms) + ")" if terms else "True"

    def matches(self, v: str, pattern: str) -> str:
        fast = FAST_PATTERNS.get(pattern)
        if fast is not None:
            return f"{self.constant(fast)}({v})"
        return f"{self.constant(re.compile(pattern))}.search({v}) is not None"

    def in_enum(self, v: str, values: list[Any], known: str | None) -> str:
        if all(isinstance(x, str) for x in values):
            c = self.constant(frozenset(values))
            return f"{v} in {c}" if known == "string" else f"({self.types['string'].format(v=v)} and {v} in {c})"
        return f"any(_json_equal({v}, x) for x in {self.constant(tuple(values))})"

    # -- inline emission ---------------------------------------------------------------------
    def emit(
        self, schema: Mapping[str, Any], resolver: Any, v: str, out: list[str], depth: int,
        known: str | None = None, root: bool = False,
    ) -> None:  # fmt: skip
        pad = "    " * depth
        _check_keywords(schema)
        if "$id" in schema and not root:
            raise Unsupported("nested $id")

        type_test, known = self.type_test(schema, v, known)
        if type_test:
            out.append(f"{pad}if not {type_test}: return False")
        if "const" in schema:
            out.append(f"{pad}if not ({self.equals(v, schema['const'])}): return False")
        if "enum" in schema:
            out.append(f"{pad}if not ({self.in_enum(v, schema['enum'], known)}): return False")

        for group_type, keywords in _GROUP_TYPE.items():
            if any(k in schema for k in keywords):
                if known != group_type:
                    out.append(f"{pad}if {self.types[group_type].format(v=v)}:")
                self.emit_group(group_type, schema, resolver, v, out, depth + (known != group_type))

        if "$ref" in schema:
            resolved = resolver.lookup(schema["$ref"])
            target = resolved.contents
            if isinstance(target, dict) and id(target) not in self.active:
                self.active.add(id(target))
                self.emit(target, resolved.resolver, v, out, depth, known, root=True)
                self.active.discard(id(target))
            else:
                out.append(f"{pad}if not {self.function(target, resolved.resolver, root=True)}({v}): return False")
        for sub in schema.get("allOf", ()):
            self.emit_block(sub, resolver, v, out, depth, known)
        if "anyOf" in schema:
            tests = [self.test(s, resolver, v, known) for s in schema["anyOf"]]
            out.append(f"{pad}if not ({' or '.join(tests)}): return False")
        if "oneOf" in schema:
            tests = [f"bool({self.test(s, resolver, v, known)})" for s in schema["oneOf"]]
            out.append(f"{pad}if ({' + '.join(tests)}) != 1: return False")
        if "not" in schema:
            out.append(f"{pad}if {self.test(schema['not'], resolver, v, known)}: return False")
        if "if" in schema:
            cond = self.test(schema["if"], resolver, v, known)
            for branch, taken in (("then", cond), ("else", f"not {cond}")):
                if schema.get(branch, True) is not True:
                    out.append(f"{pad}if {taken}:")
                    self.emit_block(schema[branch], resolver, v, out, depth + 1, known)

    def emit_block(self, sub: Any, resolver: Any, v: str, out: list[str], depth: int, known: str | None) -> None:
        """``sub``'s tests as a block of this function (one test or call when it makes one expression)."""
        if isinstance(sub, dict) and "$id" not in sub and not self.expressible(sub, resolver, 0):
            outer = dict(self.bound)  # locals bound in a conditional block are not bound after it
            self.emit(sub, resolver, v, out, depth, known)
            self.bound = outer
            out.append(f"{'    ' * depth}pass")
        else:
            out.append(f"{'    ' * depth}if not ({self.test(sub, resolver, v, known)}): return False")

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
        out.extend(f"{pad}if {fail}: return False" for fail in _fails(kind, schema, v))
        if kind == "string" and "pattern" in schema:
            out.append(f"{pad}if not ({self.matches(v, schema['pattern'])}): return False")
        elif kind == "array" and schema.get("items", True) is not True:
            item = self.fresh("i")
            out.append(f"{pad}for {item} in {v}:")
            self.emit_block(schema["items"], resolver, item, out, depth + 1, None)
        elif kind == "object":
            self.emit_object(schema, resolver, v, out, depth)

    def emit_object(self, schema: Mapping[str, Any], resolver: Any, v: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        required = schema.get("required", ())
        props: Mapping[str, Any] = schema.get("properties", {})
        if absent := [name for name in required if name not in props or self.exact]:
            out.append(f"{pad}if {' or '.join(f'{name!r} not in {v}' for name in absent)}: return False")
        extra = schema.get("additionalProperties", True)
        count = self.fresh("n") if extra is False else None  # known keys present; any other key is extra
        if count is not None:
            out.append(f"{pad}{count} = {sum(name in required for name in props)}")
        elif extra is not True:
            test = self.test(extra, resolver, f"{v}[k]")
            c = self.constant(frozenset(props))
            out.append(f"{pad}for k in {v}:")
            out.append(f"{pad}    if k not in {c} and not ({test}): return False")
        for name, sub in props.items():
            body: list[str] = []
            w = self.fresh("p")
            if isinstance(sub, dict) and "$id" not in sub:
                self.emit(sub, resolver, w, body, depth + 1)
            elif (test := self.test(sub, resolver, w)) != "True":
                body.append(f"{pad}    if not ({test}): return False")
            if name in required:  # tested above when exact, else a missing one raises KeyError: False
                out.append(f"{pad}{w} = {self.bound.get((v, name)) or f'{v}[{name!r}]'}")
                out.extend(line[4:] for line in body)
                self.bound[v, name] = w  # later tests of this function read it from there
            elif body or count is not None:
                out.append(f"{pad}if {name!r} in {v}:")
                if count is not None:
                    out.append(f"{pad}    {count} += 1")
                if body:
                    out.append(f"{pad}    {w} = {v}[{name!r}]")
                    out.extend(body)
        if count is not None:
            out.append(f"{pad}if len({v}) != {count}: return False")
        for name, names in schema.get("dependentRequired", {}).items():
            test = " or ".join(f"{n!r} not in {v}" for n in names)
            out.append(f"{pad}if {name!r} in {v} and ({test}): return False")
        for name, sub in schema.get("dependentSchemas", {}).items():
            out.append(f"{pad}if {name!r} in {v} and not ({self.test(sub, resolver, v, 'object')}): return False")


_NUMBER_FAILS = {"minimum": "<", "maximum": ">", "exclusiveMinimum": "<=", "exclusiveMaximum": ">="}
#: Size keywords: the type each applies to, and the comparison of the size that fails it.
_SIZES = {"minLength": ("string", "<"), "maxLength": ("string", ">"), "minItems": ("array", "<"),
          "maxItems": ("array", ">"), "minProperties": ("object", "<"), "maxProperties": ("object", ">")}  # fmt: skip


def _fails(kind: str, schema: Mapping[str, Any], v: str) -> list[str]:
    """The failing comparisons of ``schema``'s bounds for a ``v`` of type ``kind``."""
    if kind == "number":
        return [f"{v} {op} {schema[kw]!r}" for kw, op in _NUMBER_FAILS.items() if kw in schema]
    return [f"len({v}) {op} {int(schema[kw])}" for kw, (t, op) in _SIZES.items() if t == kind and kw in schema]


class _Collector:
    """Generators ``g(v, path)`` yielding :class:`RawError` in jsonschema's order, one per schema."""

    def __init__(self) -> None:
        self.p = _Compiler(exact=True)  # its predicates decide branches and which subtrees to descend
        self.by_identity: dict[int, str | None] = {}

    def function(self, schema: Any, resolver: Any, root: bool = False) -> str | None:
        """Name of the generator for ``schema``; ``None`` when it can yield nothing."""
        key = id(schema)
        if key in self.by_identity:
            return self.by_identity[key]
        if schema is True or schema == {}:
            self.by_identity[key] = None
            return None
        if _only_ref(schema) and key not in self.p.active:  # the target's errors, at the same path
            resolved = resolver.lookup(schema["$ref"])
            self.p.active.add(key)
            self.by_identity[key] = target = self.function(resolved.contents, resolved.resolver, root=True)
            self.p.active.discard(key)
            return target
        name = self.p.fresh("_g")
        self.by_identity[key] = name
        if schema is False:
            body = ["    yield _E(path, None, False, v)"]
        elif not isinstance(schema, dict):
            raise Unsupported(f"schema must be an object or boolean, got {schema!r}")
        else:
            _check_keywords(schema)
            if "$id" in schema and not root:
                raise Unsupported("nested $id")
            body = ["    if False: yield"]
            s = self.p.constant(schema)
            for keyword, value in schema.items():
                if keyword not in _IGNORED and not keyword.startswith("x-"):
                    self.keyword(keyword, value, schema, s, resolver, body)
        self.p.sources.append(f"def {name}(v, path):\n" + "\n".join(body))
        return name

    def descend(self, sub: Any, resolver: Any, x: str, path: str, pad: str, out: list[str], *, root: bool = False,
                check: bool = True) -> None:  # fmt: skip
        """Yield ``sub``'s errors for ``x``; ``check``: only after its predicate says no (skip what is valid)."""
        if sub is False:  # jsonschema reports a false subschema at the path of the schema holding it
            out.append(f"{pad}yield _E(path, None, False, {x})")
            return
        g = self.function(sub, resolver, root)
        if g is not None and check:
            out.append(f"{pad}if not ({self.p.test(sub, resolver, x)}): yield from {g}({x}, {path})")
        elif g is not None:
            out.append(f"{pad}yield from {g}({x}, {path})")

    def keyword(self, kw: str, value: Any, schema: Mapping[str, Any], s: str, resolver: Any, out: list[str]) -> None:
        fail = f"yield _E(path, {kw!r}, {s}, v)"
        types = self.p.types
        if kw == "type":
            names = value if isinstance(value, list) else [value]
            out.append(f"    if not ({' or '.join(types[t].format(v='v') for t in names)}): {fail}")
        elif kw == "const":
            out.append(f"    if not ({self.p.equals('v', value)}): {fail}")
        elif kw == "enum":
            out.append(f"    if not ({self.p.in_enum('v', value, None)}): {fail}")
        elif kw in _NUMBER_FAILS:
            out.append(f"    if {types['number'].format(v='v')} and v {_NUMBER_FAILS[kw]} {value!r}: {fail}")
        elif kw in _SIZES:
            out.append(f"    if {types[_SIZES[kw][0]].format(v='v')} and len(v) {_SIZES[kw][1]} {int(value)}: {fail}")
        elif kw == "pattern":
            out.append(f"    if {types['string'].format(v='v')} and not ({self.p.matches('v', value)}): {fail}")
        elif kw == "items" and value is False:
            out.append(f"    if {types['array'].format(v='v')} and v: {fail}")
        elif kw == "items":
            out.append(f"    if {types['array'].format(v='v')}:")
            out.append("        for i, x in enumerate(v):")
            self.descend(value, resolver, "x", "(*path, i)", "            ", out)
            out.append("        pass")
        elif kw in ("required", "properties", "additionalProperties", "dependentRequired", "dependentSchemas"):
            out.append(f"    if {types['object'].format(v='v')}:")
            self.object_keyword(kw, value, schema, fail, resolver, out)
            out.append("        pass")
        elif kw == "$ref":
            resolved = resolver.lookup(value)
            self.descend(resolved.contents, resolved.resolver, "v", "path", "    ", out, root=True, check=False)
        elif kw == "allOf":
            for sub in value:
                self.descend(sub, resolver, "v", "path", "    ", out)
        elif kw in ("anyOf", "oneOf"):
            tests = [f"bool({self.p.test(sub, resolver, 'v')})" for sub in value]
            failing = f"not ({' or '.join(tests)})" if kw == "anyOf" else f"({' + '.join(tests)}) != 1"
            out.append(f"    if {failing}: {fail}")
        elif kw == "not":
            out.append(f"    if {self.p.test(value, resolver, 'v')}: {fail}")
        elif kw == "if":
            out.append(f"    if {self.p.test(value, resolver, 'v')}:")
            if "then" in schema:  # reached when the schema holding it failed: no second test
                self.descend(schema["then"], resolver, "v", "path", "        ", out, check=False)
            out.append("        pass\n    else:")
            if "else" in schema:
                self.descend(schema["else"], resolver, "v", "path", "        ", out, check=False)
            out.append("        pass")

    def object_keyword(self, kw: str, value: Any, schema: Mapping[str, Any], fail: str, resolver: Any,
                       out: list[str]) -> None:  # fmt: skip
        if kw == "required":
            out.extend(f"        if {name!r} not in v: {fail}" for name in value)
        elif kw == "properties":
            for name, sub in value.items():
                out.append(f"        if {name!r} in v:")
                out.append(f"            x = v[{name!r}]")
                self.descend(sub, resolver, "x", f"(*path, {name!r})", "            ", out)
                out.append("            pass")
        elif kw == "additionalProperties":
            known = self.p.constant(frozenset(schema.get("properties", {})))
            if value is False:
                out.append(f"        if not (v.keys() <= {known}): {fail}")
            elif value is not True:
                out.append("        for k in v:")
                out.append(f"            if k not in {known}:")
                self.descend(value, resolver, "v[k]", "(*path, k)", "                ", out)
                out.append("                pass")
        elif kw == "dependentRequired":
            for name, names in value.items():
                out.append(f"        if {name!r} in v:")
                out.extend(f"            if {n!r} not in v: {fail}" for n in names)
        else:
            for name, sub in value.items():
                out.append(f"        if {name!r} in v:")
                self.descend(sub, resolver, "v", "path", "            ", out)
                out.append("            pass")


def _build(compiler: _Compiler, entry: str, uri: str, doc: str) -> Any:
    source = "\n\n".join(compiler.sources)
    exec(compile(source, f"<compiled schema {uri}>", "exec"), compiler.namespace)
    function = compiler.namespace[entry]
    function.__doc__ = doc
    return function


def compile_predicate(registry: referencing.Registry[Any], uri: str) -> Predicate:
    """Compile the schema at ``uri`` (already in ``registry``) into ``f(instance) -> bool``.

    Raises :class:`Unsupported` when the schema uses a keyword outside the compiled subset.
    """
    resolved = registry.resolver(uri).lookup(uri)
    compiler = _Compiler()
    entry = compiler.function(resolved.contents, resolved.resolver, root=True)
    predicate: Predicate = _build(compiler, entry, uri, f"Compiled validity check for {uri}.")
    return predicate


def compile_error_collector(registry: referencing.Registry[Any], uri: str) -> Collector:
    """Compile the schema at ``uri`` into ``f(instance)`` yielding the :class:`RawError` items that
    jsonschema's ``iter_errors`` would give, in its order (lazily: stop iterating to stop the work).

    Raises :class:`Unsupported` when the schema uses a keyword outside the compiled subset.
    """
    resolved = registry.resolver(uri).lookup(uri)
    collector = _Collector()
    entry = collector.function(resolved.contents, resolved.resolver, root=True)
    compiler = collector.p
    compiler.sources.append(f"def _collect(v):\n    return {f'{entry}(v, ())' if entry else 'iter(())'}")
    collect: Collector = _build(compiler, "_collect", uri, f"Compiled error collector for {uri}.")
    return collect
