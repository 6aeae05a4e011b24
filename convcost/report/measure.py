"""Measured latency beside counted MACs: tables, lines and the JSON ``measured`` object.

Renderers build Rich renderables or dicts; they never print. Takes the results of
:mod:`convcost.reference.timing` (read by attribute, so this module never imports torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.text import Text

from convcost.core.rewrite import Comparison
from convcost.report.fit import fitted_table

if TYPE_CHECKING:
    from convcost.reference.timing import CompareTiming, ModelTiming, Settings, Timing

VARIANTS = ("standard", "depthwise", "pointwise", "separable")


def _ms(ms: float) -> str:
    if ms >= 100:
        return f"{ms:,.0f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def _times(ratio: float) -> str:
    return f"{ratio:.2f}×"


def settings_line(s: Settings) -> str:
    chosen = "--threads" if getattr(s, "threads_set", False) else "torch's default"
    return (f"measured on {s.device}, float32, {s.threads} torch thread"
            f"{'s' if s.threads != 1 else ''} ({chosen}), inference mode; median of "
            f"{s.repeats} samples per variant, taken interleaved, after {s.warmup} warm-up "
            f"call{'s' if s.warmup != 1 else ''}")


def _spread(t: Timing) -> str:
    """``±12%``: half the interquartile range, relative to the median."""
    return f"±{t.spread / 2:.0%}"


def warning_lines(warnings: list[str]) -> list[Text]:
    return [Text(f"⚠ {w}", style="bold yellow") for w in warnings]


def gap_line(macs_speedup: float, speedup: float, device: str) -> str:
    """The sentence that makes the gap between counted and measured speed-up visible."""
    where = "this CPU" if device == "cpu" else f"this {device.upper()} device"
    share = speedup / macs_speedup if macs_speedup else 0.0
    verdict = "slower" if speedup < 1 else "faster"
    amount = 1 / speedup if speedup < 1 else speedup
    return (f"MACs say the separable form is {macs_speedup:.2f}× faster; measured {amount:.2f}× "
            f"{verdict} on {where} ({share:.0%} of the counted speed-up)")


# ---------------------------------------------------------------- compare


def _timing(t: CompareTiming, variant: str) -> Timing:
    timing: Timing = getattr(t, variant)
    return timing


def compare_dict(t: CompareTiming) -> dict[str, Any]:
    data: dict[str, Any] = {f"{v}_ms": _timing(t, v).median_ms for v in VARIANTS}
    data["range_ms"] = {v: [_timing(t, v).min_ms, _timing(t, v).max_ms] for v in VARIANTS}
    data["iqr_ms"] = {v: [_timing(t, v).q1_ms, _timing(t, v).q3_ms] for v in VARIANTS}
    data["spread"] = {v: _timing(t, v).spread for v in VARIANTS}
    data["samples_ms"] = {v: list(_timing(t, v).samples) for v in VARIANTS}
    data["warnings"] = t.warnings
    data["reliable"] = not t.warnings
    data["speedup"] = t.speedup
    data["macs_speedup"] = t.macs_speedup
    data.update(t.settings.to_dict())
    data["unit"] = "ms"
    return data


def compare_table(c: Comparison, t: CompareTiming) -> RenderableType:
    heads = ("variant", "median ms", "spread", "min–max ms", "MACs", "MACs/byte",
             "vs standard (time)", "vs standard (MACs)")
    costs = {"standard": c.standard, "depthwise": c.depthwise, "pointwise": c.pointwise,
             "separable": c.separable}
    std_ms = t.standard.median_ms
    rows = []
    for v in VARIANTS:
        tm, cost = _timing(t, v), costs[v]
        rows.append([v if v != "separable" else "separable (dw → pw)",
                     _ms(tm.median_ms), _spread(tm), f"{_ms(tm.min_ms)}–{_ms(tm.max_ms)}",
                     f"{cost.macs:,}", f"{cost.intensity:.2f}",
                     _times(std_ms / tm.median_ms) if tm.median_ms else "",
                     _times(c.standard.macs / cost.macs) if cost.macs else ""])

    table = fitted_table("Measured with torch on this machine", heads, rows,
                         ("MACs/byte", "MACs", "min–max ms"), text=("variant",),
                         end_section=[v == "pointwise" for v in VARIANTS])
    return Group(
        table,
        Text(gap_line(t.macs_speedup, t.speedup, t.settings.device), style="bold"),
        Text(f"depthwise: {t.depthwise.median_ms / t.separable.median_ms:.0%} of the separable "
             f"time for {c.depthwise.macs / c.separable.macs:.0%} of its MACs "
             f"(MACs/byte {c.depthwise.intensity:.2f} vs pointwise "
             f"{c.pointwise.intensity:.2f})" if t.separable.median_ms and c.separable.macs
             else ""),
        *warning_lines(t.warnings),
        Text(settings_line(t.settings), style="dim"),
    )


def compare_markdown(c: Comparison, t: CompareTiming) -> str:
    lines = ["| variant | median ms | spread | min–max ms | MACs/byte | speed-up (time) | "
             "speed-up (MACs) |", "|---|---:|---:|---:|---:|---:|---:|"]
    costs = {"standard": c.standard, "depthwise": c.depthwise, "pointwise": c.pointwise,
             "separable": c.separable}
    for v in VARIANTS:
        tm, cost = _timing(t, v), costs[v]
        lines.append(f"| {v} | {_ms(tm.median_ms)} | {_spread(tm)} | "
                     f"{_ms(tm.min_ms)}–{_ms(tm.max_ms)} | {cost.intensity:.2f} | "
                     f"{_times(t.standard.median_ms / tm.median_ms)} | "
                     f"{_times(c.standard.macs / cost.macs) if cost.macs else ''} |")
    lines += ["", f"- {gap_line(t.macs_speedup, t.speedup, t.settings.device)}",
              *(f"- ⚠ {w}" for w in t.warnings), f"- {settings_line(t.settings)}", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- a model


def model_dict(t: ModelTiming) -> dict[str, Any]:
    data: dict[str, Any] = {
        "unit": "ms",
        **t.settings.to_dict(),
        "layers": [
            {
                "name": lt.name,
                "replaces": list(lt.replaces),
                "written": str(lt.written),
                "standard_ms": lt.standard.median_ms,
                "separable_ms": lt.separable.median_ms,
                "range_ms": {"standard": [lt.standard.min_ms, lt.standard.max_ms],
                             "separable": [lt.separable.min_ms, lt.separable.max_ms]},
                "iqr_ms": {"standard": [lt.standard.q1_ms, lt.standard.q3_ms],
                           "separable": [lt.separable.q1_ms, lt.separable.q3_ms]},
                "spread": {"standard": lt.standard.spread, "separable": lt.separable.spread},
                "standard_macs": lt.standard_macs,
                "separable_macs": lt.separable_macs,
                "standard_intensity": lt.standard_intensity,
                "separable_intensity": lt.separable_intensity,
                "speedup": lt.speedup,
                "macs_speedup": lt.macs_speedup,
            }
            for lt in t.layers
        ],
        "total": {
            "standard_ms": t.standard_ms,
            "separable_ms": t.separable_ms,
            "standard_macs": t.standard_macs,
            "separable_macs": t.separable_macs,
            "speedup": t.speedup if t.layers else None,
            "macs_speedup": t.macs_speedup if t.layers else None,
        },
    }
    data["warnings"] = t.warnings
    data["reliable"] = not t.warnings
    if t.skipped:
        data["skipped"] = list(t.skipped)
    return data


def model_table(t: ModelTiming) -> RenderableType:
    heads = ("layer", "written", "standard ms", "separable ms", "spread", "MACs/byte std → sep",
             "speed-up (time)", "speed-up (MACs)")
    feet = ["total", "", _ms(t.standard_ms), _ms(t.separable_ms), "", "",
            _times(t.speedup) if t.layers else "", _times(t.macs_speedup) if t.layers else ""]
    rows = [[lt.name, "dw+pw" if str(lt.written) == "separable" else "conv",
             _ms(lt.standard.median_ms), _ms(lt.separable.median_ms),
             f"{_spread(lt.standard)} / {_spread(lt.separable)}" + (" ⚠" if lt.noisy else ""),
             f"{lt.standard_intensity:.1f} → {lt.separable_intensity:.1f}",
             _times(lt.speedup), _times(lt.macs_speedup)] for lt in t.layers]

    table = fitted_table("Measured with torch: every convolution with an alternative, in "
                         "both forms (convolutions only)", heads, rows,
                         ("MACs/byte std → sep", "written", "spread"), text=("layer", "written"),
                         footer=feet, show_footer=True, footer_style="bold")
    parts: list[RenderableType] = [table]
    if t.layers:
        parts.append(Text(gap_line(t.macs_speedup, t.speedup, t.settings.device),
                          style="bold"))
    else:
        parts.append(Text("no convolution has an alternative form: nothing to time"))
    parts += [Text(f"not timed: {s}", style="yellow") for s in t.skipped]
    parts += warning_lines(t.warnings)
    parts.append(Text("speed-up = standard / separable; normalisation and activation between "
                      "the halves are not timed", style="dim"))
    parts.append(Text(settings_line(t.settings), style="dim"))
    return Group(*parts)


def model_markdown(t: ModelTiming) -> str:
    lines = ["| layer | written | standard ms | separable ms | speed-up (time) | "
             "speed-up (MACs) |", "|---|---|---:|---:|---:|---:|"]
    for lt in t.layers:
        lines.append(f"| {lt.name} | {lt.written} | {_ms(lt.standard.median_ms)} | "
                     f"{_ms(lt.separable.median_ms)} | {_times(lt.speedup)} | "
                     f"{_times(lt.macs_speedup)} |")
    if t.layers:
        lines.append(f"| **total** | | {_ms(t.standard_ms)} | {_ms(t.separable_ms)} | "
                     f"{_times(t.speedup)} | {_times(t.macs_speedup)} |")
        lines += ["", f"- {gap_line(t.macs_speedup, t.speedup, t.settings.device)}"]
    lines += [f"- ⚠ {w}" for w in t.warnings]
    lines += [f"- {settings_line(t.settings)}", ""]
    return "\n".join(lines)
