"""Generating the OpenAPI 3.1 document: the paths from the app's routes, the schemas from the
pydantic models (service/schemas), assembled with apispec.

A route tells its path, methods and path parameters (their converters), its tag (its
blueprint) and, for the admin API, the role it needs (require_role); operations.py declares
only the rest. pydantic writes each model's JSON Schema (2020-12, which OpenAPI 3.1 takes as it
is), nested models hoisted into components; apispec assembles and checks the document (a path
item per route, references that resolve, no duplicate component). Neither takes part in serving
a request: validation and the error envelope stay ours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apispec import APISpec
from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import AnyConverter, BaseConverter, IntegerConverter

Json = dict[str, Any]
# By status: a response object, or a string for an error answer (the envelope) described so.
Responses = dict[int | str, Json | str]
STRING: Json = {"type": "string"}
_REF = "#/components/schemas/{model}"
# Keys pydantic writes that only repeat what the document says already.
_NOISE = ("title",)
_STRING: Json = {"type": "string"}
# Documented where the service answers them itself; everywhere else they are Flask's.
_IMPLICIT = {"HEAD", "OPTIONS"}
_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")
_BEARER: list[Json] = [{"bearerAuth": []}]
_AUTH_ERRORS: Responses = {
    401: "No bearer token, or an unknown or revoked one.",
    403: "The token's role is too low for this endpoint.",
}


@dataclass(frozen=True)
class Op:
    """What a route cannot tell about one of its operations. A model class anywhere in
    `responses` or `body` stands for a reference to its component, which the document holds."""

    summary: str
    responses: Responses
    description: str = ""
    parameters: Sequence[Json] = ()  # query and header parameters
    body: Json | None = None


def json_answer(schema: Any, description: str) -> Json:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def text(kind: str, description: str) -> Json:
    return {"description": description, "content": {kind: {"schema": _STRING}}}


def html(description: str) -> Json:
    return text("text/html", description)


def body(schema: Any, *kinds: str, required: bool = True) -> Json:
    return {"required": required, "content": {k: {"schema": schema} for k in kinds}}


def query(name: str, description: str, schema: Json | None = None) -> Json:
    return {"name": name, "in": "query", "description": description, "schema": schema or _STRING}


def ref(model: type[BaseModel] | str) -> Json:
    return {"$ref": _REF.format(model=model if isinstance(model, str) else model.__name__)}


def component_schemas(models: Iterable[type[BaseModel]]) -> Json:
    """Every model, and every model they nest, as components named after their classes."""
    _, top = models_json_schema(
        [(m, "validation") for m in models], by_alias=True, ref_template=_REF
    )
    return {name: _clean(schema) for name, schema in top.get("$defs", {}).items()}


def inline_schema(model: type[BaseModel]) -> Json:
    """A model's schema with every nested model written in place: for an operation whose
    schema is read on its own, without the document's components around it."""
    schema = model.model_json_schema(by_alias=True)
    return dict(_clean(schema, schema.pop("$defs", {})))


def query_parameters(model: type[BaseModel]) -> list[Json]:
    """A model of a query string as the operation's parameters, one per field."""
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k not in (*_NOISE, "default")}
        description = prop.pop("description", "")
        parameter = {"name": name, "in": "query", "description": description, "schema": prop}
        parameters.append({**parameter, "required": True} if name in required else parameter)
    return parameters


def route_paths(
    app: Flask,
    operations: Mapping[str, Op | Mapping[str, Op]],
    tags: Mapping[str, str],
    path_notes: Mapping[str, Json],
    models: set[type[BaseModel]],
) -> Json:
    """The path items of the app's routes, in the order `operations` declares their endpoints
    (each by its blueprint's tag); every route but Flask's own static files needs a declaration.
    path_notes: what the converter cannot tell about a path parameter, by name."""
    undeclared = {r.endpoint for r in app.url_map.iter_rules()} - {*operations, "static"}
    if undeclared:
        raise LookupError(f"no OpenAPI declaration for {', '.join(sorted(undeclared))}")
    paths: Json = {}
    for endpoint, declared in operations.items():
        tag = tags[endpoint.partition(".")[0]]
        role = getattr(app.view_functions[endpoint], "required_role", None)
        for rule in app.url_map.iter_rules(endpoint):
            item = paths.setdefault(_ARGUMENT.sub(r"{\1}", rule.rule), {})
            parameters = [
                {"name": name, "in": "path", "required": True, "schema": _path_schema(converter)}
                | path_notes.get(name, {})
                # werkzeug's own record of the rule's converters, in the path's order
                for name, converter in rule._converters.items()
            ]
            if parameters:
                item["parameters"] = parameters
            for method in sorted((rule.methods or set()) - _IMPLICIT):
                op = declared if isinstance(declared, Op) else declared[method]
                item[method.lower()] = operation(op, tag, models, role)
    return paths


def operation(op: Op, tag: str, models: set[type[BaseModel]], role: object = None) -> Json:
    """One operation; with a role, one of the admin API's, behind a bearer token."""
    responses: Responses = {**op.responses, **(_AUTH_ERRORS if role else {})}
    result: Json = {"tags": [tag], "summary": op.summary}
    if role:
        result["description"] = f"Role: `{role}` or above (roles: viewer < editor < admin)."
        result["security"] = _BEARER
    elif op.description:
        result["description"] = op.description
    if op.parameters:
        result["parameters"] = list(op.parameters)
    if op.body:
        result["requestBody"] = op.body
    result["responses"] = {
        str(status): _error(answer) if isinstance(answer, str) else answer
        for status, answer in responses.items()
    }
    return dict(_with_refs(result, models))


def build(
    info: Json, tags: list[str], paths: Json, schemas: Json, components: Json
) -> dict[str, Any]:
    spec = APISpec(
        title=info["title"],
        version=info["version"],
        openapi_version="3.1.0",
        info={"description": info["description"]},
    )
    for tag in tags:
        spec.tag({"name": tag})
    for name, schema in schemas.items():
        spec.components.schema(name, schema)
    for name, response in components.get("responses", {}).items():
        spec.components.response(name, response)
    for name, scheme in components.get("securitySchemes", {}).items():
        spec.components.security_scheme(name, scheme)
    for path, item in paths.items():
        operations = {k: v for k, v in item.items() if k != "parameters"}
        spec.path(path=path, operations=operations, parameters=item.get("parameters"))
    return spec.to_dict()


def _path_schema(converter: BaseConverter) -> Json:
    if isinstance(converter, AnyConverter):
        # werkzeug keeps the choices as a set; its pattern keeps them in the rule's order.
        return {"type": "string", "enum": sorted(converter.items, key=converter.regex.index)}
    if isinstance(converter, IntegerConverter):  # unsigned, as werkzeug's int is by default
        return {"type": "integer", "minimum": converter.min or 0, "maximum": converter.max}
    return dict(getattr(converter, "schema", _STRING))  # ours declare theirs (converters.py)


def _error(description: str) -> Json:
    return {"$ref": "#/components/responses/Error", "description": description}


def _with_refs(node: Any, models: set[type[BaseModel]]) -> Any:
    """The node with each model class replaced by a reference, the class kept in models."""
    if isinstance(node, type) and issubclass(node, BaseModel):
        models.add(node)
        return ref(node)
    if isinstance(node, dict):
        return {k: _with_refs(v, models) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_refs(item, models) for item in node]
    return node


def _clean(schema: Any, defs: Json | None = None) -> Any:
    """The schema without pydantic's noise; with defs, each reference to them written in place."""
    if isinstance(schema, dict):
        if defs is not None and "$ref" in schema:
            return _clean(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _clean(v, defs) for k, v in schema.items() if k not in _NOISE or _is_property(v)}
    if isinstance(schema, list):
        return [_clean(item, defs) for item in schema]
    return schema


def _is_property(value: Any) -> bool:
    # A field named "title" is a property to keep, not pydantic's label of the schema.
    return isinstance(value, dict)
