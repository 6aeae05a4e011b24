"""`convcost compare`: one convolution beside its depthwise-separable form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convcost.core.convention import CONVENTION
from convcost.core.cost import Cost
from convcost.core.rewrite import Comparison
from convcost.reference.reconcile import Agreement
from convcost.report import numbers as n
from convcost.report.fit import Fitted, add_columns
from convcost.report.formats import SCHEMA_VERSION, to_csv, to_markdown

VARIANTS = ("standard", "depthwise", "pointwise", "separable")


@dataclass(frozen=True)
class CompareReport:
    comparison: Comparison
    per_position: bool
    """No input size was given: spatial size 1 in, 1 out, so costs are per output position."""
    reference: dict[str, dict[str, Agreement]] = field(default_factory=dict)
    """tool -> variant -> agreement; empty when the reference is off."""
    reference_note: str = ""

    def cost(self, variant: str) -> Cost:
        c = self.comparison
        return {"standard": c.standard, "depthwise": c.depthwise,
                "pointwise": c.pointwise, "separable": c.separable}[variant]

    def layer(self, variant: str) -> str:
        c = self.comparison
        k = c.standard_op.kernel_label()
        ones = "×".join("1" for _ in c.standard_op.kernel)
        mid = c.depthwise_op.out_channels
        return {
            "standard": f"conv {k}, {c.standard_op.in_channels}→{c.standard_op.out_channels}",
            "depthwise": f"dw {k}, {c.standard_op.in_channels}→{mid}",
            "pointwise": f"pw {ones}, {mid}→{c.standard_op.out_channels}",
            "separable": "dw + pw",
        }[variant]


def _variant_dict(cost: Cost) -> dict[str, Any]:
    return {
        "output_shape": list(cost.output_shape),
        "macs": cost.macs,
        "flops": cost.flops,
        "params": cost.params,
        "weights": cost.weights,
        "bias": cost.bias,
        "other_ops": cost.other_ops,
        "bytes": cost.bytes,
        "intensity": cost.intensity,
    }


def to_dict(report: CompareReport) -> dict[str, Any]:
    c = report.comparison
    op = c.standard_op
    data: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "convention": CONVENTION.to_dict(),
        "input": {
            "shape": list(c.input_shape),
            "per_position": report.per_position,
            "in_channels": op.in_channels,
            "out_channels": op.out_channels,
            "kernel": list(op.kernel),
            "stride": list(op.stride),
            "padding": [list(p) for p in op.padding],
            "dilation": list(op.dilation),
            "bias": op.bias,
            "depth_multiplier": c.depth_multiplier,
            "dtype": str(c.dtype),
        },
    }
    for v in VARIANTS:
        data[v] = _variant_dict(report.cost(v))
    data["ratio"] = {"exact": c.ratio_exact, "formula": c.ratio_formula,
                     "params": c.separable.params / c.standard.params}
    data["fewer"] = c.fewer
    if report.reference:
        data["reference"] = {
            tool: {v: a.theirs for v, a in per_variant.items()}
            for tool, per_variant in report.reference.items()
        }
        data["reference_agreement"] = {
            tool: {v: {"status": str(a.status), "reason": a.reason} for v, a in pv.items()}
            for tool, pv in report.reference.items()
        }
    return data


def _title(report: CompareReport) -> str:
    c = report.comparison
    op = c.standard_op
    pads = op.symmetric_padding
    pad = "×".join(map(str, pads)) if pads is not None else str([list(p) for p in op.padding])
    where = (
        "per output position (give --size for a whole feature map)"
        if report.per_position
        else f"input {n.shape(c.input_shape)}"
    )
    return (
        f"{op.kernel_label()} convolution, {op.in_channels} → {op.out_channels} channels, "
        f"stride {n.shape(op.stride)}, padding {pad}, dilation {n.shape(op.dilation)}, "
        f"{'bias' if op.bias else 'no bias'}, {c.dtype}; {where}"
    )


def _header(report: CompareReport) -> list[str]:
    head = ["variant", "layer", "output", "MACs", "FLOPs", "params", "bytes", "MACs/byte"]
    head += list(report.reference)
    return head


def _cells(report: CompareReport, variant: str, *, exact: bool) -> list[str]:
    cost = report.cost(variant)
    cells = [
        variant,
        report.layer(variant),
        n.shape(cost.output_shape),
        f"{cost.macs:,}" if not exact else str(cost.macs),
        n.human(cost.flops) if not exact else str(cost.flops),
        f"{cost.params:,}" if not exact else str(cost.params),
        n.human_bytes(cost.bytes) if not exact else str(cost.bytes),
        f"{cost.intensity:.2f}",
    ]
    for per_variant in report.reference.values():
        a = per_variant[variant]
        cells.append(str(a.theirs) if exact else f"{a.theirs:,} {a.mark}")
    return cells


def reference_lines(report: CompareReport) -> list[str]:
    """One line per reference count that is not a plain agreement, saying why."""
    lines = []
    for tool, per_variant in report.reference.items():
        for variant, a in per_variant.items():
            if a.reason:
                lines.append(f"{a.mark} {tool}, {variant}: {a.reason}")
        if all(a.status == "agree" for a in per_variant.values()):
            lines.append(f"✓ {tool} agrees with every variant")
    return lines


def reduction_lines(report: CompareReport) -> list[str]:
    c = report.comparison
    op = c.standard_op
    dk = "D_K" if op.dims == 1 else f"D_K^{op.dims}"
    dm = f"{c.depth_multiplier}·" if c.depth_multiplier != 1 else ""
    return [
        f"separable / standard MACs: exact {c.ratio_exact:.6f}, "
        f"paper {dm}(1/N + 1/{dk}) = {dm}(1/{op.out_channels} + 1/{op.kernel_volume}) "
        f"= {c.ratio_formula:.6f}",
        f"{c.fewer:.2f}× fewer MACs; "
        f"{c.standard.params / c.separable.params:.2f}× fewer params "
        f"({c.standard.params:,} → {c.separable.params:,})",
    ]


DROP_ORDER = ("layer", "FLOPs", "MACs/byte", "output", "bytes")
"""Columns a narrow console loses first; MACs, params and the references always stay."""


def compare_table(report: CompareReport, drop: tuple[str, ...] = ()) -> Table:
    head = _header(report)
    keep = [i for i, h in enumerate(head) if h not in drop]
    rows = [[_cells(report, v, exact=False)[i] for i in keep] for v in VARIANTS]
    table = Table(title=_title(report), title_justify="left", header_style="bold")
    add_columns(table, [head[i] for i in keep], rows,
                numeric=lambda h: h not in ("variant", "layer", "output"))
    for v, cells in zip(VARIANTS, rows, strict=True):
        table.add_row(*cells, end_section=v == "pointwise")
    return table


def to_table(report: CompareReport) -> RenderableType:
    table = Fitted(lambda drop: compare_table(report, drop), DROP_ORDER)
    parts: list[RenderableType] = [table]
    parts += [Text(line, style="bold" if i == 1 else "") for i, line in
              enumerate(reduction_lines(report))]
    parts += [Text(line) for line in reference_lines(report)]
    if report.reference_note:
        parts.append(Text(report.reference_note, style="yellow"))
    parts.append(Text(CONVENTION.short(), style="dim"))
    return Group(*parts)


def to_csv_text(report: CompareReport) -> str:
    head = ["variant", "layer", "output_shape", "macs", "flops", "params", "bytes", "intensity"]
    head += [f"{tool}_macs" for tool in report.reference]
    rows = []
    for v in VARIANTS:
        cells = _cells(report, v, exact=True)
        cells[2] = "x".join(map(str, report.cost(v).output_shape))
        rows.append(cells)
    return to_csv(head, rows)


def to_markdown_text(report: CompareReport) -> str:
    head = _header(report)
    rows = [_cells(report, v, exact=False) for v in VARIANTS]
    right = [i >= 3 for i in range(len(head))]
    body = to_markdown(head, rows, align_right=right)
    lines = "\n".join(f"- {line}" for line in reduction_lines(report) + reference_lines(report))
    return f"**{_title(report)}**\n\n{body}\n{lines}\n\n_{CONVENTION.footer()}_\n"
