"""Check a real HTTP answer against the server's own /openapi.json (the status, media type, body, headers)."""

from __future__ import annotations

import jsonschema


def check_response(openapi: dict, method: str, path: str, response) -> None:
    """Assert that ``response`` (an httpx.Response) is one that ``openapi`` documents for ``method path``.

    The status must be listed; the media type must be one of that status's; a JSON body must validate
    against its schema (references resolved inside ``openapi``); declared headers must parse as declared.
    """
    operation = openapi["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path} answered {status}, documented: {sorted(operation['responses'])}"
    documented = operation["responses"][status]
    media = response.headers.get("content-type", "").split(";")[0].strip()
    content = documented.get("content", {})
    assert media in content, f"{method} {path} {status} answered {media!r}, documented: {sorted(content)}"
    schema = content[media].get("schema")
    if media == "application/json" and schema is not None:
        # $ref "#/components/..." resolves against the root: the document itself, with the schema as its $ref
        root = {**openapi, "$ref": schema["$ref"]} if "$ref" in schema else {**openapi, **schema}
        jsonschema.Draft202012Validator(root).validate(response.json())
    for name, header in documented.get("headers", {}).items():
        value = response.headers.get(name)
        if value is not None and header.get("schema", {}).get("type") == "integer":
            int(value)
