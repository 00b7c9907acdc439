"""The portal's view of the API's answers (portal/api_types.py) against the API's own OpenAPI
document: every TypedDict there is named as the API schema it mirrors, with the same fields of
the same JSON types. A field the API adds, drops, renames or retypes fails here, not in a page."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

import portal.api_types

JSON_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}


def openapi_components() -> dict[str, Any]:
    from astralytiq.settings import Settings
    from serving.app import create_app

    # Building the document needs no server, database or registry: only the routes and schemas.
    document = create_app(Settings(environment="development")).openapi()
    return dict(document["components"]["schemas"])


def from_schema(schema: dict[str, Any]) -> str:
    """A JSON schema of the API as a Python type, written out: "list[VersionOut]", "int | None"."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(sorted(from_schema(option) for option in schema["anyOf"]))
    if "enum" in schema or "const" in schema:
        return "str"  # a Literal in the API; the portal may read it as plain text
    kind = schema.get("type")
    if kind == "array":
        return f"list[{from_schema(schema.get('items', {}))}]"
    if kind == "object":
        values = schema.get("additionalProperties")
        return f"dict[str, {from_schema(values) if isinstance(values, dict) else 'Any'}]"
    if kind in JSON_TYPES:
        return JSON_TYPES[kind]
    return "Any"


def from_hint(hint: Any) -> str:
    """A portal annotation written the same way as ``from_schema`` writes the API's."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is type(None):
        return "None"
    if hint is Any:
        return "Any"
    if origin in (Union, types.UnionType):
        return " | ".join(sorted(from_hint(arg) for arg in args))
    if origin is Literal:
        return "str"
    if origin is list:
        return f"list[{from_hint(args[0])}]"
    if origin is dict:
        return f"dict[{from_hint(args[0])}, {from_hint(args[1])}]"
    if is_typeddict(hint):
        return str(hint.__name__)
    return str(getattr(hint, "__name__", hint))


PORTAL_TYPES = sorted(
    (name, value)
    for name, value in vars(portal.api_types).items()
    if is_typeddict(value) and value.__module__ == portal.api_types.__name__
)


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    return openapi_components()


@pytest.mark.parametrize(("name", "portal_type"), PORTAL_TYPES, ids=[name for name, _ in PORTAL_TYPES])
def test_each_portal_type_matches_the_api_schema_of_its_name(
    name: str, portal_type: type, components: dict[str, Any]
) -> None:
    assert name in components, f"the API has no schema {name!r}; name portal types after the API's"
    schema = components[name]
    api_fields = {field: from_schema(spec) for field, spec in schema["properties"].items()}
    portal_fields = {field: from_hint(hint) for field, hint in get_type_hints(portal_type).items()}
    assert portal_fields == api_fields


def test_the_portal_mirrors_every_answer_it_reads(components: dict[str, Any]) -> None:
    """Every type the portal's client returns is one of the checked TypedDicts."""
    from portal.api_client import ApiClient

    checked = {name for name, _ in PORTAL_TYPES}
    returned: set[str] = set()
    for attribute in vars(ApiClient).values():
        if callable(attribute) and not getattr(attribute, "__name__", "_").startswith("_"):
            hint = get_type_hints(attribute, vars(portal.api_client) | vars(typing)).get("return")
            stack = [hint]
            while stack:
                current = stack.pop()
                if is_typeddict(current):
                    returned.add(getattr(current, "__name__", ""))
                stack.extend(get_args(current))
    assert returned and returned <= checked, returned - checked


def test_a_drifted_field_is_caught(components: dict[str, Any]) -> None:
    """The comparison itself: a portal type with a renamed or retyped field does not match."""
    from typing import TypedDict

    class TrainTriggered(TypedDict):
        flow_run_id: str
        dataset: str
        status: str  # the API calls it "state"

    schema = components["TrainTriggered"]
    api_fields = {field: from_schema(spec) for field, spec in schema["properties"].items()}
    assert {f: from_hint(h) for f, h in get_type_hints(TrainTriggered).items()} != api_fields
    assert from_schema({"anyOf": [{"type": "integer"}, {"type": "null"}]}) == from_hint(int | None)
    assert from_schema({"type": "number"}) != from_hint(int)
