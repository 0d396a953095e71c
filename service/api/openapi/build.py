"""Generating the OpenAPI 3.1 document from the pydantic models (service/schemas) with apispec.

pydantic writes each model's JSON Schema (2020-12, which OpenAPI 3.1 takes as it is), nested
models hoisted into components; apispec assembles and checks the document (a path item per
route, references that resolve, no duplicate component). Neither takes part in serving a
request: validation and the error envelope stay ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apispec import APISpec
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

Json = dict[str, Any]
_REF = "#/components/schemas/{model}"
# Keys pydantic writes that only repeat what the document says already.
_NOISE = ("title",)


def ref(model: type[BaseModel]) -> Json:
    return {"$ref": _REF.format(model=model.__name__)}


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
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items() if k not in _NOISE or _is_property(v)}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return dict(resolve(schema))


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


def _clean(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _clean(v) for k, v in schema.items() if k not in _NOISE or _is_property(v)}
    if isinstance(schema, list):
        return [_clean(item) for item in schema]
    return schema


def _is_property(value: Any) -> bool:
    # A field named "title" is a property to keep, not pydantic's label of the schema.
    return isinstance(value, dict)
