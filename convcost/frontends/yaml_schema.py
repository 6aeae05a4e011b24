"""The JSON Schema of the YAML format, made from the kind registry: every kind declares the
schema of its options where it is registered (``yaml_kind(..., options=...)``), so the schema
editors check files against cannot drift from what the compiler reads.

``python -m convcost.frontends.yaml_schema`` prints it; ``--write`` updates the copy that ships
(``convcost/frontends/model.schema.json``, which a test holds equal to this).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from convcost.frontends.yaml_format import (
    ACTIVATION_ALIASES,
    ACTIVATION_WORDS,
    NAME_PATTERN,
    VARIABLE_PATTERN,
    YamlKind,
    kinds,
)

Schema = dict[str, Any]

SIZE: Schema = {"$ref": "#/$defs/size"}
SIZES: Schema = {"$ref": "#/$defs/sizes"}
LAYERS: Schema = {"$ref": "#/$defs/layers"}


def described(schema: Schema, text: str) -> Schema:
    """``schema`` with a description (after its own keys, as editors show it)."""
    return {**schema, "description": text}


def one_of_words(words: tuple[str, ...] | list[str], text: str | None = None,
                 *, none: bool = False) -> Schema:
    """An enum of words; ``none``: also ``none``, ``null`` and ``false`` (nothing)."""
    values: list[Any] = [*words, *(["none", None, False] if none else [])]
    return {"description": text, "enum": values} if text else {"enum": values}


FUNCTIONS = [*(w for w in ACTIVATION_WORDS if w != "none"), *ACTIVATION_ALIASES]
"""Every activation function a file may name, aliases included."""
ACTIVATION = one_of_words(FUNCTIONS, "activation function after the layer (or none)", none=True)
NORM = one_of_words(["batch"], "normalisation after the layer", none=True)
OUT = described(SIZE, "output channels / features")
KERNEL = described(SIZES, "kernel size, one value or one per spatial dimension")
STRIDE = described(SIZES, "stride (default 1)")
DILATION = described(SIZES, "dilation (default 1)")
PADDING: Schema = {
    "description": "padding: auto (default, (k-1)//2*dilation), same, valid, a size or one per "
                   "dimension",
    "anyOf": [{"enum": ["auto", "same", "valid"]}, SIZES],
}
SCALE: Schema = {
    "description": "scale 'out' by the width multiplier (default: true, linear: false); 'up': "
                   "only when the multiplier is above 1 (torchvision's last conv of MobileNetV2)",
    "anyOf": [{"type": "boolean"}, {"enum": ["up"]}],
}
BOOLEAN: Schema = {"type": "boolean"}
POOL_MODE = one_of_words(["max", "avg"])

_COMMON: Schema = {
    "name": {"type": "string", "pattern": NAME_PATTERN.pattern,
             "description": "layer name (default: kind + position, e.g. conv2)"},
    "repeat": described(SIZE, "repeat the layer N times in sequence; children named 0..N-1"),
}
_TOP: Schema = {
    "name": {"type": "string"},
    "description": {"type": ["string", "null"]},
    "input": {"type": "array", "items": SIZE, "minItems": 2, "maxItems": 4,
              "description": "[channels, *spatial] without the batch"},
    "variables": {"type": ["object", "null"],
                  "propertyNames": {"pattern": VARIABLE_PATTERN.pattern},
                  "additionalProperties": {"type": ["integer", "number", "string"]}},
    "dtype": {"type": "string",
              "description": "float32 (default), float16, bfloat16, float64, int8, int64, or an "
                             "alias (fp16, half, ...)"},
    "width_divisor": described(SIZE, "round width-scaled channels to multiples of this "
                                     "(torchvision's _make_divisible); default 1"),
    "layers": {**LAYERS, "minItems": 1},
}


def bare(kind: YamlKind) -> bool:
    """A kind that may be written without options (``- flatten``)."""
    return not kind.required and "oneOf" not in kind.constraints


def kind_schema(kind: YamlKind) -> Schema:
    """``{kind: options}``, the options as the kind declares them."""
    options: Schema = {"type": "object", "properties": {**_COMMON, **kind.options},
                       "additionalProperties": False}
    if kind.required:
        options["required"] = list(kind.required)
    options.update(kind.constraints)
    forms = [options]
    if bare(kind):
        forms.append({"type": "null"})
    if kind.shorthand is not None:
        forms.append(kind.options[kind.shorthand])
    out: Schema = {"type": "object",
                   "properties": {kind.name: forms[0] if len(forms) == 1 else {"anyOf": forms}},
                   "required": [kind.name], "additionalProperties": False}
    if kind.description:
        out["description"] = kind.description
    return out


def schema() -> Schema:
    """The whole schema (JSON Schema 2020-12) of a YAML model description."""
    all_kinds = kinds()
    defs: Schema = {
        "size": {"description": "a positive integer, a variable name or an arithmetic "
                                "expression (+ - * / // parentheses; 'in' = input channels)",
                 "anyOf": [{"type": "integer"}, {"type": "number"}, {"type": "string"}]},
        "sizes": {"anyOf": [SIZE, {"type": "array", "items": SIZE, "minItems": 1,
                                   "maxItems": 3}]},
        "layers": {"type": "array", "items": {"$ref": "#/$defs/layer"}},
        "layer": {"oneOf": [
            {"enum": [k.name for k in all_kinds.values() if bare(k)],
             "description": "a kind without options"},
            *({"$ref": f"#/$defs/{name}"} for name in all_kinds),
        ]},
    }
    defs.update({name: kind_schema(k) for name, k in all_kinds.items()})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://convcost.dev/schemas/model.schema.json",
        "title": "convcost YAML model description",
        "description": "A convolutional network for convcost; see docs/yaml.md.",
        "type": "object",
        "required": ["input", "layers"],
        "additionalProperties": False,
        "properties": _TOP,
        "$defs": defs,
    }


SHIPPED = Path(__file__).with_name("model.schema.json")


def text() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--write"]:
        SHIPPED.write_text(text(), encoding="utf-8")
        print(f"wrote {SHIPPED}")
        return 0
    if args:
        print("usage: python -m convcost.frontends.yaml_schema [--write]", file=sys.stderr)
        return 2
    sys.stdout.write(text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
