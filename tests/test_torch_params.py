"""Parameters once: a weight computed from parameters (pruning, weight norm, spectral norm,
parametrizations, weight standardisation) counts its parameters once, and a fixed buffer used
as a filter is not a parameter."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize, prune

from convcost.core.ops import Conv
from convcost.frontends.torch_api import analyze_model


def params_of(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def conv_macs(n: int, cout: int, cin: int, k: int, out: int) -> int:
    return n * cout * out * out * cin * k * k


def _pruned() -> nn.Module:
    model = nn.Sequential(nn.Conv2d(3, 8, 3))
    prune.l1_unstructured(model[0], "weight", amount=0.5)
    return model


def _weight_norm_old() -> nn.Module:
    with pytest.warns(FutureWarning):
        return nn.Sequential(nn.utils.weight_norm(nn.Conv2d(3, 8, 3)))


def _weight_norm() -> nn.Module:
    return nn.Sequential(nn.utils.parametrizations.weight_norm(nn.Conv2d(3, 8, 3)))


def _spectral_norm_old() -> nn.Module:
    return nn.Sequential(nn.utils.spectral_norm(nn.Conv2d(3, 8, 3)))


def _spectral_norm() -> nn.Module:
    return nn.Sequential(nn.utils.parametrizations.spectral_norm(nn.Conv2d(3, 8, 3)))


class Symmetric(nn.Module):
    def forward(self, w: Tensor) -> Tensor:
        return (w + w.transpose(2, 3)) / 2


def _parametrized() -> nn.Module:
    model = nn.Sequential(nn.Conv2d(3, 8, 3))
    parametrize.register_parametrization(model[0], "weight", Symmetric())
    return model


class StdConv(nn.Conv2d):
    """A weight-standardised convolution, as timm's StdConv2d/ScaledStdConv2d compute it."""

    def __init__(self) -> None:
        super().__init__(3, 8, 3)
        self.gain = nn.Parameter(torch.ones(8, 1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        w = F.batch_norm(self.weight.reshape(1, 8, -1), None, None, training=True,
                         momentum=0.0, eps=1e-6).reshape_as(self.weight) * self.gain
        return F.conv2d(x, w, self.bias)


@pytest.mark.parametrize(
    "build", [_pruned, _weight_norm_old, _weight_norm, _spectral_norm_old, _spectral_norm,
              _parametrized, lambda: nn.Sequential(StdConv())],
    ids=["prune", "weight_norm_old", "weight_norm", "spectral_norm_old", "spectral_norm",
         "parametrize", "std_conv"],
)
def test_weight_computed_from_parameters_counts_them_once(build: object) -> None:
    model = build()  # type: ignore[operator]
    # spectral norm divides by sigma = u · (W v), a matrix x vector product every forward
    sigma = 8 * 27 + 8 if "spectral" in getattr(build, "__name__", "") else 0
    for execution in ("auto", "real"):
        a = analyze_model(model, (1, 3, 10, 10), execution=execution)
        assert a.totals.params == params_of(model), execution
        assert a.totals.macs == conv_macs(1, 8, 3, 3, 8) + sigma
        assert not a.uncounted
        convs = [r for r in a.rows if isinstance(r.record.op, Conv)]
        # named after its module; beside the old spectral norm's sigma rows it is "0.conv"
        assert len(convs) == 1 and convs[0].name in (("0", "0.conv") if sigma else ("0",))


def test_pruned_conv_is_224_params_not_440() -> None:
    model = _pruned()
    a = analyze_model(model, (1, 3, 10, 10))
    assert a.totals.params == 224 == params_of(model)
    assert a.buffers_total == 216  # the mask


class Blur(nn.Module):
    """Anti-aliased downsampling: a fixed [1, 2, 1] filter kept as a buffer."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("filt", (k[:, None] * k[None, :] / 16).expand(channels, 1, 3, 3)
                             .contiguous())
        self.channels = channels

    def forward(self, x: Tensor) -> Tensor:
        filt: Tensor = self.filt  # type: ignore[assignment]
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), filt, stride=2,
                        groups=self.channels)


def test_a_fixed_buffer_filter_is_not_a_parameter() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), Blur(4))
    a = analyze_model(model, (1, 3, 8, 8))
    assert a.totals.params == params_of(model) == 4 * 3 * 9 + 4
    assert a.totals.macs == conv_macs(1, 4, 3, 3, 8) + 1 * 4 * 4 * 4 * 9
    assert a.buffers_total == 4 * 9
    assert not a.uncounted


class PositionMLP(nn.Module):
    """A small MLP run on a fixed table (Swin V2's continuous position bias): real MACs."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("table", torch.randn(1, 5, 5, 2))
        self.mlp = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.mlp(self.table).sum()


def test_products_on_parameters_alone_still_count() -> None:
    model = PositionMLP()
    a = analyze_model(model, (1, 4))
    assert a.totals.macs == 25 * 2 * 16 + 25 * 16 * 3
    assert a.totals.params == params_of(model)


# ---------------------------------------------------------------- timm models that compute
# their weights (weight standardisation), hold fixed filters (anti-aliasing) or build a bias
# from parameters and a zero buffer (EVA)

TIMM = [("nfnet_l0", (1, 3, 64, 64)), ("tresnet_m", (1, 3, 64, 64)),
        ("resnetblur50", (1, 3, 64, 64)), ("eva02_tiny_patch14_224", (1, 3, 224, 224))]


@pytest.mark.parametrize(("name", "shape"), TIMM, ids=[t[0] for t in TIMM])
def test_timm_params_and_macs(name: str, shape: tuple[int, ...]) -> None:
    timm = pytest.importorskip("timm")
    from torch.utils.flop_counter import FlopCounterMode

    from convcost.core.ops import Attention

    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False).eval()
    a = analyze_model(model, shape)
    assert a.totals.params == params_of(model)
    assert not a.uncounted
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(shape))
    # torch's counter has no formula for the cpu's fused attention kernel: hold it apart
    attention = sum(r.cost.macs for r in a.rows if isinstance(r.record.op, Attention))
    assert a.totals.macs - attention == counter.get_total_flops() // 2
