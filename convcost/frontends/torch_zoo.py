"""Model-zoo sources: ``torchvision:NAME``, ``timm:NAME`` and ``hf:MODEL_TYPE``.

Each builds a model with random (or no) weights — nothing is downloaded — and knows the input
the model is meant for, from the model's own metadata:

* torchvision: the crop size of the default weights' transforms, read from the weight enums
  installed with torchvision (classification, quantized), or the input torchvision measured its
  published cost at (segmentation 520×520, video 16 frames of the crop size, optical flow two
  512×512 images, detection one 512×512 image). ``weights.meta["_ops"]`` (GMACs) and
  ``num_params`` are kept as the published cost.
* timm: ``pretrained_cfg["input_size"]`` of ``timm.create_model(NAME, pretrained=False)``.
* hf: a Hugging Face model built with ``from_config`` from transformers' default config class
  for the model type (``hf:gpt2``, ``hf:bert``, ``hf:llama``); ``--kwargs`` sets config fields.
  Text models get ``input_ids`` of 1×128 tokens; vision models ``pixel_values`` of the config's
  image size.

``torchvision.models:NAME`` (and ``torchvision.models.detection:NAME``...) are the same models:
they take the same default input.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from convcost.errors import AnalysisError, InputError, first_line
from convcost.frontends.source_kind import ZOO_PREFIXES
from convcost.frontends.torch_build import Built, build
from convcost.frontends.torch_source import InputSpec

PREFIXES = ZOO_PREFIXES

DETECTION_SIZE = 512
SEGMENTATION_SIZE = 520
OPTICAL_FLOW_SIZE = 512
VIDEO_FRAMES = 16


@dataclass(frozen=True)
class ZooInfo:
    """What a zoo says about a model: the input it is meant for, and its published cost."""

    family: str
    inputs: tuple[Any, ...]
    """Positional inputs (InputSpec); keyword inputs in ``kw_inputs``."""
    input_note: str
    published: dict[str, Any] = field(default_factory=dict)
    """``macs`` (int, from GMACs to 3 decimals), ``gmacs``, ``params``, ``weights`` (enum name)."""
    kw_inputs: dict[str, Any] = field(default_factory=dict)


def is_zoo(source: str) -> bool:
    return source.strip().startswith(PREFIXES)


# ---------------------------------------------------------------- torchvision

_FAMILIES = {
    "torchvision.models.segmentation": "segmentation",
    "torchvision.models.detection": "detection",
    "torchvision.models.video": "video",
    "torchvision.models.optical_flow": "optical_flow",
    "torchvision.models.quantization": "quantization",
}


def torchvision_family(name: str) -> str:
    import torchvision.models as tvm

    for module_name, family in _FAMILIES.items():
        module = __import__(module_name, fromlist=["_"])
        if name in tvm.list_models(module=module):
            return family
    if name in tvm.list_models(module=tvm):
        return "classification"
    raise InputError(f"torchvision has no model named {name!r}; "
                     "torchvision.models.list_models() lists them")


def _crop(weights: Any) -> int | None:
    try:
        transform = weights.transforms()
    except Exception:
        return None
    crop = getattr(transform, "crop_size", None)
    if isinstance(crop, (list, tuple)) and crop:
        return int(crop[-1])
    return int(crop) if isinstance(crop, int) else None


def torchvision_info(name: str) -> ZooInfo:
    """The input torchvision measured ``name`` at and its published cost (no download)."""
    import torchvision.models as tvm

    family = torchvision_family(name)
    try:
        weights = tvm.get_model_weights(name).DEFAULT
    except Exception:
        weights = None
    published: dict[str, Any] = {}
    where = ""
    if weights is not None:
        meta = weights.meta
        where = f"{type(weights).__name__}.{weights.name}"
        if "_ops" in meta:
            published["gmacs"] = float(meta["_ops"])
            published["macs"] = round(float(meta["_ops"]) * 1e9)
        if "num_params" in meta:
            published["params"] = int(meta["num_params"])
        if isinstance(meta.get("min_size"), (tuple, list)) and meta["min_size"]:
            published["min_size"] = int(meta["min_size"][0])
        published["weights"] = where
    crop = _crop(weights) if weights is not None else None
    if family in ("classification", "quantization"):
        size = crop or 224
        note = (f"the crop size of {where}'s transforms" if crop else "torchvision's default")
        return ZooInfo(family, (InputSpec((1, 3, size, size)),), note, published)
    if family == "video":
        size = crop or 112
        return ZooInfo(family, (InputSpec((1, 3, VIDEO_FRAMES, size, size)),),
                       f"{VIDEO_FRAMES} frames at the crop size of {where}'s transforms",
                       published)
    if family == "segmentation":
        s = SEGMENTATION_SIZE
        return ZooInfo(family, (InputSpec((1, 3, s, s)),),
                       f"one {s}×{s} image, as torchvision measures segmentation models",
                       published)
    if family == "optical_flow":
        s = OPTICAL_FLOW_SIZE
        return ZooInfo(family, (InputSpec((1, 3, s, s)), InputSpec((1, 3, s, s))),
                       f"two {s}×{s} images, as torchvision measures optical flow", published)
    s = DETECTION_SIZE
    return ZooInfo(family, (InputSpec((1, 3, s, s)),),
                   f"one {s}×{s} image, as torchvision measures detection models", published)


_AS_WITH_WEIGHTS: dict[str, dict[str, Any]] = {
    # built with weights, GoogLeNet drops its auxiliary classifiers (torchvision's builder)
    "googlenet": {"aux_logits": False},
    "quantized_googlenet": {"aux_logits": False},
}
"""Builder arguments that torchvision's weights imply, so that the random-weight model is the
published one."""


def _torchvision(name: str, kwargs: Mapping[str, Any], device: str) -> tuple[Built, ZooInfo]:
    import torchvision.models as tvm

    info = torchvision_info(name)
    if kwargs.get("weights") is not None or kwargs.get("weights_backbone") is not None:
        raise InputError("convcost never downloads weights: drop 'weights' from --kwargs")
    args = {k: v for k, v in kwargs.items() if k != "weights"}
    factory = tvm.get_model_builder(name)
    accepted = inspect.signature(factory).parameters
    if "weights_backbone" in accepted:
        args["weights_backbone"] = None
    if info.family == "quantization":
        args.setdefault("quantize", True)  # what the published quantized weights are
    if "aux_loss" in accepted and info.published:
        args.setdefault("aux_loss", True)  # torchvision's weights build the auxiliary head
    min_size = info.published.get("min_size")
    if min_size and ("image_size" in accepted
                     or factory.__module__.endswith("vision_transformer")):
        args.setdefault("image_size", min_size)  # a ViT's weights fix its image size
    for key, value in _AS_WITH_WEIGHTS.get(name, {}).items():
        args.setdefault(key, value)
    estimate = info.published.get("params")

    def make() -> Any:
        with warnings.catch_warnings():  # quantized tensors, GoogLeNet's init: not the user's
            warnings.simplefilter("ignore")
            return factory(weights=None, **args)

    built = _call(make, f"torchvision:{name}", device, estimate)
    return built, info


# ---------------------------------------------------------------- timm


def _timm(name: str, kwargs: Mapping[str, Any], device: str) -> tuple[Built, ZooInfo]:
    try:
        import timm
    except ImportError:
        raise InputError("timm: sources need the timm package (pip install timm)") from None
    if name not in timm.list_models():
        raise InputError(f"timm has no model named {name!r}; timm.list_models() lists them")
    if kwargs.get("pretrained"):
        raise InputError("convcost never downloads weights: drop 'pretrained' from --kwargs")
    args = {k: v for k, v in kwargs.items() if k != "pretrained"}
    built = _call(lambda: timm.create_model(name, pretrained=False, **args), f"timm:{name}",
                  device, None)
    cfg = getattr(built.model, "pretrained_cfg", None) or {}
    size = cfg.get("input_size") if isinstance(cfg, Mapping) else None
    if isinstance(size, (list, tuple)) and size:
        spec = InputSpec((1, *(int(s) for s in size)))
        note = "timm's pretrained_cfg['input_size']"
    else:
        spec = InputSpec((1, 3, 224, 224))
        note = "timm has no input_size for it; the usual 224×224"
    return built, ZooInfo("timm", (spec,), note)


# ---------------------------------------------------------------- Hugging Face

HF_TOKENS = 128


def _hf(name: str, kwargs: Mapping[str, Any], device: str) -> tuple[Built, ZooInfo]:
    try:
        import transformers
    except ImportError:
        raise InputError("hf: sources need the transformers package") from None
    mapping = transformers.CONFIG_MAPPING
    if name not in mapping:
        raise InputError(f"transformers has no model type {name!r} (e.g. gpt2, bert, llama, t5)")
    args = dict(kwargs)
    head = str(args.pop("head", "")) if "head" in args else ""
    # no key/value cache in the output: the count is the same, and tracing references can
    # then follow the forward (fvcore's tracer takes tensors and tuples only)
    args.setdefault("use_cache", False)
    try:
        config = mapping[name](**args)
    except Exception as err:
        raise InputError(f"hf:{name}: its config refused --kwargs: {first_line(err)}") from None
    auto = {
        "": transformers.AutoModel,
        "causal-lm": transformers.AutoModelForCausalLM,
        "seq2seq-lm": transformers.AutoModelForSeq2SeqLM,
        "image-classification": transformers.AutoModelForImageClassification,
    }
    if head not in auto:
        raise InputError(f"hf: head {head!r} is not one of {', '.join(repr(h) for h in auto)}")
    built = _call(lambda: auto[head].from_config(config),  # type: ignore[no-untyped-call]
                  f"hf:{name}", device, None)
    return built, _hf_inputs(name, config, built.model)


def _hf_inputs(name: str, config: Any, model: Any) -> ZooInfo:
    params = inspect.signature(model.forward).parameters
    if "pixel_values" in params and "input_ids" not in params:
        size = getattr(config, "image_size", 224)
        channels = getattr(config, "num_channels", 3)
        size = int(size if isinstance(size, int) else size[0])
        return ZooInfo("hf", (), f"one {size}×{size} image from {type(config).__name__}",
                       kw_inputs={"pixel_values": InputSpec((1, channels, size, size))})
    if "input_features" in params:
        mels = int(getattr(config, "num_mel_bins", 80))
        frames = 2 * int(getattr(config, "max_source_positions", 1500))
        kw = {"input_features": InputSpec((1, mels, frames))}
        if "decoder_input_ids" in params:
            kw["decoder_input_ids"] = InputSpec((1, 16), "int64")
        return ZooInfo("hf", (), f"{frames} audio frames of {mels} mel bins"
                       + (" and 16 decoder tokens" if "decoder_input_ids" in params else ""),
                       kw_inputs=kw)
    if "input_values" in params:
        return ZooInfo("hf", (), "one second of 16 kHz audio",
                       kw_inputs={"input_values": InputSpec((1, 16000))})
    kw = {"input_ids": InputSpec((1, HF_TOKENS), "int64")}
    note = f"{HF_TOKENS} tokens"
    if "decoder_input_ids" in params and getattr(config, "is_encoder_decoder", False):
        kw["decoder_input_ids"] = InputSpec((1, 16), "int64")
        note += " and 16 decoder tokens"
    return ZooInfo("hf", (), note, kw_inputs=kw)


# ---------------------------------------------------------------- shared


def _call(factory: Any, what: str, device: str, estimate: int | None) -> Built:
    try:
        return build(factory, what, device, estimate_params=estimate)
    except (InputError, AnalysisError):
        raise
    except TypeError as err:
        raise AnalysisError(f"calling {what} failed: {first_line(err)}") from err
    except Exception as err:
        raise AnalysisError(f"{what} raised {first_line(err)}") from err


def load_zoo(source: str, kwargs: Mapping[str, Any], device: str) -> tuple[Built, ZooInfo]:
    """Build ``torchvision:NAME``, ``timm:NAME`` or ``hf:TYPE`` and say what input it wants."""
    zoo, _, name = source.strip().partition(":")
    name = name.strip()
    if not name:
        raise InputError(f"{source!r} names no model; e.g. {zoo}:"
                         + {"torchvision": "resnet50", "timm": "efficientnet_b0"}.get(zoo, "gpt2"))
    if zoo == "torchvision":
        return _torchvision(name, kwargs, device)
    if zoo == "timm":
        return _timm(name, kwargs, device)
    return _hf(name, kwargs, device)


def torchvision_name(target: str, name: str) -> str | None:
    """``torchvision.models[.sub]:NAME`` -> NAME when it is a torchvision model, else None."""
    if not (target == "torchvision.models" or target.startswith("torchvision.models.")):
        return None
    try:
        torchvision_family(name)
    except InputError:
        return None
    return name
