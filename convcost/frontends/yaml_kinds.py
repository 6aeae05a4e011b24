"""The YAML compiler's layer kinds: one ``k_<kind>`` method per entry of ``KINDS``."""

from __future__ import annotations

from convcost.core.ops import (
    Activation,
    ActivationFn,
    AdaptivePool,
    Add,
    BatchNorm,
    Concat,
    Conv,
    Dropout,
    Elementwise,
    Flatten,
    GlobalPool,
    Linear,
    Op,
    Pool,
    PoolMode,
    Shape,
)
from convcost.frontends.yaml_compile import (
    CompilerBase,
    Opts,
)
from convcost.frontends.yaml_format import (
    ACTIVATION_WORDS,
    KINDS,
    GroupNode,
    LayerNode,
    SpecNode,
)
from convcost.frontends.yaml_nodes import (
    YSeq,
)


class Compiler(CompilerBase):
    def post(self, o: Opts, name: str, main: LayerNode, out: Shape, *, inner: str,
             norm_default: str = "none", act_default: str = "none") -> tuple[SpecNode, Shape]:
        """A conv/linear with optional ``norm`` and ``activation`` -> a group of 1-3 layers."""
        norm = self.word(o, "norm", ("batch", "none"), norm_default) \
            if "norm" in KINDS[o.kind] else "none"
        act = self.word(o, "activation", ACTIVATION_WORDS, act_default)
        if norm == "none" and act == "none":
            return main, out
        nodes: list[SpecNode] = [LayerNode(inner, main.op, main.origin, main.in_shape)]
        if norm == "batch":
            bn, out = self.leaf("bn", lambda: BatchNorm(out[0]), out, o.where("norm"),
                                o.sub("norm"))
            nodes.append(bn)
        if act != "none":
            fn = ActivationFn(act)
            a, out = self.leaf("act", lambda: Activation(fn), out, o.where("activation"),
                               o.sub("activation"))
            nodes.append(a)
        return GroupNode(name, tuple(nodes), main.origin), out

    # ------------------------------------------------------------ kinds

    def conv_common(self, o: Opts, shape: Shape, kernel_default: int | None,
                    ) -> tuple[int, tuple[int, ...], tuple[int, ...], tuple[int, ...],
                               int | tuple[int, ...] | str]:
        dims = self.spatial(o, shape)
        in_ch = shape[0]
        knode = o.values.get("kernel")
        if knode is None:
            if kernel_default is None:
                raise self.err(o.pos, o.key, f"{o.kind} needs 'kernel'")
            kernel = (kernel_default,) * dims
        else:
            kernel = self.ints(knode, o.sub("kernel"), dims, "kernel", in_ch=in_ch)
        stride = self.ints(o.values["stride"], o.sub("stride"), dims, "stride", in_ch=in_ch) \
            if o.has("stride") else (1,) * dims
        dilation = self.ints(o.values["dilation"], o.sub("dilation"), dims, "dilation",
                             in_ch=in_ch) if o.has("dilation") else (1,) * dims
        padding = self.padding(o, dims, kernel, dilation, in_ch)
        return dims, kernel, stride, dilation, padding

    def k_conv(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        dims, kernel, stride, dilation, padding = self.conv_common(o, shape, None)
        in_ch = shape[0]
        out_ch = self.channels(o, in_ch, scale_default=True)
        groups = self.integer(o.values["groups"], o.sub("groups"), "groups", in_ch=in_ch) \
            if o.has("groups") else 1
        transposed = self.boolean(o, "transposed", False)
        out_pad: int | tuple[int, ...] = 0
        if o.has("output_padding"):
            if not transposed:
                raise self.err(o.where("output_padding"), o.sub("output_padding"),
                               "output_padding needs 'transposed: true'")
            out_pad = self.ints(o.values["output_padding"], o.sub("output_padding"), dims,
                                "output_padding", minimum=0, in_ch=in_ch)
        bias = self.boolean(o, "bias", False)

        def make() -> Op:
            return Conv.make(in_ch, out_ch, kernel, dims=dims, stride=stride, padding=padding,
                             dilation=dilation, groups=groups, bias=bias,
                             transposed=transposed, output_padding=out_pad)

        main, out = self.leaf(name, make, shape, o.pos, o.key, o)
        return self.post(o, name, main, out, inner="conv")

    def k_depthwise(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        dims, kernel, stride, dilation, padding = self.conv_common(o, shape, 3)
        in_ch = shape[0]
        mult = self.integer(o.values["multiplier"], o.sub("multiplier"), "multiplier",
                            in_ch=in_ch) if o.has("multiplier") else 1
        bias = self.boolean(o, "bias", False)

        def make() -> Op:
            return Conv.make(in_ch, in_ch * mult, kernel, dims=dims, stride=stride,
                             padding=padding, dilation=dilation, groups=in_ch, bias=bias)

        main, out = self.leaf(name, make, shape, o.pos, o.key, o)
        return self.post(o, name, main, out, inner="conv")

    def k_pointwise(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        dims = self.spatial(o, shape)
        in_ch = shape[0]
        out_ch = self.channels(o, in_ch, scale_default=True)
        groups = self.integer(o.values["groups"], o.sub("groups"), "groups", in_ch=in_ch) \
            if o.has("groups") else 1
        bias = self.boolean(o, "bias", False)

        def make() -> Op:
            return Conv.make(in_ch, out_ch, 1, dims=dims, groups=groups, bias=bias)

        main, out = self.leaf(name, make, shape, o.pos, o.key, o)
        return self.post(o, name, main, out, inner="conv")

    def k_separable(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        dims, kernel, stride, dilation, padding = self.conv_common(o, shape, 3)
        in_ch = shape[0]
        mult = self.integer(o.values["multiplier"], o.sub("multiplier"), "multiplier",
                            in_ch=in_ch) if o.has("multiplier") else 1
        out_ch = self.channels(o, in_ch, scale_default=True)
        bias = self.boolean(o, "bias", False)
        norm = self.word(o, "norm", ("batch", "none"), "batch")
        act = self.word(o, "activation", ACTIVATION_WORDS, "relu")
        dw_norm = self.word(o, "dw_norm", ("batch", "none"), norm)
        dw_act = self.word(o, "dw_activation", ACTIVATION_WORDS, act)
        mid = in_ch * mult
        nodes: list[SpecNode] = []

        def dw_op() -> Op:
            return Conv.make(in_ch, mid, kernel, dims=dims, stride=stride, padding=padding,
                             dilation=dilation, groups=in_ch, bias=bias)

        groups = self.integer(o.values["groups"], o.sub("groups"), "groups", in_ch=in_ch) \
            if o.has("groups") else 1

        def pw_op() -> Op:
            return Conv.make(mid, out_ch, 1, dims=dims, groups=groups, bias=bias)

        def norm_act(prefix: str, n: str, a: str, nkey: str, akey: str, s: Shape) -> Shape:
            if n == "batch":
                bn, s = self.leaf(f"{prefix}_bn", lambda: BatchNorm(s[0]), s, o.where(nkey),
                                  o.sub(nkey))
                nodes.append(bn)
            if a != "none":
                fn = ActivationFn(a)
                act_node, s = self.leaf(f"{prefix}_act", lambda: Activation(fn), s,
                                        o.where(akey), o.sub(akey))
                nodes.append(act_node)
            return s

        dw, s = self.leaf("dw", dw_op, shape, o.pos, o.key, o)
        nodes.append(dw)
        s = norm_act("dw", dw_norm, dw_act, "dw_norm" if o.has("dw_norm") else "norm",
                     "dw_activation" if o.has("dw_activation") else "activation", s)
        pw, s = self.leaf("pw", pw_op, s, o.where("out"), o.sub("out"))
        nodes.append(pw)
        s = norm_act("pw", norm, act, "norm", "activation", s)
        return GroupNode(name, tuple(nodes), self.ctx(o.pos, o.key, name)), s

    def k_linear(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        in_f = shape[-1]
        out_f = self.channels(o, in_f, scale_default=False)
        bias = self.boolean(o, "bias", True)
        main, out = self.leaf(name, lambda: Linear(in_f, out_f, bias), shape, o.pos, o.key)
        return self.post(o, name, main, out, inner="linear")

    def k_batchnorm(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        return self.leaf(name, lambda: BatchNorm(shape[0]), shape, o.pos, o.key)

    def k_activation(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        words = [a for a in ACTIVATION_WORDS if a != "none"]
        fn = ActivationFn(self.word(o, "function", words, "relu"))
        return self.leaf(name, lambda: Activation(fn), shape, o.pos, o.key)

    def k_pool(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        dims = self.spatial(o, shape)
        mode = self.word(o, "mode", ("max", "avg"), "max")
        if not o.has("kernel"):
            raise self.err(o.pos, o.key, "pool needs 'kernel'")
        kernel = self.ints(o.values["kernel"], o.sub("kernel"), dims, "kernel")
        stride = self.ints(o.values["stride"], o.sub("stride"), dims, "stride") \
            if o.has("stride") else kernel
        padding = self.ints(o.values["padding"], o.sub("padding"), dims, "padding",
                            minimum=0) if o.has("padding") else (0,) * dims
        ceil = self.boolean(o, "ceil_mode", False)
        return self.leaf(name, lambda: Pool.make(mode, kernel, dims=dims, stride=stride,
                                                 padding=padding, ceil_mode=ceil),
                         shape, o.pos, o.key, o)

    def k_global_pool(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        self.spatial(o, shape)
        mode = PoolMode(self.word(o, "mode", ("avg", "max"), "avg"))
        return self.leaf(name, lambda: GlobalPool(mode), shape, o.pos, o.key)

    def k_adaptive_pool(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        dims = self.spatial(o, shape)
        mode = PoolMode(self.word(o, "mode", ("avg", "max"), "avg"))
        if not o.has("size"):
            raise self.err(o.pos, o.key, "adaptive_pool needs 'size' (output size)")
        size = self.ints(o.values["size"], o.sub("size"), dims, "size")
        return self.leaf(name, lambda: AdaptivePool(mode, size), shape, o.pos, o.key)

    def k_flatten(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        return self.leaf(name, lambda: Flatten(1), shape, o.pos, o.key)

    def k_dropout(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        p = 0.5
        if o.has("p"):
            node = o.values["p"]
            v, _ = self.number(node, o.sub("p"), None)
            if not 0 <= v < 1:
                raise self.err(node.pos, o.sub("p"), f"dropout p must be in [0, 1), got {v}")
            p = float(v)
        return self.leaf(name, lambda: Dropout(p), shape, o.pos, o.key)

    def k_squeeze_excite(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        from convcost.frontends.yaml_blocks import squeeze_excite

        return squeeze_excite(self, o, name, shape)

    def k_channel_shuffle(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        from convcost.frontends.yaml_blocks import channel_shuffle

        return channel_shuffle(self, o, name, shape)

    def k_upsample(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        from convcost.frontends.yaml_blocks import upsample

        return upsample(self, o, name, shape)

    def k_block(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        children, out = self.layer_list(o.values.get("layers"), o.sub("layers"), shape,
                                        allow_empty=False, pos=o.pos)
        return GroupNode(name, children, self.ctx(o.pos, o.key, name)), out

    def k_residual(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        body, out_b = self.layer_list(o.values.get("body"), o.sub("body"), shape,
                                      allow_empty=False, pos=o.pos)
        short, out_s = self.layer_list(o.values.get("shortcut"), o.sub("shortcut"), shape,
                                       allow_empty=True, pos=o.pos)
        if out_b != out_s:
            what = "the shortcut" if short else "the identity shortcut (its input)"
            raise self.err(o.pos, o.key, f"residual add: the body gives {list(out_b)} but "
                           f"{what} gives {list(out_s)}"
                           + ("" if short else "; add a projection 'shortcut'"))
        branches = (
            GroupNode("body", body, self.ctx(o.where("body"), o.sub("body"))),
            GroupNode("shortcut", short, self.ctx(o.where("shortcut"), o.sub("shortcut"))),
        )
        return self.parallel(o, name, branches, (out_b, out_s), Add(), "add")

    def k_branches(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        node = o.values.get("paths")
        if not isinstance(node, YSeq) or len(node.items) < 2:
            raise self.err(node.pos if node else o.pos, o.sub("paths"),
                           "branches needs 'paths': a list of two or more lists of layers")
        join = self.word(o, "join", ("concat", "add", "mul"), "concat")
        groups: list[GroupNode] = []
        outs: list[Shape] = []
        for i, item in enumerate(node.items):
            key = f"{o.sub('paths')}[{i}]"
            children, out = self.layer_list(item, key, shape, allow_empty=True, pos=item.pos)
            groups.append(GroupNode(str(i), children, self.ctx(item.pos, key)))
            outs.append(out)
        for i, out in enumerate(outs[1:], 1):
            if join == "add" and out != outs[0]:
                raise self.err(o.pos, o.key, f"branches add: path {i} gives {list(out)} but "
                               f"path 0 gives {list(outs[0])}")
            if join == "concat" and (len(out) != len(outs[0]) or out[1:] != outs[0][1:]):
                raise self.err(o.pos, o.key, f"branches concat: path {i} gives {list(out)} "
                               f"but path 0 gives {list(outs[0])}; only channels may differ")
        op: Op = Add() if join == "add" else Elementwise("mul") if join == "mul" else Concat()
        return self.parallel(o, name, tuple(groups), tuple(outs), op, join)
