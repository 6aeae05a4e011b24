"""Every option applies to its source or is refused (exit 2) before anything is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from convcost.errors import InputError
from convcost.pipeline.applicable import Given, SourceKind, kind_of, refuse_inapplicable

SMALL = str(Path(__file__).parent / "models" / "sources.py") + ":small"


def test_kind_of() -> None:
    assert kind_of("m.yaml") is SourceKind.YAML
    assert kind_of("m.onnx") is SourceKind.ONNX
    assert kind_of("pkg.mod:factory") is SourceKind.TORCH


@pytest.mark.parametrize(("source", "given", "flag"), [
    ("m.yaml", Given(inputs=True), "--input"),
    ("m.yaml", Given(kwargs=True), "--kwargs"),
    ("net.py:Net", Given(inputs=True, width_mult=0.5), "--width-mult"),
    ("net.py:Net", Given(inputs=True, resolution=160), "--resolution"),
    ("net.py:Net", Given(inputs=True, batch=8), "--batch"),
    ("m.onnx", Given(batch=8), "--batch"),
    ("m.onnx", Given(kwargs=True), "--kwargs"),
    ("pkg.module:factory", Given(), "--input"),
    (SMALL, Given(), "--input"),
])
def test_refused_with_the_flag_named(source: str, given: Given, flag: str) -> None:
    with pytest.raises(InputError) as err:
        refuse_inapplicable(source, given)
    assert err.value.context.flag == flag
    assert err.value.exit_code == 2


@pytest.mark.parametrize(("source", "given", "needs_input"), [
    ("m.yaml", Given(width_mult=0.5, resolution=160, batch=8), True),
    ("net.py:Net", Given(inputs=True, kwargs=True), True),
    ("torchvision:resnet50", Given(), False),
    ("m.onnx", Given(inputs=True), True),
    ("m.onnx", Given(), True),
    ("nothere.py:Net", Given(), True),  # the loader says the file is missing
])
def test_applicable_options_pass(source: str, given: Given, needs_input: bool) -> None:
    refuse_inapplicable(source, given, needs_input=needs_input)
