"""convcost's performance harness: convcost against its peers, in one run on one machine.

    python benchmarks/run.py                  # everything (about 15 minutes on 2 cores)
    python benchmarks/run.py --quick          # fewer runs (about 7 minutes)
    python benchmarks/run.py --smoke          # each light case once, tiny sizes (seconds)
    python benchmarks/run.py --out results.json --only startup,scale

Every case runs in a fresh subprocess (so imports and peak memory are its own); the wall time
and the child's peak RSS come from ``os.wait4``. Cases marked "in-process" also time their own
work from inside (imports excluded). Each case runs several times; the table shows the median
with min and max, and ratios against the peers. Targets are checked, never asserted.

Peers for the torch models (fvcore, torch.utils.flop_counter, ptflops, torchinfo, thop) are in
the ``bench`` extra: ``pip install -e '.[bench]'``; a peer that is not installed is skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve()
SCHEMA = 1
GIB = 1024**3
MIB = 1024**2

# ---------------------------------------------------------------- workers (run in a child)
# A worker prints one JSON line as its last line of stdout: {"inner_s": ..., ...}.


def _emit(data: dict[str, Any]) -> None:
    sys.stdout.write("\n" + json.dumps(data) + "\n")
    sys.stdout.flush()


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


def _torchvision_or_ours(name: str) -> Callable[[], Any]:
    try:
        import torchvision

        factory: Callable[[], Any] = getattr(torchvision.models, name)
        return factory
    except ImportError:
        sys.path.insert(0, str(ROOT))
        from benchmarks import models

        ours: Callable[[], Any] = getattr(models, name)
        return ours


def _factory(name: str) -> Callable[[], Any]:
    """Resolve (and import) the model's factory; call before starting the clock."""
    if name == "llm_7b":
        sys.path.insert(0, str(ROOT))
        from benchmarks.models import llm_7b

        return llm_7b
    return _torchvision_or_ours(name)


def _build(name: str, device: str) -> Any:
    import torch

    with torch.device(device):
        return _factory(name)().eval()


def _input(name: str, device: str = "cpu") -> Any:
    import torch

    if name == "llm_7b":
        return torch.zeros(1, 128, dtype=torch.int64, device=device)
    return torch.zeros(1, 3, 224, 224, device=device)


def worker_cli(*args: str) -> None:
    """Run the convcost CLI in-process, stdout to /dev/null; time the command itself."""
    t0 = time.perf_counter()
    from convcost.cli.app import app

    t1 = time.perf_counter()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        code = app(args=list(args), standalone_mode=False)
    t2 = time.perf_counter()
    _emit({"inner_s": t2 - t1, "import_s": t1 - t0, "exit_code": code,
           "torch_imported": "torch" in sys.modules})


def worker_api(path: str) -> None:
    """The Python API on a YAML file, as a library user calls it: ``convcost.analyze`` and
    the report's JSON (the CLI's worker does the same work through the command)."""
    t0 = time.perf_counter()
    import convcost

    t1 = time.perf_counter()
    text = convcost.analyze(path, reference=()).to_json()
    t2 = time.perf_counter()
    _emit({"inner_s": t2 - t1, "import_s": t1 - t0, "json_bytes": len(text),
           "torch_imported": "torch" in sys.modules})


def worker_convcost(model: str) -> None:
    """Build on the meta device and count with convcost.analyze (no reference)."""
    import torch

    import convcost

    _factory(model)  # imports torchvision (or our models) outside the timing
    t0 = time.perf_counter()
    m = _build(model, "meta")
    if model == "llm_7b":  # integer token ids: the library entry that takes a dtype
        from convcost.frontends.torch_api import analyze_model

        macs = analyze_model(m, "1,128:int64").totals.macs
    else:
        macs = convcost.analyze(m, input_shape=(1, 3, 224, 224), reference=()).totals.macs
    _emit({"inner_s": time.perf_counter() - t0, "macs": macs,
           "torch": torch.__version__,
           # an eager model needs no torch._dynamo unless one of torch's own kernels imports it
           "dynamo_imported": "torch._dynamo" in sys.modules})


def worker_fvcore(model: str) -> None:
    import logging

    import torch
    from fvcore.nn import FlopCountAnalysis

    logging.disable(logging.WARNING)
    _factory(model)  # imports torchvision (or our models) outside the timing
    t0 = time.perf_counter()
    device = "meta" if model == "llm_7b" else "cpu"
    m = _build(model, device)
    try:
        with torch.no_grad():
            fca = FlopCountAnalysis(m, _input(model, device))
            fca.unsupported_ops_warnings(False)
            fca.uncalled_modules_warnings(False)
            total = int(fca.total())
    except Exception as e:
        _emit({"inner_s": time.perf_counter() - t0, "error": _first_line(e)})
        return
    _emit({"inner_s": time.perf_counter() - t0, "macs": total})


def worker_flop_counter(model: str) -> None:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    _factory(model)  # imports torchvision (or our models) outside the timing
    t0 = time.perf_counter()
    m = _build(model, "cpu")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        m(_input(model))
    _emit({"inner_s": time.perf_counter() - t0, "macs": counter.get_total_flops() // 2})


def worker_ptflops(model: str) -> None:
    from ptflops import get_model_complexity_info

    _factory(model)  # imports torchvision (or our models) outside the timing
    t0 = time.perf_counter()
    m = _build(model, "cpu")
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        macs, _ = get_model_complexity_info(m, (3, 224, 224), as_strings=False,
                                            print_per_layer_stat=False, verbose=False)
    _emit({"inner_s": time.perf_counter() - t0, "macs": int(macs or 0)})


def worker_torchinfo(model: str) -> None:
    from torchinfo import summary

    _factory(model)  # imports torchvision (or our models) outside the timing
    t0 = time.perf_counter()
    m = _build(model, "cpu")
    s = summary(m, input_size=(1, 3, 224, 224), verbose=0)
    _emit({"inner_s": time.perf_counter() - t0, "macs": int(s.total_mult_adds)})


def worker_thop(model: str) -> None:
    from thop import profile

    _factory(model)  # imports torchvision (or our models) outside the timing
    t0 = time.perf_counter()
    m = _build(model, "cpu")
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        macs, _ = profile(m, inputs=(_input(model),), verbose=False)
    _emit({"inner_s": time.perf_counter() - t0, "macs": int(macs)})


def worker_fvcore_layer() -> None:
    """fvcore counting the layer of the start-up case: a 3×3 conv, 32 -> 64 channels."""
    t0 = time.perf_counter()
    import torch
    from fvcore.nn import FlopCountAnalysis
    from torch import nn

    conv = nn.Conv2d(32, 64, 3, padding=1, bias=False)
    fca = FlopCountAnalysis(conv, torch.zeros(1, 32, 1, 1))
    fca.unsupported_ops_warnings(False)
    _emit({"inner_s": time.perf_counter() - t0, "macs": int(fca.total())})


WORKERS: dict[str, Callable[..., None]] = {
    "cli": worker_cli,
    "api": worker_api,
    "convcost": worker_convcost,
    "fvcore": worker_fvcore,
    "flop_counter": worker_flop_counter,
    "ptflops": worker_ptflops,
    "torchinfo": worker_torchinfo,
    "thop": worker_thop,
    "fvcore_layer": worker_fvcore_layer,
}

# ---------------------------------------------------------------- measuring a case


@dataclass
class Stat:
    median: float
    min: float
    max: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat | None:
        if not values:
            return None
        return cls(statistics.median(values), min(values), max(values), len(values))


@dataclass
class Case:
    name: str
    group: str
    label: str
    argv: list[str]
    runs: int
    timeout: float = 900.0
    expect_json_stdout: bool = False
    expect_exit: int = 0
    """The exit code a run must end with (2 for an input convcost must refuse)."""
    wall_s: Stat | None = None
    cpu_s: Stat | None = None
    inner_s: Stat | None = None
    rss_mib: Stat | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.skipped is None and self.wall_s is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["command"] = " ".join(self.argv)
        del data["argv"]
        data["ok"] = self.ok
        return data


class _HighWater(threading.Thread):
    """A child's own peak RSS: ``VmHWM`` of ``/proc/PID/status``, read while it runs.

    ``ru_maxrss`` from ``wait4`` cannot serve on Linux: a forked child starts with its parent's
    high-water mark and keeps it across ``exec``, so every case would report at least this
    harness's own size (hundreds of MiB once the 100,000-layer files were generated)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.path = Path(f"/proc/{pid}/status")
        self.peak_kib = 0
        self.done = threading.Event()

    def read(self) -> None:
        try:
            for line in self.path.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_kib = max(self.peak_kib, int(line.split()[1]))
                    return
        except (OSError, ValueError, IndexError):  # exited, or not Linux
            return

    def run(self) -> None:
        while not self.done.wait(0.005):
            self.read()


def run_once(argv: Sequence[str], timeout: float, tmp: Path,
             expect_exit: int = 0) -> tuple[float, float, int, str, float]:
    """One fresh process: (wall seconds, peak RSS MiB, exit code, stdout text, CPU seconds)."""
    out_path = tmp / "stdout.txt"
    with open(out_path, "wb") as out, open(tmp / "stderr.txt", "wb") as err:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]), "NO_COLOR": "1",
            "PYTHONWARNINGS": "ignore"}
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, cwd=ROOT, env=env)
        high = _HighWater(proc.pid)
        high.read()
        high.start()
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            high.done.set()
            high.join()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = out_path.read_text(errors="replace")
    if proc.returncode < 0:
        raise TimeoutError(f"killed after {timeout:.0f} s")
    if proc.returncode != expect_exit:
        tail = (tmp / "stderr.txt").read_text(errors="replace").strip().splitlines()
        raise RuntimeError(f"exit {proc.returncode}: {tail[-1] if tail else ''}"[:300])
    peak_kib = high.peak_kib or usage.ru_maxrss  # ru_maxrss (KiB): where /proc is not there
    return (wall, peak_kib * 1024 / MIB, proc.returncode, text, usage.ru_utime + usage.ru_stime)


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    return {}


def measure(case: Case, tmp: Path, log: Callable[[str], None]) -> Case:
    return measure_together([case], tmp, log)[0]


def measure_together(cases: Sequence[Case], tmp: Path, log: Callable[[str], None]) -> list[Case]:
    """Run the cases round-robin (run 1 of each, then run 2 of each, ...), so that cases
    compared with each other see the same load on a shared machine."""
    live = [c for c in cases if not c.skipped]
    walls: dict[str, list[float]] = {c.name: [] for c in live}
    cpus: dict[str, list[float]] = {c.name: [] for c in live}
    inners: dict[str, list[float]] = {c.name: [] for c in live}
    rss: dict[str, list[float]] = {c.name: [] for c in live}
    for i in range(max((c.runs for c in live), default=0)):
        for case in live:
            if i >= case.runs or case.error:
                continue
            log(f"  {case.name} run {i + 1}/{case.runs}")
            try:
                wall, peak, _, text, cpu = run_once(case.argv, case.timeout, tmp,
                                                    case.expect_exit)
            except (RuntimeError, TimeoutError, OSError) as e:
                case.error = str(e)
                continue
            walls[case.name].append(wall)
            cpus[case.name].append(cpu)
            rss[case.name].append(peak)
            if case.expect_exit:
                said = (tmp / "stderr.txt").read_text(errors="replace").strip().splitlines()
                case.payload = {"exit_code": case.expect_exit,
                                "stderr": said[-1][:300] if said else ""}
                continue
            if case.expect_json_stdout:
                try:
                    json.loads(text)
                except json.JSONDecodeError as e:
                    case.error = f"stdout is not JSON: {e}"
                continue
            payload = _last_json(text)
            if "error" in payload:
                case.error = f"fails: {payload['error']}"
                case.payload = payload
                continue
            case.payload = payload
            if "inner_s" in payload:
                inners[case.name].append(float(payload["inner_s"]))
    for case in live:
        case.wall_s, case.cpu_s = Stat.of(walls[case.name]), Stat.of(cpus[case.name])
        case.inner_s, case.rss_mib = Stat.of(inners[case.name]), Stat.of(rss[case.name])
    return list(cases)


# ---------------------------------------------------------------- the cases


def _convcost_cmd() -> list[str]:
    script = Path(sys.executable).parent / "convcost"
    return [str(script)] if script.exists() else [sys.executable, "-m", "convcost"]


def _worker(name: str, *args: str) -> list[str]:
    return [sys.executable, str(HERE), "--worker", name, *args]


def scale_yaml(blocks: int) -> str:
    """A YAML network of ``10 × blocks`` layers: conv 3×3, dw 3×3, pw 1×1 with BN and ReLU."""
    return f"""name: Scale{blocks * 10}
input: [32, 8, 8]
layers:
  - block:
      name: stack
      repeat: {blocks}
      layers:
        - conv: {{out: 32, kernel: 3}}
        - batchnorm
        - activation: relu
        - depthwise: {{kernel: 3}}
        - batchnorm
        - activation: relu
        - pointwise: {{out: 32}}
        - batchnorm
        - activation: relu
        - dropout: 0.1
"""


def flat_yaml(layers: int) -> str:
    """The network of :func:`scale_yaml` written out layer by layer: a large honest file."""
    block = ["  - conv: {out: 32, kernel: 3}", "  - batchnorm", "  - activation: relu",
             "  - depthwise: {kernel: 3}", "  - batchnorm", "  - activation: relu",
             "  - pointwise: {out: 32}", "  - batchnorm", "  - activation: relu",
             "  - dropout: 0.1"]
    lines = [f"name: Flat{layers}", "input: [32, 8, 8]", "layers:"]
    for _ in range(layers // 10):
        lines += block
    return "\n".join(lines) + "\n"


def alias_bomb() -> str:
    """Eight levels of ten aliases each: 10^8 nodes if expanded."""
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 40) -> str:
    """Each mapping merges the previous one twice: 2^levels pairs for a merge that copies
    merged pairs without de-duplication (PyYAML 6.0.1's flatten_mapping)."""
    lines = ["m0: &m0 {k0: 0, j0: 0}"]
    for i in range(1, levels):
        lines.append(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: {i}, j{i}: {i}}}")
    return "\n".join(lines) + "\n"


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _source(model: str) -> str:
    if model == "llm_7b":
        return "benchmarks/models.py:llm_7b"
    if _have("torchvision"):
        return f"torchvision.models:{model}"
    return f"benchmarks/models.py:{model}"


@dataclass
class Plan:
    light: int
    heavy: int
    sizes: tuple[int, ...]
    models: tuple[str, ...]
    llm: bool
    peers: bool
    depth_layers: int = 20_000


FORMATS: dict[str, tuple[str, list[str]]] = {
    "table": ("table (default)", []),
    "json": ("--format json", ["--format", "json"]),
    "csv": ("--format csv", ["--format", "csv"]),
    "markdown": ("--format markdown", ["--format", "markdown"]),
    "svg": ("table + --export report.svg", ["--export", "{tmp}/report.svg"]),
    "html": ("table + --export report.html", ["--export", "{tmp}/report.html"]),
}
"""Every output of `convcost analyze`, as a user asks for it (always with --no-reference: the
reference builds and runs the model in torch, which is measured by the `default` group)."""


def make_cases(plan: Plan, tmp: Path, groups: set[str]) -> list[Case]:
    cc = _convcost_cmd()
    cases: list[Case] = []
    if "startup" in groups:
        imp = Case("import_torch", "startup", 'python -c "import torch"',
                   [sys.executable, "-c", "import torch"], plan.light)
        if not plan.peers:
            imp.skipped = "smoke"
        cases += [
            Case("floor", "startup", 'python -c "import typer, rich, yaml"',
                 [sys.executable, "-c", "import typer, rich, yaml"], plan.light),
            imp,
            Case("cc_compare", "startup", "convcost compare -k 3 --in 32 --out 64 --no-reference",
                 [*cc, "compare", "--kernel", "3", "--in", "32", "--out", "64",
                  "--no-reference"], plan.light),
            Case("cc_yaml", "startup",
                 "convcost analyze configs/mobilenet_v1.yaml --no-reference --format json",
                 [*cc, "analyze", "configs/mobilenet_v1.yaml", "--no-reference", "--format",
                  "json"], plan.light, expect_json_stdout=True),
            Case("cc_yaml_inproc", "startup", "same, in-process (is torch imported?)",
                 _worker("cli", "analyze", "configs/mobilenet_v1.yaml", "--no-reference",
                         "--format", "json"), plan.light),
        ]
        fv = Case("fvcore_layer", "startup", "script: fvcore counts the same 3×3 conv",
                  _worker("fvcore_layer"), plan.light)
        if not plan.peers or not _have("fvcore"):
            fv.skipped = "fvcore not installed" if plan.peers else "smoke"
        cases.append(fv)
    if "default" in groups:
        base = Case("import_torch_fvcore", "default", 'python -c "import torch, fvcore"',
                    [sys.executable, "-c", "import torch, fvcore"], plan.light)
        ours = Case("cc_default", "default", "convcost analyze configs/mobilenet_v1.yaml "
                    "(table, fvcore cross-check)",
                    [*cc, "analyze", "configs/mobilenet_v1.yaml"], plan.light)
        if not plan.peers:
            base.skipped = ours.skipped = "smoke"
        cases += [base, ours]
    if "formats" in groups:
        for layers in plan.sizes:
            path = tmp / f"scale_{layers}.yaml"
            path.write_text(scale_yaml(layers // 10))
            runs = plan.light if layers <= 10_000 else max(1, plan.heavy - 1)
            for fmt, (label, flags) in FORMATS.items():
                argv = [*cc, "analyze", str(path), "--no-reference",
                        *(f.format(tmp=tmp) for f in flags)]
                cases.append(Case(f"fmt_{fmt}_{layers}", "formats",
                                  f"{layers:,} layers: {label}", argv, runs,
                                  expect_json_stdout=fmt == "json"))
    if "depth" in groups:
        for layers in (plan.depth_layers // 10, plan.depth_layers):
            path = tmp / f"scale_{layers}.yaml"
            path.write_text(scale_yaml(layers // 10))
            # --depth 2 at two sizes (is it linear?) and --depth 3 at the larger one
            for depth in (2, 3) if layers == plan.depth_layers else (2,):
                cases.append(Case(f"depth{depth}_{layers}", "depth",
                                  f"{layers:,} layers: --depth {depth} (table)",
                                  [*cc, "analyze", str(path), "--no-reference", "--depth",
                                   str(depth)], plan.light))
    if "scale" in groups:
        for layers in plan.sizes:
            path = tmp / f"scale_{layers}.yaml"
            path.write_text(scale_yaml(layers // 10))
            runs = plan.light if layers <= 10_000 else max(1, plan.heavy - 1)
            cases.append(Case(f"scale_{layers}", "scale", f"{layers:,} YAML layers",
                              _worker("cli", "analyze", str(path), "--no-reference",
                                      "--format", "json"), runs))
            flat = tmp / f"flat_{layers}.yaml"
            flat.write_text(flat_yaml(layers))
            cases.append(Case(f"flat_{layers}", "scale",
                              f"{layers:,} YAML layers written out (no repeat)",
                              _worker("cli", "analyze", str(flat), "--no-reference",
                                      "--format", "json"), runs))
            cases.append(Case(f"api_{layers}", "scale",
                              f"{layers:,} YAML layers: convcost.analyze(path).to_json()",
                              _worker("api", str(path)), runs))
        for name, text, what in (("alias", alias_bomb(), "alias bomb"),
                                 ("merge", merge_bomb(), "merge-key bomb")):
            path = tmp / f"{name}_bomb.yaml"
            path.write_text(text)
            cases.append(Case(f"bomb_{name}", "scale",
                              f"{what} ({len(text.encode()):,} bytes): refused, exit 2",
                              [*cc, "analyze", str(path), "--no-reference", "--format",
                               "json"], plan.light, expect_exit=2))
    if "torch" in groups:
        for model in plan.models:
            label = {"resnet50": "ResNet-50", "vit_b_16": "ViT-B/16"}[model]
            cases += [
                Case(f"{model}_convcost", "torch", f"{label}: convcost.analyze (meta, in-process)",
                     _worker("convcost", model), plan.heavy),
                Case(f"{model}_cli", "torch", f"{label}: convcost analyze (whole process)",
                     [*cc, "analyze", _source(model), "--input", "1,3,224,224",
                      "--no-reference", "--format", "json"], plan.heavy,
                     expect_json_stdout=True),
            ]
            for peer, module, what in (
                ("fvcore", "fvcore", "fvcore FlopCountAnalysis"),
                ("flop_counter", "torch", "torch FlopCounterMode"),
                ("ptflops", "ptflops", "ptflops"),
                ("torchinfo", "torchinfo", "torchinfo summary"),
                ("thop", "thop", "thop profile"),
            ):
                c = Case(f"{model}_{peer}", "torch", f"{label}: {what} (cpu)",
                         _worker(peer, model), plan.heavy)
                if not _have(module):
                    c.skipped = f"{module} not installed (pip install -e '.[bench]')"
                cases.append(c)
    if "llm" in groups and plan.llm:
        cases.append(Case("llm_cli", "llm", "7B transformer: convcost analyze (meta, process)",
                          [*cc, "analyze", _source("llm_7b"), "--input", "1,128:int64",
                           "--no-reference", "--format", "json"], plan.heavy,
                          expect_json_stdout=True))
        cases.append(Case("llm_convcost", "llm", "7B transformer: analyze_model (in-process)",
                          _worker("convcost", "llm_7b"), plan.heavy))
        fv = Case("llm_fvcore_meta", "llm", "7B transformer: fvcore on the meta model",
                  _worker("fvcore", "llm_7b"), 1, timeout=600)
        if not _have("fvcore"):
            fv.skipped = "fvcore not installed"
        cases.append(fv)
    return cases


# ---------------------------------------------------------------- ratios and targets


@dataclass
class Target:
    name: str
    goal: str
    value: str
    met: bool | None
    note: str = ""


def _get(cases: dict[str, Case], name: str) -> Case | None:
    c = cases.get(name)
    return c if c is not None and c.ok else None


def _x(a: float, b: float) -> float:
    return a / b if b else float("nan")


def ratios(cases: dict[str, Case]) -> list[dict[str, Any]]:
    """peer / convcost: above 1 means convcost is faster (or smaller)."""
    out: list[dict[str, Any]] = []

    def add(what: str, peer: str, ours: str, metric: str, value: float) -> None:
        out.append({"what": what, "peer": peer, "convcost": ours, "metric": metric,
                    "ratio": value})

    torch_imp = _get(cases, "import_torch")
    for ours in ("cc_compare", "cc_yaml"):
        c = _get(cases, ours)
        if c and torch_imp and c.wall_s and torch_imp.wall_s:
            add(f"{c.label} vs import torch", "import_torch", ours, "wall",
                _x(torch_imp.wall_s.median, c.wall_s.median))
    fv, cmp_ = _get(cases, "fvcore_layer"), _get(cases, "cc_compare")
    if fv and cmp_ and fv.wall_s and cmp_.wall_s:
        add("one conv: fvcore script vs convcost compare", "fvcore_layer", "cc_compare", "wall",
            _x(fv.wall_s.median, cmp_.wall_s.median))
        if fv.rss_mib and cmp_.rss_mib:
            add("one conv: fvcore script vs convcost compare", "fvcore_layer", "cc_compare",
                "rss", _x(fv.rss_mib.median, cmp_.rss_mib.median))
    for model in ("resnet50", "vit_b_16"):
        ours_in, ours_cli = _get(cases, f"{model}_convcost"), _get(cases, f"{model}_cli")
        for peer in ("fvcore", "flop_counter", "ptflops", "torchinfo", "thop"):
            p = _get(cases, f"{model}_{peer}")
            if p is None:
                continue
            if ours_in and p.inner_s and ours_in.inner_s:
                add(f"{model}: build + count, {peer} vs convcost", f"{model}_{peer}",
                    f"{model}_convcost", "inner", _x(p.inner_s.median, ours_in.inner_s.median))
            if ours_cli and p.wall_s and ours_cli.wall_s:
                add(f"{model}: whole process, {peer} script vs convcost analyze",
                    f"{model}_{peer}", f"{model}_cli", "wall",
                    _x(p.wall_s.median, ours_cli.wall_s.median))
            if ours_cli and p.rss_mib and ours_cli.rss_mib:
                add(f"{model}: peak RSS, {peer} script vs convcost analyze", f"{model}_{peer}",
                    f"{model}_cli", "rss", _x(p.rss_mib.median, ours_cli.rss_mib.median))
    llm, fv7 = _get(cases, "llm_convcost"), _get(cases, "llm_fvcore_meta")
    if llm and fv7 and llm.inner_s and fv7.inner_s:
        add("7B on meta: build + count, fvcore vs convcost", "llm_fvcore_meta", "llm_convcost",
            "inner", _x(fv7.inner_s.median, llm.inner_s.median))
    return out


def scale_rows(cases: dict[str, Case]) -> list[dict[str, Any]]:
    rows = []
    prev: tuple[int, float] | None = None
    for c in sorted((c for c in cases.values() if c.name.startswith("scale_") and c.ok),
                    key=lambda c: int(c.name.split("_")[1])):
        layers = int(c.name.split("_")[1])
        inner = c.inner_s.median if c.inner_s else float("nan")
        growth = None
        if prev is not None:
            growth = {"layers": layers / prev[0], "time": inner / prev[1] if prev[1] else None}
        rows.append({"case": c.name, "layers": layers, "inner_s": inner,
                     "us_per_layer": inner / layers * 1e6,
                     "wall_s": c.wall_s.median if c.wall_s else None,
                     "rss_mib": c.rss_mib.median if c.rss_mib else None, "growth": growth})
        prev = (layers, inner)
    return rows


def targets(cases: dict[str, Case], scale: list[dict[str, Any]]) -> list[Target]:
    out: list[Target] = []
    torch_imp, yaml, inproc = (_get(cases, n) for n in
                               ("import_torch", "cc_yaml", "cc_yaml_inproc"))
    if yaml and torch_imp and yaml.wall_s and torch_imp.wall_s:
        share = yaml.wall_s.median / torch_imp.wall_s.median
        no_torch = inproc is not None and inproc.payload.get("torch_imported") is False
        out.append(Target(
            "yaml-startup", "YAML path imports no torch and takes < 1/4 of `import torch`",
            f"{share:.2f}× of import torch; torch imported: "
            f"{'no' if no_torch else 'yes' if inproc else 'unknown'}",
            share < 0.25 and no_torch))
    by_layers = {r["layers"]: r for r in scale}
    if 10_000 in by_layers:
        r = by_layers[10_000]
        wall = r["wall_s"]
        out.append(Target("scale-10k", "10,000 layers analysed in < 2 s (whole process)",
                          f"{wall:.2f} s process, {r['inner_s']:.2f} s in the command",
                          wall is not None and wall < 2.0))
    if 100_000 in by_layers and 10_000 in by_layers:
        g = by_layers[100_000]["growth"]["time"]
        out.append(Target("scale-linear", "time grows linearly (10k → 100k within 12×)",
                          f"{g:.1f}× for 10× the layers", g is not None and g <= 12.0))
    out += speed_targets(cases)
    ours_in, fv = _get(cases, "resnet50_convcost"), _get(cases, "resnet50_fvcore")
    if ours_in and fv and ours_in.inner_s and fv.inner_s:
        r = fv.inner_s.median / ours_in.inner_s.median
        out.append(Target("resnet50-inproc",
                          "ResNet-50 build + count ≥ 2× as fast as build + fvcore",
                          f"{r:.2f}×", r >= 2.0))
    cli = _get(cases, "resnet50_cli")
    if cli and fv and cli.wall_s and fv.wall_s and cli.rss_mib and fv.rss_mib:
        rt, rm = fv.wall_s.median / cli.wall_s.median, fv.rss_mib.median / cli.rss_mib.median
        out.append(Target("resnet50-process",
                          "`convcost analyze` ResNet-50 process no slower, no larger than "
                          "an fvcore script",
                          f"fvcore script {rt:.2f}× the time, {rm:.2f}× the peak RSS",
                          rt >= 1.0 and rm >= 1.0))
    llm = _get(cases, "llm_cli")
    if llm and llm.wall_s and llm.rss_mib:
        out.append(Target("llm-7b", "7B transformer on meta: < 10 s and < 1.5 GiB peak RSS",
                          f"{llm.wall_s.median:.2f} s, {llm.rss_mib.median / 1024:.2f} GiB",
                          llm.wall_s.median < 10 and llm.rss_mib.median < 1.5 * 1024))
    return out


def _ratio(cases: dict[str, Case], a: str, b: str) -> tuple[float, float] | None:
    """(wall, CPU) of case ``a`` over case ``b``, medians; None when either is missing."""
    x, y = _get(cases, a), _get(cases, b)
    if not (x and y and x.wall_s and y.wall_s and x.cpu_s and y.cpu_s):
        return None
    return _x(x.wall_s.median, y.wall_s.median), _x(x.cpu_s.median, y.cpu_s.median)


def _seconds(cases: dict[str, Case], name: str) -> tuple[float, float] | None:
    c = _get(cases, name)
    if not (c and c.wall_s and c.cpu_s):
        return None
    return c.wall_s.median, c.cpu_s.median


def speed_targets(cases: dict[str, Case]) -> list[Target]:
    """Issue 12's targets: start-up, the default command, tables, --depth, linear formats."""
    out: list[Target] = []
    for name, what in (("cc_compare", "compare"), ("cc_yaml", "YAML path (--format json)")):
        r = _ratio(cases, name, "floor")
        if r:
            out.append(Target(f"startup-{name.removeprefix('cc_')}",
                              f"{what} within 2× of `python -c \"import typer, rich, yaml\"`",
                              f"{r[0]:.2f}× wall, {r[1]:.2f}× CPU", r[0] <= 2.0))
    r = _ratio(cases, "cc_default", "import_torch_fvcore")
    if r:
        out.append(Target("default-mobilenet", "`convcost analyze configs/mobilenet_v1.yaml` "
                          "(with fvcore) ≤ 1.2× `python -c \"import torch, fvcore\"`",
                          f"{r[0]:.2f}× wall, {r[1]:.2f}× CPU", r[0] <= 1.2))
    for layers, limit in ((10_000, 2.0), (100_000, 20.0)):
        t = _seconds(cases, f"fmt_table_{layers}")
        if t:
            out.append(Target(f"table-{layers // 1000}k", f"default table of {layers:,} layers "
                              f"< {limit:.0f} s (whole process)",
                              f"{t[0]:.2f} s wall, {t[1]:.2f} s CPU", t[0] < limit))
    depths = sorted(int(n.split("_")[1]) for n in cases if n.startswith("depth2_"))
    t = _seconds(cases, f"depth2_{depths[-1]}") if depths else None
    if depths and t:
        layers = depths[-1]
        out.append(Target(f"depth2-{layers // 1000}k",
                          f"--depth 2 at {layers:,} layers < 3 s (whole process)",
                          f"{t[0]:.2f} s wall, {t[1]:.2f} s CPU", t[0] < 3.0))
    if len(depths) > 1:
        small, big = depths[0], depths[-1]
        r = _ratio(cases, f"depth2_{big}", f"depth2_{small}")
        if r:
            out.append(Target("linear-depth2", f"--depth 2: {big:,} layers ≤ "
                              f"{1.2 * big / small:.0f}× the CPU time of {small:,}",
                              f"{r[1]:.1f}× CPU, {r[0]:.1f}× wall", r[1] <= 1.2 * big / small))
    for fmt in FORMATS:
        r = _ratio(cases, f"fmt_{fmt}_100000", f"fmt_{fmt}_10000")
        if r:
            out.append(Target(f"linear-{fmt}", f"{FORMATS[fmt][0]}: 100,000 layers ≤ 12× "
                              "the CPU time of 10,000", f"{r[1]:.1f}× CPU, {r[0]:.1f}× wall",
                              r[1] <= 12.0))
    a, b = _get(cases, "flat_100000"), _get(cases, "flat_10000")
    if a and b and a.inner_s and b.inner_s:
        g = _x(a.inner_s.median, b.inner_s.median)
        out.append(Target("linear-flat", "100,000 layers written out in full: ≤ 12× the time "
                          "of 10,000 (in the command)", f"{g:.1f}×", g <= 12.0))
    for layers in (10_000, 100_000):
        api, cli = _get(cases, f"api_{layers}"), _get(cases, f"scale_{layers}")
        if api and cli and api.inner_s and cli.inner_s:
            g = _x(api.inner_s.median, cli.inner_s.median)
            out.append(Target(f"api-{layers // 1000}k", f"convcost.analyze + to_json at "
                              f"{layers:,} layers as fast as the CLI's --format json "
                              "(in-process, within 1.2×)", f"{g:.2f}× the CLI", g <= 1.2))
    for name in ("alias", "merge"):
        c = cases.get(f"bomb_{name}")
        if c is not None and not c.skipped:
            t = _seconds(cases, c.name)
            out.append(Target(f"bomb-{name}", f"a YAML {name} bomb refused (exit 2) in < 1 s",
                              f"{t[0]:.2f} s wall, {t[1]:.2f} s CPU: {c.payload.get('stderr')}"
                              if t else (c.error or "no result"), bool(t and t[0] < 1.0)))
    return out


# ---------------------------------------------------------------- machine and output


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = int(line.split()[1]) * 1024
    versions: dict[str, str | None] = {}
    code = ("import json, importlib.metadata as m\nout = {}\n"
            "for p in ('torch', 'torchvision', 'fvcore', 'ptflops', 'torchinfo', 'thop', "
            "'convcost', 'rich', 'typer'):\n"
            "    try: out[p] = m.version(p)\n    except m.PackageNotFoundError: out[p] = None\n"
            "print(json.dumps(out))")
    with contextlib.suppress(subprocess.SubprocessError, json.JSONDecodeError):
        versions = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                             text=True, check=True).stdout)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram / GIB, 1) if ram else None,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def _fmt_s(s: Stat | None) -> str:
    if s is None:
        return ""
    return f"{s.median:.2f} ({s.min:.2f}–{s.max:.2f})"


def _ratio_cell(name: str, ratio_rows: list[dict[str, Any]]) -> str:
    cells = []
    for r in ratio_rows:
        if r["peer"] == name and r["metric"] in ("inner", "wall"):
            better = "faster" if r["ratio"] >= 1 else "slower"
            v = r["ratio"] if r["ratio"] >= 1 else 1 / r["ratio"]
            what = "in-process" if r["metric"] == "inner" else "process"
            cells.append(f"convcost {v:.1f}× {better} ({what})")
        if r["peer"] == name and r["metric"] == "rss":
            cells.append(f"RSS ×{r['ratio']:.2f} of ours")
    return "; ".join(cells)


def render(result: dict[str, Any], cases: list[Case]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(150, shutil.get_terminal_size().columns))
    m = result["machine"]
    console.print(f"[bold]convcost benchmarks[/bold] — {m['cpu']}, {m['cores']} cores, "
                  f"{m['ram_gib']} GiB, Python {m['python']}, torch "
                  f"{m['versions'].get('torch')}, load {m['load_average']}")
    table = Table(header_style="bold", show_lines=False)
    for h in ("group", "case", "wall s (min–max)", "CPU s", "in-process s", "peak RSS MiB",
              "vs convcost / note"):
        table.add_column(h, justify="left" if h in ("group", "case", "vs convcost / note")
                         else "right", overflow="fold")
    ratio_rows = result["ratios"]
    torch_imp = next((c for c in cases if c.name == "import_torch" and c.ok), None)
    last = None
    for c in cases:
        note = f"skipped: {c.skipped}" if c.skipped else (c.error or "")
        if c.ok:
            note = _ratio_cell(c.name, ratio_rows) if c.name != "import_torch" else "baseline"
            if c.group == "startup" and c.name.startswith("cc_") and torch_imp and c.wall_s \
                    and torch_imp.wall_s:
                note = f"{c.wall_s.median / torch_imp.wall_s.median:.2f}× of import torch"
            floor = next((f for f in cases if f.name == "floor" and f.ok), None)
            if c.group == "startup" and c.name.startswith("cc_") and floor and c.wall_s \
                    and floor.wall_s:
                note = "; ".join(filter(None, [
                    note, f"{c.wall_s.median / floor.wall_s.median:.2f}× the floor"]))
            base = next((f for f in cases if f.name == "import_torch_fvcore" and f.ok), None)
            if c.name == "cc_default" and base and base.wall_s and c.wall_s:
                note = f"{c.wall_s.median / base.wall_s.median:.2f}× import torch, fvcore"
            if c.group == "formats" and c.wall_s and c.name.endswith("_100000"):
                small = next((f for f in cases if f.ok and f.wall_s and
                              f.name == c.name.replace("_100000", "_10000")), None)
                if small and small.wall_s:
                    note = f"×{c.wall_s.median / small.wall_s.median:.1f} of 10,000 layers"
            if "torch_imported" in c.payload and c.group == "startup":
                note = "; ".join(filter(None, [note, "torch imported: " + (
                    "yes" if c.payload["torch_imported"] else "no")]))
            if c.group == "scale" and c.name.startswith("flat_") and c.inner_s:
                layers = int(c.name.split("_")[1])
                note = f"{c.inner_s.median / layers * 1e6:.0f} µs/layer"
            if c.group == "scale" and c.name.startswith("scale_"):
                row = next(r for r in result["scale"] if r["case"] == c.name)
                g = row["growth"]
                note = f"{row['us_per_layer']:.0f} µs/layer" + (
                    f"; ×{g['time']:.1f} time for ×{g['layers']:.0f} layers" if g else "")
            if "macs" in c.payload and c.group in ("torch", "llm"):
                note = (note + "; " if note else "") + f"{c.payload['macs'] / 1e9:.2f} GMACs"
            if "dynamo_imported" in c.payload:
                note += "; torch._dynamo imported: " + (
                    "yes" if c.payload["dynamo_imported"] else "no")
            if c.name.startswith("api_") and c.inner_s:
                cli = next((f for f in cases if f.ok and f.inner_s and
                            f.name == c.name.replace("api_", "scale_")), None)
                if cli and cli.inner_s:
                    note = f"{c.inner_s.median / cli.inner_s.median:.2f}× the CLI's in-process"
            if c.expect_exit:
                note = str(c.payload.get("stderr", ""))
            if c.name.startswith("depth2_") and c.cpu_s:
                small = min((f for f in cases if f.ok and f.cpu_s and
                             f.name.startswith("depth2_")),
                            key=lambda f: int(f.name.split("_")[1]))
                if small is not c and small.cpu_s:
                    note = f"×{c.cpu_s.median / small.cpu_s.median:.1f} CPU of {small.label}"
        table.add_row(c.group if c.group != last else "", c.label, _fmt_s(c.wall_s),
                      f"{c.cpu_s.median:.2f}" if c.cpu_s else "",
                      _fmt_s(c.inner_s), f"{c.rss_mib.median:,.0f}" if c.rss_mib else "",
                      note, end_section=False)
        last = c.group
    console.print(table)
    t2 = Table(title="Targets", title_justify="left", header_style="bold")
    for h in ("target", "goal", "measured", "status"):
        t2.add_column(h, overflow="fold")
    for t in result["targets"]:
        mark = {True: "[green]met[/green]", False: "[red]missed[/red]",
                None: "n/a"}[t["met"]]
        t2.add_row(t["name"], t["goal"], t["value"], mark)
    console.print(t2)
    console.print("[dim]ratios: peer time (or RSS) / convcost's; above 1 means convcost is "
                  "faster (smaller). Medians of the runs shown.[/dim]")


# ---------------------------------------------------------------- main


def byte_compile(log: Callable[[str], None]) -> str:
    """Write convcost's bytecode (``__pycache__``, ignored by git) before measuring, as
    ``pip install`` does: the peers and the floor (typer, rich, yaml, torch) are measured with
    theirs. Without it, under ``PYTHONDONTWRITEBYTECODE=1`` every measured process compiles
    every convcost module it imports from source again (0.05–0.07 s of the YAML path's
    start-up on this machine's 2 cores)."""
    import compileall

    ok = compileall.compile_dir(str(ROOT / "convcost"), quiet=1)
    what = "compiled before measuring" if ok else "compiling failed; measured as found"
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        what += " (PYTHONDONTWRITEBYTECODE is set: no other bytecode is written)"
    log(f"convcost bytecode: {what}")
    return what


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer runs (3 light, 2 heavy, 1 at 100k)")
    ap.add_argument("--smoke", action="store_true",
                    help="each light case once at tiny sizes; no torch models (for tests)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results.json"),
                    help="where to write the JSON results")
    ap.add_argument("--only", default="startup,default,formats,depth,scale,torch,llm",
                    help="comma-separated groups: startup, default, formats, depth, scale, "
                    "torch, llm")
    ap.add_argument("--runs", type=int, default=None, help="runs per light case")
    ap.add_argument("--quiet", action="store_true", help="no table, no progress")
    ap.add_argument("--no-compile", action="store_true",
                    help="do not write convcost's bytecode first (with PYTHONDONTWRITEBYTECODE "
                    "set, every process then compiles convcost from source)")
    args = ap.parse_args(argv)

    if args.smoke:
        plan = Plan(light=1, heavy=1, sizes=(100, 1_000), models=(), llm=False, peers=False,
                    depth_layers=1_000)
    elif args.quick:
        plan = Plan(light=3, heavy=2, sizes=(1_000, 10_000, 100_000),
                    models=("resnet50", "vit_b_16"), llm=True, peers=True)
    else:
        plan = Plan(light=5, heavy=3, sizes=(1_000, 10_000, 100_000),
                    models=("resnet50", "vit_b_16"), llm=True, peers=True)
    if args.runs:
        plan.light = args.runs
    groups = {g.strip() for g in args.only.split(",") if g.strip()}
    if args.smoke:
        groups -= {"torch", "llm"}

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    bytecode = "as found (--smoke or --no-compile)"
    if not (args.smoke or args.no_compile):
        bytecode = byte_compile(log)
    with tempfile.TemporaryDirectory(prefix="convcost-bench-") as d:
        tmp = Path(d)
        cases = make_cases(plan, tmp, groups)
        for group in dict.fromkeys(c.group for c in cases):
            members = [c for c in cases if c.group == group]
            log(f"{group}: {', '.join(c.label for c in members)}")
            measure_together(members, tmp, log)
    by_name = {c.name: c for c in cases}
    scale = scale_rows(by_name)
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "mode": "smoke" if args.smoke else "quick" if args.quick else "full",
        "machine": {**machine(), "convcost_bytecode": bytecode},
        "settings": asdict(plan),
        "cases": {c.name: c.to_dict() for c in cases},
        "ratios": ratios(by_name),
        "scale": scale,
        "targets": [asdict(t) for t in targets(by_name, scale)],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    if not args.quiet:
        render(result, cases)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        sys.path.insert(0, str(ROOT))
        WORKERS[sys.argv[2]](*sys.argv[3:])
        sys.exit(0)
    sys.exit(main())
