"""Every body and query string the service reads or answers with, declared once as pydantic
models: the API and the dashboard validate with them, and /openapi.json is generated from
them. Models turn into the frozen domain dataclasses, so the domain knows nothing of pydantic.
"""
