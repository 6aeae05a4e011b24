"""What a model source string names, before any front-end reads it: the file suffixes of each
kind of source, and the one ``target:name`` splitter (a Windows drive is not a separator).

Imports nothing heavy: the CLI, budgets and the pipeline ask it which front-end to use.
"""

from __future__ import annotations

from pathlib import Path

YAML_SUFFIXES = (".yaml", ".yml")
"""A YAML model description."""
TORCHSCRIPT_SUFFIXES = (".pt", ".ts", ".pth", ".jit")
"""A TorchScript archive (or a torch.save pickle, refused with advice)."""
EXPORT_SUFFIXES = (".pt2",)
"""A torch.export archive."""
TORCH_FILE_SUFFIXES = (*TORCHSCRIPT_SUFFIXES, *EXPORT_SUFFIXES)
"""Every saved torch model."""
ONNX_SUFFIXES = (".onnx",)
"""An ONNX graph."""
PYTHON_SUFFIXES = (".py",)
"""A Python file holding a model class or factory (``file.py:Name``)."""


ZOO_PREFIXES = ("torchvision:", "timm:", "hf:")
"""Model-zoo sources: the zoo's metadata names their input."""


def split_target(source: str) -> tuple[str, str | None]:
    """``target:name`` -> (target, name); without a name -> (source, None).

    ``C:\\models\\net.py`` and ``C:/models/net.py`` are paths, not ``C`` and a name: a name
    never holds a path separator.
    """
    target, sep, name = source.rpartition(":")
    if not sep or not target or "/" in name or "\\" in name:
        return source, None
    return target, name


def is_yaml(source: object) -> bool:
    """``source`` is a YAML description (by its suffix)."""
    return isinstance(source, str | Path) and str(source).lower().endswith(YAML_SUFFIXES)


def is_onnx(source: object) -> bool:
    """``source`` is an ONNX file (by its suffix)."""
    return isinstance(source, str | Path) and str(source).lower().endswith(ONNX_SUFFIXES)


def looks_like_path(source: str) -> bool:
    """The target of ``source`` is a file path (a known suffix or a folder in it), not a
    dotted module name."""
    target = split_target(source)[0].lower()
    suffixes = (*YAML_SUFFIXES, *TORCH_FILE_SUFFIXES, *ONNX_SUFFIXES, *PYTHON_SUFFIXES)
    return target.endswith(suffixes) or "/" in target


def names_its_input(source: object) -> bool:
    """A model-zoo source (``torchvision:resnet50``, ``timm:...``, ``hf:...``, or a torchvision
    factory as ``torchvision.models:resnet50``), whose metadata gives an input when none is."""
    if not isinstance(source, str):
        return False
    text = source.strip()
    target = split_target(text)[0]
    return text.startswith(ZOO_PREFIXES) or target == "torchvision.models" or \
        target.startswith("torchvision.models.")
