"""Check one vs-serve response against docs/openapi.yaml.

usage: openapi_check.py OPENAPI PATH_TEMPLATE METHOD STATUS CONTENT_TYPE BODY_FILE

The response for (path, method, status, content type) must be declared, and
the body (JSON, or NDJSON for application/x-ndjson: every line) must match
its schema: types, required members, enums, array items, $ref, oneOf.
Exits 1 with the first mismatch on stderr.
"""
import json
import sys

import yaml


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = spec
        for part in ref[2:].split("/"):
            node = node[part]
    return node


TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def check(spec, schema, value, where):
    schema = resolve(spec, schema)
    if "oneOf" in schema:
        errs = []
        for alt in schema["oneOf"]:
            try:
                check(spec, alt, value, where)
                return
            except AssertionError as e:
                errs.append(str(e))
        raise AssertionError("%s: matches no alternative (%s)" % (where, "; ".join(errs)))
    t = schema.get("type")
    if t:
        assert TYPES[t](value), "%s: expected %s, got %r" % (where, t, value)
    if "enum" in schema:
        assert value in schema["enum"], "%s: %r not in %r" % (where, value, schema["enum"])
    if "minimum" in schema:
        assert value >= schema["minimum"], "%s: %r < minimum" % (where, value)
    if t == "object":
        for r in schema.get("required", []):
            assert r in value, "%s: missing required member %r" % (where, r)
        for k, sub in schema.get("properties", {}).items():
            if k in value:
                check(spec, sub, value[k], "%s.%s" % (where, k))
    if t == "array" and "items" in schema:
        for i, v in enumerate(value):
            check(spec, schema["items"], v, "%s[%d]" % (where, i))


def main():
    spec_file, path, method, status, ctype, body_file = sys.argv[1:7]
    spec = yaml.safe_load(open(spec_file))
    op = spec["paths"][path][method.lower()]
    resp = op["responses"].get(status)
    assert resp is not None, "%s %s: status %s is not declared" % (method, path, status)
    resp = resolve(spec, resp)
    ctype = ctype.split(";")[0].strip()
    content = resp.get("content", {})
    assert ctype in content, "%s %s %s: content type %s is not declared" % (method, path, status, ctype)
    schema = content[ctype].get("schema")
    body = open(body_file, encoding="utf-8").read()
    if schema is None:
        return
    if ctype == "application/x-ndjson":
        lines = [l for l in body.split("\n") if l.strip()]
        assert lines, "empty NDJSON body"
        for i, l in enumerate(lines, 1):
            check(spec, schema, json.loads(l), "line %d" % i)
    else:
        check(spec, schema, json.loads(body), "body")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("openapi_check: %s" % e, file=sys.stderr)
        sys.exit(1)
