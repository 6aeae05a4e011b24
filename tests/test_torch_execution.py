# mypy: disable-error-code="operator, assignment"
# (TorchScript scripts these forwards and reads "# type:" comments: no line ignores here)
"""Execution modes of the torch walk: meta, fake and one real run, the data-dependent ops that
need it, and a model left exactly as found whatever the forward does in place."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from convcost.errors import InputError
from convcost.frontends.torch import DataDependentError, walk
from convcost.frontends.torch_api import analyze_model


class Stateful(nn.Module):
    """A forward that writes to its own buffers and attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.register_buffer("steps", torch.zeros(()))
        self.register_buffer("ema", torch.zeros(4))
        self.calls = 0

    def forward(self, x: Tensor) -> Tensor:
        self.steps += 1
        self.ema.copy_(x.mean(0))
        self.calls += 1
        self.cache = x
        return self.fc(x)


def _snapshot(model: nn.Module) -> dict[str, object]:
    return {
        "tensors": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "attrs": {k: v for k, v in vars(model).items() if not k.startswith("_")},
    }


@pytest.mark.parametrize("execution", ["auto", "fake", "meta", "real"])
def test_a_buffer_mutating_model_comes_back_unchanged(execution: str) -> None:
    model = Stateful()
    before = _snapshot(model)
    result = walk(model, [(2, 4)], execution=execution)
    assert result.execution == ("fake" if execution == "auto" else execution)
    after = _snapshot(model)
    assert before["attrs"] == after["attrs"]
    assert not hasattr(model, "cache")
    tb, ta = before["tensors"], after["tensors"]
    assert isinstance(tb, dict) and isinstance(ta, dict) and tb.keys() == ta.keys()
    for key in tb:
        assert torch.equal(tb[key], ta[key]), key
    assert all(t.device.type == "cpu" for t in model.state_dict().values())


class BufferWriter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.register_buffer("steps", torch.zeros(()))
        self.register_buffer("ema", torch.zeros(4))

    def forward(self, x: Tensor) -> Tensor:
        self.steps += 1
        self.ema.copy_(x.mean(0))
        return self.fc(x)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_torchscript_model_comes_back_unchanged() -> None:
    model = torch.jit.script(BufferWriter())
    walk(model, [(2, 4)], execution="real")
    walk(model, [(2, 4)])
    assert float(model.steps) == 0.0 and torch.equal(model.ema, torch.zeros(4))


class Picky(nn.Module):
    """A detector-like forward: keeps the positive scores (nonzero) and reads a count."""

    def __init__(self) -> None:
        super().__init__()
        self.score = nn.Linear(8, 1)
        self.head = nn.Linear(8, 5)

    def forward(self, x: Tensor) -> Tensor:
        keep = (self.score(x).squeeze(-1) > 0).nonzero().squeeze(-1)
        chosen = x[keep]
        n = int(keep.numel())  # .item() on a real run
        return self.head(chosen) * n


def test_data_dependent_forward_needs_a_real_run() -> None:
    with pytest.raises(DataDependentError, match=r"aten\.nonzero") as info:
        walk(Picky(), [(16, 8)])
    assert "aten.nonzero" in info.value.ops
    model = Picky()
    result = walk(model, [(16, 8)], execution="real", seed=3)
    assert result.execution == "real"
    assert "aten.nonzero" in result.data_dependent
    # the real run chose some rows: the head's MACs follow that count
    torch.manual_seed(0)
    gen_x = torch.randn((16, 8), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        kept = int((model.score(gen_x).squeeze(-1) > 0).sum())
    head = [r for r in result.records if r.path == ("head",)]
    macs = 16 * 8 * 1 + (kept * 8 * 5 if kept else 0)
    from convcost.core.registry import cost_of

    assert sum(cost_of(r.op, r.inputs).macs for r in result.records) == macs
    assert len(head) == (1 if kept else 0)


def test_real_run_counts_like_fake_and_meta() -> None:
    def build() -> nn.Module:
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))

    real_model = build()
    with torch.device("meta"):
        meta_model = build()
    a = analyze_model(real_model, (2, 3, 16, 16), execution="real")
    b = analyze_model(real_model, (2, 3, 16, 16))
    c = analyze_model(meta_model, (2, 3, 16, 16))
    d = analyze_model(meta_model, (2, 3, 16, 16), execution="real")  # random weights
    e = analyze_model(real_model, (2, 3, 16, 16), execution="meta")
    assert a.totals == b.totals == c.totals == d.totals == e.totals
    assert [r.record for r in a.rows] == [r.record for r in c.rows]
    assert (a.extra["execution"], b.extra["execution"], c.extra["execution"]) == (
        "real", "fake", "meta")
    assert all(p.device.type == "meta" for p in meta_model.parameters())


def test_an_unknown_execution_is_refused() -> None:
    with pytest.raises(InputError, match="execution"):
        walk(nn.Linear(2, 2), [(1, 2)], execution="gpu")


def test_real_inputs_are_seeded_and_ints_are_small() -> None:
    seen: list[Tensor] = []

    class Record(nn.Module):
        def forward(self, ids: Tensor, x: Tensor) -> Tensor:
            seen.append(ids.clone())
            seen.append(x.clone())
            return x * 2

    walk(Record(), [((2, 5), "int64"), (2, 3)], execution="real", seed=7)
    walk(Record(), [((2, 5), "int64"), (2, 3)], execution="real", seed=7)
    assert torch.equal(seen[0], seen[2]) and torch.equal(seen[1], seen[3])
    assert set(torch.unique(seen[0]).tolist()) <= {0, 1}


def test_an_eager_walk_imports_no_dynamo_and_leaves_torch_as_found() -> None:
    """torch's own batch-norm and element-wise decompositions import torch._dynamo on their
    first call (1.5-2 s) only to mark themselves untraceable; the walk needs none of it, and
    takes every mark it set off again."""
    import subprocess
    import sys

    code = (
        "import sys, gc, types, torch\n"
        "from torch import nn\n"
        "import convcost\n"
        "with torch.device('meta'):\n"
        "    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),\n"
        "                      nn.Upsample(scale_factor=2, mode='bilinear'), nn.GELU())\n"
        "a = convcost.analyze(m, input_shape=(1, 3, 8, 8), reference=())\n"
        "left = [o for o in gc.get_objects() if type(o) is types.FunctionType\n"
        "        and '__dynamo_disable' in o.__dict__]\n"
        "print('torch._dynamo' in sys.modules, len(left), a.totals.macs)\n"
        "import torch._dynamo\n"
        "b = convcost.analyze(m, input_shape=(1, 3, 8, 8), reference=())\n"
        "print(b.totals == a.totals)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "0", str(4 * 3 * 9 * 36), "True"]
