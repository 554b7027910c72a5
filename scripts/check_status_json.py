#!/usr/bin/env python3
"""Validates an `lvsd status --json` document against docs/status.schema.json.

usage: check_status_json.py SCHEMA DOCUMENT   (exit 0 valid, 1 invalid, 2 usage)
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("check_status_json: python3 module jsonschema missing (scripts/deps.sh installs it)", file=sys.stderr)
    sys.exit(2)

if len(sys.argv) != 3:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
with open(sys.argv[1]) as f:
    schema = json.load(f)
with open(sys.argv[2]) as f:
    doc = json.load(f)
jsonschema.Draft202012Validator.check_schema(schema)
errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print(f"{'/'.join(str(p) for p in e.path) or '(root)'}: {e.message}", file=sys.stderr)
sys.exit(1 if errors else 0)
