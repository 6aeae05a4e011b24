"""Where the YAML scale time goes, and what two proposed fixes would save (evidence, not code).

    python benchmarks/probe_scale.py 10000            # phases as shipped
    python benchmarks/probe_scale.py 10000 --patched  # with the proposed fixes patched in

The fixes (to be made in their owners' files, see docs/benchmarks.md):

1. ``convcost.core.registry.cost_of`` memoised on ``(op, input shapes, dtype)``: ops are frozen,
   hashable dataclasses, and one layer is costed 5-6 times (shape inference in yaml_spec,
   again in yaml_records, then three ``cost_records`` passes and ``_alternatives`` in
   ``core.analysis.analyze_records``), while repeated blocks repeat the same (op, shape).
2. ``convcost.report.formats.to_json`` without ``indent=2``: an indent makes ``json.dumps``
   fall back from the C encoder to the pure-Python one (about 4× slower on big reports).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def patch() -> None:
    import convcost.core.analysis as analysis
    import convcost.core.registry as registry
    import convcost.core.rewrite as rewrite
    import convcost.frontends.yaml_records as yaml_records
    import convcost.frontends.yaml_spec as yaml_spec
    import convcost.report.analysis as report
    import convcost.report.formats as formats

    original = registry.cost_of
    cache: dict[Any, Any] = {}

    def cost_of(op: Any, inputs: Any, dtype: Any = registry.DType.FLOAT32) -> Any:
        key = (op, tuple(tuple(s) for s in inputs), dtype)
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = original(op, inputs, dtype)
        return hit

    for module in (registry, analysis, rewrite, yaml_records, yaml_spec):
        module.cost_of = cost_of  # type: ignore[attr-defined]
    def to_json(data: Any) -> str:
        return json.dumps(data, ensure_ascii=False) + "\n"

    formats.to_json = report.to_json = to_json  # type: ignore[assignment]


def main() -> None:
    layers = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    patched = "--patched" in sys.argv
    from benchmarks.run import scale_yaml

    t0 = time.perf_counter()
    from convcost.core.analysis import analyze_records
    from convcost.frontends.yaml_records import records_from_spec
    from convcost.frontends.yaml_spec import load_spec
    from convcost.report.analysis import ModelReport

    if patched:
        patch()
    phases = {"imports": time.perf_counter() - t0}
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "scale.yaml"
        path.write_text(scale_yaml(layers // 10))
        t = time.perf_counter()
        spec = load_spec(str(path))
        phases["load_spec (parse + compile)"] = time.perf_counter() - t
        t = time.perf_counter()
        records = records_from_spec(spec)
        phases["records_from_spec"] = time.perf_counter() - t
        t = time.perf_counter()
        a = analyze_records(records, name="s", input_shapes=[(1, *spec.input_shape)])
        phases["analyze_records"] = time.perf_counter() - t
        t = time.perf_counter()
        text = ModelReport(a).to_json()
        phases["to_dict + to_json"] = time.perf_counter() - t
    total = sum(phases.values())
    print(json.dumps({"layers": layers, "patched": patched, "total_s": total,
                      "phases_s": phases, "json_bytes": len(text)}))


if __name__ == "__main__":
    main()
