"""Model sources and input specs for the torch front-end."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from convcost.errors import AnalysisError, InputError
from convcost.frontends.torch import walk
from convcost.frontends.torch_api import analyze_model
from convcost.frontends.torch_source import InputSpec, load_model, parse_input_spec

ROOT = Path(__file__).resolve().parent.parent
SRC = "tests.models.sources"


@pytest.fixture(autouse=True)
def _importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))


# ---------------------------------------------------------------- input specs


def test_parse_input_spec_forms() -> None:
    assert parse_input_spec("1,3,224,224") == (InputSpec((1, 3, 224, 224), "float32"),)
    assert parse_input_spec(" 1x128 : int64 ; 1,128:bool") == (
        InputSpec((1, 128), "int64"), InputSpec((1, 128), "bool"),
    )
    assert parse_input_spec("2,8", dtype="fp16") == (InputSpec((2, 8), "float16"),)
    assert parse_input_spec("1,8:long")[0].torch_dtype() is torch.int64


@pytest.mark.parametrize("text", ["", "1,,3", "1,a,3", "1,0,3", "1,3:complex7", ";", "1,3;"])
def test_parse_input_spec_rejects(text: str) -> None:
    with pytest.raises(InputError):
        parse_input_spec(text)


# ---------------------------------------------------------------- sources


def test_factory_is_built_on_meta_with_kwargs() -> None:
    model = load_model(f"{SRC}:small", kwargs={"channels": 6})
    assert model.get_submodule("conv").out_channels == 6
    assert all(p.device.type == "meta" for p in model.parameters())
    model = load_model(f"{SRC}:Small")
    assert isinstance(model, nn.Module)


def test_module_instance_is_returned_as_is() -> None:
    from tests.models import sources

    assert load_model(f"{SRC}:instance") is sources.instance


def test_file_source(tmp_path: Path) -> None:
    path = tmp_path / "net.py"
    path.write_text(textwrap.dedent("""
        from torch import nn
        class Net(nn.Module):
            def __init__(self, n=3):
                super().__init__()
                self.fc = nn.Linear(n, 5)
            def forward(self, x):
                return self.fc(x)
    """))
    model = load_model(f"{path}:Net", kwargs={"n": 7})
    assert model.get_submodule("fc").in_features == 7
    assert str(tmp_path) not in sys.path
    analysis = analyze_model(f"{path}:Net", "2,3")
    assert analysis.totals.macs == 2 * 3 * 5


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("no_such_pkg_xyz.models:net", "no_such_pkg_xyz"),
        (f"{SRC}:missing", "missing"),
        (f"{SRC}:NOT_CALLABLE", "not a factory"),
        (f"{SRC}:not_a_module", "not a torch.nn.Module"),
        ("does/not/exist.py:Net", "no such file"),
        ("missing_model.pt", "no such file"),
        ("missing_model.pt2", "no such file"),
        (SRC, "needs a name"),
        (f"{SRC}:", "empty name"),
    ],
)
def test_bad_sources_are_input_errors(source: str, needle: str) -> None:
    with pytest.raises(InputError) as info:
        load_model(source)
    assert info.value.exit_code == 2
    assert needle in str(info.value)


def test_factory_raising_is_analysis_error_with_its_message() -> None:
    with pytest.raises(AnalysisError) as info:
        load_model(f"{SRC}:broken")
    assert info.value.exit_code == 3
    assert "width must be a multiple of 8" in str(info.value)
    assert "second line" not in str(info.value)


def test_bad_kwargs_are_analysis_errors() -> None:
    with pytest.raises(AnalysisError, match="unexpected keyword"):
        load_model(f"{SRC}:small", kwargs={"nope": 1})


def test_file_that_fails_to_import(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text("import torch\nraise RuntimeError('cuda is required')\n")
    with pytest.raises(AnalysisError, match="cuda is required"):
        load_model(f"{path}:Net")


def test_not_a_torchscript_file(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    path.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="TorchScript"):
        load_model(str(path))
    pickled = tmp_path / "pickled.pt"
    torch.save({"w": torch.zeros(2)}, pickled)
    with pytest.raises(InputError, match=r"torch\.save"):
        load_model(str(pickled))


def test_wrong_input_shape_is_analysis_error_with_the_models_message() -> None:
    model = load_model(f"{SRC}:small")
    with pytest.raises(AnalysisError) as info:
        walk(model, [(1, 5, 8, 8)])
    assert info.value.exit_code == 3
    assert "Invalid channel dimensions" in str(info.value)  # torch's own message
    assert "'conv'" in str(info.value)
    assert "[1, 5, 8, 8]" in str(info.value)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_torchscript_and_export_archives(tmp_path: Path) -> None:
    from tests.models.sources import Small

    real = Small().eval()
    x = torch.zeros(2, 3, 8, 8)
    expected = 2 * 4 * 64 * 27 + 2 * 4 * 2  # conv + fc
    ts = tmp_path / "small.pt"
    torch.jit.save(torch.jit.trace(real, x), str(ts))
    assert analyze_model(str(ts), "2,3,8,8").totals.macs == expected
    pt2 = tmp_path / "small.pt2"
    torch.export.save(torch.export.export(real, (x,)), str(pt2))
    analysis = analyze_model(str(pt2), "2,3,8,8")
    assert analysis.totals.macs == expected
    assert not analysis.uncounted
