"""The op tables: which aten ops cost nothing, which are activations, element-wise functions or
reductions, and the families of convolution, batch-norm, attention and pooling kernels.

Names are overload packets as torch prints them (``aten.view``). In-place forms (``aten.add_``)
are looked up by their functional name (see :mod:`.classify`), so they are not listed here.
"""

from __future__ import annotations

from convcost.core.ops import ActivationFn, PoolMode

IGNORED: frozenset[str] = frozenset(
    {
        # views and shape changes: no data is touched
        "aten.view", "aten._unsafe_view", "aten.reshape", "aten._reshape_alias", "aten.expand",
        "aten.expand_as", "aten.permute", "aten.transpose", "aten.t", "aten.numpy_T",
        "aten.unsqueeze", "aten.squeeze", "aten.flatten", "aten.unflatten", "aten.view_as",
        "aten.as_strided", "aten.alias", "aten.slice", "aten.select", "aten.split",
        "aten.split_with_sizes", "aten.unsafe_split", "aten.unsafe_split_with_sizes",
        "aten.unsafe_chunk", "aten.unbind", "aten.chunk", "aten.narrow", "aten.detach",
        "aten.lift_fresh", "aten.unfold", "aten.diagonal", "aten.real", "aten.view_as_real",
        "aten.view_as_complex", "aten.movedim", "aten.swapaxes", "aten.swapdims",
        "aten.tensor_split", "aten.hsplit", "aten.vsplit", "aten.dsplit", "aten.mT", "aten.mH",
        "aten.adjoint", "aten.squeeze_copy", "aten.unsqueeze_copy", "aten.view_copy",
        "aten.permute_copy", "aten.transpose_copy", "aten.t_copy", "aten.expand_copy",
        "aten.slice_copy", "aten.select_copy", "aten.split_copy", "aten.split_with_sizes_copy",
        "aten.unbind_copy", "aten.alias_copy", "aten.detach_copy", "aten.as_strided_copy",
        # copies and casts: memory traffic, no arithmetic
        "aten.clone", "aten.contiguous", "aten._to_copy", "aten.to", "aten.copy", "aten.copy_",
        "aten.lift_fresh_copy", "aten.constant_pad_nd", "aten.repeat", "aten.tile", "aten.roll",
        "aten.flip", "aten.index", "aten.index_select", "aten.gather", "aten.stack",
        "aten.slice_scatter", "aten.select_scatter", "aten.index_put", "aten.index_put_",
        "aten.masked_select", "aten.detach_", "aten.resize_", "aten.set_",
        "aten.repeat_interleave", "aten._unsafe_index_put", "aten.take",
        "aten.as_strided_scatter", "aten.diagonal_scatter", "aten._to_dense",
        "aten.pixel_shuffle", "aten.pixel_unshuffle", "aten.channel_shuffle",
        "aten.native_channel_shuffle",
        "aten.im2col", "aten.col2im",  # F.unfold / F.fold: patches rearranged
        # padding by reflection or replication: a copy with index arithmetic, no data arithmetic
        "aten.reflection_pad1d", "aten.reflection_pad2d", "aten.reflection_pad3d",
        "aten.replication_pad1d", "aten.replication_pad2d", "aten.replication_pad3d",
        "aten._pad_circular", "aten._pad_enum",
        # unpooling: a scatter of values to the positions their indices name
        "aten.max_unpool2d", "aten.max_unpool3d",
        # creation: nothing computed from the inputs
        "aten.empty", "aten.empty_like", "aten.empty_strided", "aten.new_empty",
        "aten.new_empty_strided", "aten.zeros", "aten.zeros_like", "aten.new_zeros",
        "aten.ones", "aten.ones_like", "aten.new_ones", "aten.full", "aten.full_like",
        "aten.new_full", "aten.fill", "aten.fill_", "aten.zero", "aten.zero_", "aten.arange",
        "aten.scalar_tensor", "aten.tensor", "aten._local_scalar_dense", "aten.linspace",
        "aten.logspace", "aten.eye", "aten.randn", "aten.randn_like", "aten.rand",
        "aten.rand_like", "aten.randint", "aten.randint_like", "aten.randperm", "aten.normal",
        "aten.uniform", "aten.random", "aten.normal_", "aten.uniform_", "aten.random_",
        "aten.exponential", "aten.geometric", "aten.cauchy", "aten.log_normal",
        "aten.multinomial", "aten.tril_indices", "aten.triu_indices",
        # inference dropout is the identity
        "aten.dropout", "aten.native_dropout", "aten.feature_dropout", "aten.alpha_dropout",
        "aten.feature_alpha_dropout",
        # metadata queries
        "aten.size", "aten.sym_size", "aten.stride", "aten.sym_stride", "aten.numel",
        "aten.sym_numel", "aten.dim", "aten.storage_offset", "aten.sym_storage_offset",
        "aten.is_contiguous", "aten.sym_is_contiguous", "aten.is_strides_like_format",
        "aten.is_non_overlapping_and_dense", "aten.is_same_size", "aten.result_type",
        "aten._has_compatible_shallow_copy_type", "aten.is_nonzero", "prim.device", "prim.layout",
        "aten._assert_async", "aten._assert_scalar", "aten.sym_constrain_range_for_size",
        "aten.sym_constrain_range", "aten._functional_assert_async",
        "aten._functional_assert_scalar", "aten._print", "aten.record_stream",
        # profiler markers (torch.profiler.record_function): no data at all
        "profiler._record_function_enter", "profiler._record_function_enter_new",
        "profiler._record_function_exit",
    }
)
"""aten ops (overload packets) that cost no arithmetic: views, copies, creation, random
numbers, inference dropout, metadata and profiler markers. They are counted in
:attr:`TorchWalk.ignored`, never as uncounted. ``cat`` along any dimension but channels (dim 1)
is treated like a copy too."""

PASS_PARAM = frozenset(
    {
        "aten.view", "aten._unsafe_view", "aten.reshape", "aten._reshape_alias", "aten.expand",
        "aten.permute", "aten.transpose", "aten.t", "aten.numpy_T", "aten.unsqueeze",
        "aten.squeeze", "aten.flatten", "aten.as_strided", "aten.alias", "aten.slice",
        "aten.select", "aten.split", "aten.split_with_sizes", "aten.unsafe_split",
        "aten.unsafe_split_with_sizes", "aten.unsafe_chunk", "aten.unbind", "aten.chunk",
        "aten.narrow", "aten.detach", "aten.clone", "aten._to_copy", "aten.contiguous",
        "aten.lift_fresh", "aten.view_as",
    }
)
"""Ops whose outputs are a view or a copy of their first input: a parameter stays a
parameter through them (looked up by functional name)."""

RESHAPES = frozenset({"aten.view", "aten._unsafe_view", "aten.reshape", "aten._reshape_alias"})

ACTIVATIONS: dict[str, ActivationFn] = {
    "aten.relu": ActivationFn.RELU,
    "aten.relu6": ActivationFn.RELU6,
    "aten.leaky_relu": ActivationFn.LEAKY_RELU,
    "aten.sigmoid": ActivationFn.SIGMOID,
    "aten.tanh": ActivationFn.TANH,
    "aten.gelu": ActivationFn.GELU,
    "aten.silu": ActivationFn.SILU,
    "aten.hardswish": ActivationFn.HARDSWISH,
    "aten.hardsigmoid": ActivationFn.HARDSIGMOID,
    "aten._softmax": ActivationFn.SOFTMAX,
    "aten.softmax": ActivationFn.SOFTMAX,
    "aten._safe_softmax": ActivationFn.SOFTMAX,
}

ELEMENTWISE: dict[str, int] = {
    name: 1
    for name in (
        "add", "sub", "rsub", "mul", "div", "neg", "exp", "exp2", "expm1", "log", "log2",
        "log10", "log1p", "sqrt", "rsqrt", "pow", "abs", "clamp", "clamp_min", "clamp_max",
        "clip", "maximum", "minimum", "fmax", "fmin", "where", "reciprocal", "sin", "cos",
        "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "erf", "erfc", "erfinv", "sign",
        "sgn", "floor", "ceil", "round", "trunc", "frac", "fmod", "remainder", "floor_divide",
        "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not",
        "logical_xor", "bitwise_and", "bitwise_or", "bitwise_not", "bitwise_xor",
        "masked_fill", "square", "hardtanh", "elu", "celu", "selu", "mish", "softplus",
        "softshrink", "hardshrink", "threshold", "_log_softmax", "log_softmax",
        "log_sigmoid_forward", "glu", "prelu", "_prelu_kernel", "rrelu_with_noise", "tril",
        "triu", "isnan", "isinf",
        "nan_to_num", "logit", "xlogy", "heaviside", "copysign", "hypot", "sigmoid_backward",
        "bernoulli", "gelu_backward",
    )
}
"""Element-wise ops by short name -> ops per output element."""
ELEMENTWISE.update({"addcmul": 2, "addcdiv": 2, "lerp": 2})

REDUCTIONS = frozenset(
    {
        "sum", "mean", "amax", "amin", "max", "min", "prod", "var", "std", "var_mean",
        "std_mean", "logsumexp", "norm", "linalg_vector_norm", "argmax", "argmin", "all", "any",
        "count_nonzero", "nansum", "nanmean", "aminmax",
    }
)

CONVS = frozenset(
    {
        "aten.convolution", "aten._convolution", "aten.convolution_overrideable",
        "aten.cudnn_convolution", "aten.mkldnn_convolution",
    }
)
BATCH_NORMS = frozenset(
    {
        "aten.native_batch_norm", "aten._native_batch_norm_legit",
        "aten._native_batch_norm_legit_no_training", "aten._batch_norm_no_update",
        "aten._batch_norm_with_update", "aten.cudnn_batch_norm", "aten.miopen_batch_norm",
        "aten._native_batch_norm_legit_functional",
    }
)
SDPA = frozenset(
    {
        "aten._scaled_dot_product_flash_attention_for_cpu",
        "aten._scaled_dot_product_flash_attention",
        "aten._scaled_dot_product_efficient_attention",
        "aten._scaled_dot_product_cudnn_attention",
        "aten._scaled_dot_product_fused_attention_overrideable",
    }
)
MAX_POOLS = frozenset(
    {
        "aten.max_pool1d", "aten.max_pool2d", "aten.max_pool3d", "aten.max_pool1d_with_indices",
        "aten.max_pool2d_with_indices", "aten.max_pool3d_with_indices", "aten.mkldnn_max_pool2d",
    }
)
AVG_POOLS = frozenset({"aten.avg_pool1d", "aten.avg_pool2d", "aten.avg_pool3d"})
ADAPTIVE = {
    "aten._adaptive_avg_pool2d": PoolMode.AVG,
    "aten._adaptive_avg_pool3d": PoolMode.AVG,
    "aten.adaptive_avg_pool1d": PoolMode.AVG,
    "aten.adaptive_max_pool1d": PoolMode.MAX,
    "aten.adaptive_max_pool2d": PoolMode.MAX,
    "aten.adaptive_max_pool3d": PoolMode.MAX,
}

DATA_DEPENDENT = frozenset(
    {
        "aten.nonzero", "aten.nonzero_static", "aten.argwhere", "aten._local_scalar_dense",
        "aten.masked_select", "aten._unique", "aten._unique2", "aten.unique_dim",
        "aten.unique_consecutive", "aten.bincount", "aten.histc", "aten.repeat_interleave",
        "aten.is_nonzero", "aten.equal", "aten.allclose", "aten.item",
        "torchvision.nms", "torchvision.batched_nms",
    }
)
"""Ops whose output shape or value the forward reads as data (``nonzero``, ``nms``,
``.item()``): neither the meta device nor fake tensors can run them, one real run can."""

PRODUCTS = frozenset(
    {
        *CONVS, *SDPA, "aten.mm", "aten.addmm", "aten.bmm", "aten.baddbmm", "aten.addbmm",
        "aten.mv", "aten.addmv", "aten.dot", "aten.vdot", "aten.linear", "aten.addr",
        "aten.mkldnn_rnn_layer", "aten._flash_attention_forward",
        "aten._efficient_attention_forward", "aten._native_multi_head_attention",
        "aten._transformer_encoder_layer_fwd",
    }
)
"""Ops that carry multiply-adds: costed even when they run on parameters alone (a relative
position MLP on a fixed table), never taken for weight preparation."""
