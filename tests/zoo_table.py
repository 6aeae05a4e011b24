"""Write docs/zoo.md: every torchvision model and the timm list, held against their oracles.

    python -m tests.zoo_table                 # the whole zoo (heavy: run it with nice)
    python -m tests.zoo_table --fast          # the default CI subset only
    python -m tests.zoo_table --out FILE.md
    python -m tests.zoo_table --from-logs run1.log run2.log   # rows printed by earlier runs;
                                                              # a later row replaces an earlier

Each model is analysed in this process, one after the other; the table records what
tests/test_zoo.py asserts (see tests/zoo_cases.py for the oracles).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import platform
import sys
from pathlib import Path

from tests.zoo_cases import (
    TIMM_FAST,
    TIMM_MODELS,
    TORCHVISION_FAST,
    ZooResult,
    check_timm,
    check_torchvision,
    torchvision_models,
)

ROOT = Path(__file__).resolve().parent.parent


def _row(r: ZooResult) -> str:
    mark = "✓" if r.ok else ("error" if r.error else "✗")
    expected = (f"{r.expected_gmacs:.3f}" if r.expected_gmacs is not None else
                (f"{r.expected_macs:,}" if r.expected_macs is not None else ""))
    ours = f"{r.gmacs:.3f}" if r.zoo == "torchvision" else f"{r.macs:,}"
    lb = "≥ " if r.lower_bound else ""
    note = r.error or r.note
    heads = "; ".join(f"{h}: {v['count']} {v['item']}s × {v['macs_per_item']:,}"
                      for h, v in r.heads.items())
    if heads:
        note = f"{heads}; {note}"
    return (f"| {r.name} | {r.family} | {r.input} | {lb}{ours} | {expected} | "
            f"{r.params:,} | {'' if r.expected_params is None else f'{r.expected_params:,}'} | "
            f"{r.execution} | {mark} | {note.replace('|', '/')} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "docs" / "zoo.md"))
    parser.add_argument("--from-logs", nargs="+", metavar="LOG",
                        help="compose the table from rows earlier runs printed (stderr)")
    args = parser.parse_args(argv)
    if args.from_logs:
        Path(args.out).write_text(render_rows(args.from_logs), encoding="utf-8")
        return 0
    tv = [n for n, _ in torchvision_models()]
    if args.fast:
        tv = [n for n in tv if n in TORCHVISION_FAST]
    timm_names = TIMM_FAST if args.fast else TIMM_MODELS
    results: list[ZooResult] = []
    for name in tv:
        results.append(check_torchvision(name))
        print(_row(results[-1]), file=sys.stderr, flush=True)
        gc.collect()
    for name in timm_names:
        results.append(check_timm(name))
        print(_row(results[-1]), file=sys.stderr, flush=True)
        gc.collect()
    Path(args.out).write_text(render(results), encoding="utf-8")
    return 0


def render_rows(logs: list[str]) -> str:
    """The table from rows printed by earlier runs, the last row of a model winning."""
    rows: dict[tuple[str, bool], str] = {}
    for log in logs:
        for line in Path(log).read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.split("|")]
            if len(cells) < 11 or not line.startswith("| "):
                continue
            rows[(cells[1], cells[2] == "timm")] = line
    tv = [r for (name, timm), r in rows.items() if not timm]
    tm = [r for (name, timm), r in rows.items() if timm]

    def ok(r: str) -> bool:
        return r.split("|")[9].strip() == "✓"

    det = [r for r in tv if r.split("|")[2].strip() == "detection"]
    rest = [r for r in tv if r not in det]
    summary = (f"**torchvision: {len(tv)} models analysed; {sum(map(ok, rest))} of {len(rest)} "
               f"non-detection models exact to the published metadata; {sum(map(ok, det))} of "
               f"{len(det)} detectors equal to flop_counter on the same run and, scaled to "
               f"torchvision's head counts, to the published figure. timm: {sum(map(ok, tm))} "
               f"of {len(tm)} exact.**")
    ordered = sorted(tv, key=lambda r: r.split("|")[1].strip()) + tm
    return _document(summary, ordered)


def render(results: list[ZooResult]) -> str:
    tv = [r for r in results if r.zoo == "torchvision"]
    tm = [r for r in results if r.zoo == "timm"]
    det = [r for r in tv if r.family == "detection"]
    exact = [r for r in tv if r.ok and r.family != "detection"]
    summary = (
        f"**torchvision: {len(tv)} models analysed; {len(exact)} of "
        f"{len(tv) - len(det)} non-detection models exact to the published metadata; "
        f"{sum(r.ok for r in det)} of {len(det)} detectors equal to flop_counter on the same "
        f"run and, scaled to torchvision's head counts, to the published figure. "
        f"timm: {sum(r.ok for r in tm)} of {len(tm)} exact.**")
    return _document(summary, [_row(r) for r in results])


def _document(summary: str, rows: list[str]) -> str:
    import timm
    import torch
    import torchvision

    lines = [
        "# The model zoo",
        "",
        "Every torchvision model and a list of timm models, analysed by convcost and held "
        "against numbers convcost did not make. Regenerate with `python -m tests.zoo_table` "
        "(the whole zoo; run it with `nice`, it takes a while) — the same checks as "
        "`pytest -m zoo`.",
        "",
        f"Last run: {datetime.date.today()}, torch {torch.__version__}, torchvision "
        f"{torchvision.__version__}, timm {timm.__version__}, Python "
        f"{platform.python_version()}.",
        "",
        "- **torchvision** (published): every model at the input torchvision measured it at "
        "(classification: the crop size of its default weights' transforms; segmentation "
        "520×520; video 16 frames; optical flow two 512×512 images; detection one 512×512 "
        "image), against `weights.meta[\"_ops\"]` (GMACs, 3 decimals) and `num_params` read "
        "from the weight enums installed with torchvision. Nothing is downloaded: models are "
        "built with random weights.",
        "- **detectors** run once for real on the cpu (their proposals depend on the data); "
        "their MACs are held against `torch.utils.flop_counter` on the same run, and the "
        "note scales the count to the head counts torchvision's published figure assumes "
        "(1000 proposals for most, 0 for the two MobileNet Faster R-CNNs, 0 mask detections "
        "for Mask R-CNN, 100 for Mask R-CNN v2, one keypoint detection for Keypoint R-CNN) "
        "using the cost per proposal / detection convcost reports (`heads` in JSON; a head no "
        "detection reached in the run is costed for one item on the meta device). A detector "
        "is ✓ when both hold: flop_counter agrees on the run, and the scaled count equals the "
        "published figure.",
        "- **int8 quantized** models (`quantize=True`) run once for real; MACs match the "
        "published figure; their params are what the int8 model holds (batch norms folded "
        "into the convolutions), so they are not held against the float `num_params`.",
        "- **timm** (`pretrained=False`, `pretrained_cfg[\"input_size\"]`): MACs against "
        "`torch.utils.flop_counter` on the meta device, params against the sum of parameter "
        "sizes.",
        "",
        summary,
        "",
        "| model | family | input | GMACs (timm: MACs) | expected | params | expected params "
        "| execution | ok | note |",
        "|---|---|---|--:|--:|--:|--:|---|---|---|",
        *rows,
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
