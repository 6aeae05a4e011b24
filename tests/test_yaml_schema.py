"""The JSON Schema for editors describes the same format the loader reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import convcost.frontends
from convcost.frontends.yaml_spec import TOP_KEYS, kind_keys, parse_spec

KINDS = kind_keys()

ROOT = Path(__file__).resolve().parent.parent
# the schema as installed (a wheel must ship it), not as found in the source tree
SCHEMA: dict[str, Any] = json.loads(
    (Path(convcost.frontends.__file__).parent / "model.schema.json").read_text()
)
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def test_the_shipped_schema_is_the_one_the_kinds_declare() -> None:
    """The kinds' own declarations make the schema (convcost.frontends.yaml_schema); the
    file that ships is that, to the byte (regenerate with `python -m
    convcost.frontends.yaml_schema --write`)."""
    from convcost.frontends.yaml_schema import schema, text

    assert schema() == SCHEMA
    shipped = Path(convcost.frontends.__file__).parent / "model.schema.json"
    assert shipped.read_text(encoding="utf-8") == text()


def test_a_kind_registered_by_an_op_module_is_in_the_schema() -> None:
    defs = SCHEMA["$defs"]
    up = defs["upsample"]["properties"]["upsample"]
    assert set(up["properties"]) == {"name", "repeat", "mode", "scale", "size", "align_corners"}
    assert up["oneOf"] == [{"required": ["scale"]}, {"required": ["size"]}]
    assert "squeeze_excite" in defs["layer"]["oneOf"][0]["enum"]  # may be written bare
    assert "upsample" not in defs["layer"]["oneOf"][0]["enum"]  # needs scale or size


def test_schema_is_draft_2020_12() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_top_level_keys_match_loader() -> None:
    assert set(SCHEMA["properties"]) == set(TOP_KEYS)
    assert SCHEMA["additionalProperties"] is False


def test_every_kind_and_key_is_in_the_schema() -> None:
    defs = SCHEMA["$defs"]
    kinds_in_layer = {ref["$ref"].rsplit("/", 1)[1] for ref in defs["layer"]["oneOf"]
                      if "$ref" in ref}
    assert kinds_in_layer == set(KINDS)
    for kind, keys in KINDS.items():
        prop = defs[kind]["properties"][kind]
        options = prop if "properties" in prop else next(
            a for a in prop["anyOf"] if a.get("type") == "object")
        assert set(options["properties"]) == set(keys), kind
        assert options["additionalProperties"] is False


def test_schema_refs_resolve() -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "$ref"] + [
                r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(SCHEMA):
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in SCHEMA["$defs"]


def test_docs_mention_every_kind_and_key() -> None:
    doc = (ROOT / "docs" / "yaml.md").read_text()
    for kind, keys in KINDS.items():
        assert f"`{kind}`" in doc, kind
        for key in keys:
            assert f"`{key}`" in doc, (kind, key)
    for key in TOP_KEYS:
        assert f"`{key}`" in doc, key


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_configs_validate_against_schema(path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(yaml.safe_load(path.read_text()), SCHEMA,
                        cls=jsonschema.Draft202012Validator)


def test_schema_rejects_what_the_loader_rejects() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    bad = {"input": [3, 8, 8], "layers": [{"conv": {"out": 8, "kernal": 3}}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA, cls=jsonschema.Draft202012Validator)
    with pytest.raises(Exception, match="kernal"):
        parse_spec(yaml.safe_dump(bad))
