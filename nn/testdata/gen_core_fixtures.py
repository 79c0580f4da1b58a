#!/usr/bin/python3
"""PyTorch reference fixtures for Tessera's core nn layers and losses.

Run with Debian's interpreter, which has torch and numpy:

    /usr/bin/python3 nn/testdata/gen_core_fixtures.py

It writes nn/testdata/core_fixtures.json, which nn/core_fixture_test.go reads.

Format (version "tessera-nn-core-fixtures/1"):

    {"format": ..., "torch_version": ..., "cases": [case, ...]}

Each case:

    name      unique name
    kind      which Go handler builds the module or calls the loss
              ("Linear", "ReLU", ..., "CrossEntropyLoss", ...)
    config    the constructor's or loss's arguments (JSON values; tensor
              arguments such as a loss's weight are tensors)
    params    parameter values to copy into the module before the forward
    buffers   buffer values to copy in before the forward (BatchNorm eval)
    train     module mode (true unless stated)
    inputs    the forward's inputs: "x" for a layer (several training steps
              as "x0", "x1", ...; the last one's output and gradients are
              stored), "input" and "target" for a loss
    grad_of   names of the inputs that require a gradient
    upstream  the gradient seeded at the output (absent for a scalar loss,
              which is seeded with 1)
    output    the forward's result
    grads     gradients of inputs (by input name) and of parameters (by
              parameter name)
    buffers_after  buffer values after the forward(s)

A tensor is {"dtype": "float32", "shape": [...], "data": [...]}, data
row-major; floats are written as the shortest decimal that round-trips in
their dtype, and NaN and the infinities as the strings "nan", "inf", "-inf".
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn as tnn
import torch.nn.functional as F

torch.manual_seed(20240611)
torch.set_default_dtype(torch.float32)

_raw = []  # rendered data arrays, spliced into the JSON at the end


def fmt(v, dtype):
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if dtype.startswith("int"):
        return str(int(v))
    f = float(v)
    if math.isnan(f):
        return '"nan"'
    if math.isinf(f):
        return '"inf"' if f > 0 else '"-inf"'
    if dtype == "float64":
        return repr(f)
    s = str(np.float32(f))
    assert np.float32(float(s)) == np.float32(f), (s, f)
    return s


def enc(t):
    """Encodes a tensor (or None) for the JSON."""
    if t is None:
        return None
    t = t.detach().contiguous()
    dtype = str(t.dtype).replace("torch.", "")
    arr = t.numpy().reshape(-1)
    _raw.append("[" + ",".join(fmt(v, dtype) for v in arr) + "]")
    return {"dtype": dtype, "shape": list(t.shape), "data": "@@RAW%d@@" % (len(_raw) - 1)}


cases = []


def randn(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype)


def layer_case(name, kind, module, xs, config=None, train=True, buffers=None, set_params=True):
    """Runs module on the inputs xs (a list: several training steps), seeding
    the last output with a random upstream gradient."""
    config = config or {}
    if set_params:
        with torch.no_grad():
            for pname, p in module.named_parameters():
                p.copy_(torch.randn_like(p) * 0.5 + (1.0 if pname == "weight" and kind in NORM_KINDS else 0.0))
    if buffers:
        with torch.no_grad():
            for bname, b in buffers.items():
                dict(module.named_buffers())[bname].copy_(b)
    params = {n: enc(p) for n, p in module.named_parameters()}
    bufs_before = {n: enc(b) for n, b in module.named_buffers()} if buffers else None
    module.train(train)
    xs = [x.clone() for x in xs]
    float_in = xs[-1].dtype.is_floating_point
    for x in xs:
        if float_in:
            x.requires_grad_(True)
    module.zero_grad()
    for x in xs[:-1]:
        module(x)
    module.zero_grad()
    out = module(xs[-1])
    up = torch.randn_like(out)
    out.backward(up)
    grads = {}
    if float_in:
        grads["x"] = enc(xs[-1].grad)
    for n, p in module.named_parameters():
        grads[n] = enc(p.grad if p.grad is not None else torch.zeros_like(p))
    inputs = {}
    if len(xs) == 1:
        inputs["x"] = enc(xs[0])
    else:
        for i, x in enumerate(xs):
            inputs["x%d" % i] = enc(x)
    case = {
        "name": name, "kind": kind, "config": config, "params": params, "train": train,
        "inputs": inputs, "grad_of": ["x"] if float_in else [], "upstream": enc(up),
        "output": enc(out), "grads": grads,
    }
    if bufs_before:
        case["buffers"] = bufs_before
    nb = {n: enc(b) for n, b in module.named_buffers()}
    if nb:
        case["buffers_after"] = nb
    cases.append(case)


NORM_KINDS = {"LayerNorm", "RMSNorm", "GroupNorm", "BatchNorm1d", "BatchNorm2d"}


class RMSNormRef(tnn.Module):
    """torch 2.4's RMSNorm (torch 1.13 has none), written as its
    implementation computes it for float32: x·rsqrt(mean(x²) + eps)·weight,
    eps = finfo(float32).eps when None."""

    def __init__(self, shape, eps=None, affine=True):
        super().__init__()
        self.shape = tuple(shape)
        self.eps = eps
        self.weight = tnn.Parameter(torch.ones(self.shape)) if affine else None

    def forward(self, x):
        dims = tuple(range(-len(self.shape), 0))
        eps = self.eps if self.eps is not None else torch.finfo(x.dtype).eps
        y = x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps)
        if self.weight is not None:
            y = y * self.weight
        return y


def gen_layers():
    layer_case("linear", "Linear", tnn.Linear(5, 3), [randn(4, 5)], {"in": 5, "out": 3, "bias": True})
    layer_case("linear_nobias_3d", "Linear", tnn.Linear(5, 2, bias=False), [randn(2, 3, 5)],
               {"in": 5, "out": 2, "bias": False})
    layer_case("linear_1d_input", "Linear", tnn.Linear(4, 3), [randn(4)], {"in": 4, "out": 3, "bias": True})
    layer_case("linear_float64", "Linear", tnn.Linear(4, 2).double(), [randn(3, 4, dtype=torch.float64)],
               {"in": 4, "out": 2, "bias": True, "dtype": "float64"})
    layer_case("identity", "Identity", tnn.Identity(), [randn(3, 4)])
    layer_case("flatten_default", "Flatten", tnn.Flatten(), [randn(2, 3, 2, 2)], {"start": 1, "end": -1})
    layer_case("flatten_0_1", "Flatten", tnn.Flatten(0, 1), [randn(2, 3, 4)], {"start": 0, "end": 1})

    def with_zeros(*shape):
        x = randn(*shape) * 2
        x.view(-1)[::5] = 0.0  # exact zeros: the gradient there is a convention
        return x

    layer_case("relu", "ReLU", tnn.ReLU(), [with_zeros(4, 6)])
    layer_case("gelu", "GELU", tnn.GELU(), [randn(4, 6) * 3], {"approximate": "none"})
    layer_case("gelu_tanh", "GELU", tnn.GELU(approximate="tanh"), [randn(4, 6) * 3], {"approximate": "tanh"})
    layer_case("silu", "SiLU", tnn.SiLU(), [randn(4, 6) * 3])
    layer_case("tanh", "Tanh", tnn.Tanh(), [randn(4, 6) * 2])
    layer_case("sigmoid", "Sigmoid", tnn.Sigmoid(), [randn(4, 6) * 3])
    layer_case("leaky_relu", "LeakyReLU", tnn.LeakyReLU(), [with_zeros(4, 6)], {"negative_slope": 0.01})
    layer_case("leaky_relu_0.2", "LeakyReLU", tnn.LeakyReLU(0.2), [with_zeros(4, 6)], {"negative_slope": 0.2})
    layer_case("softmax_dim1", "Softmax", tnn.Softmax(dim=1), [randn(3, 5) * 2], {"dim": 1})
    layer_case("softmax_last_3d", "Softmax", tnn.Softmax(dim=-1), [randn(2, 3, 4) * 2], {"dim": -1})
    layer_case("log_softmax_dim1", "LogSoftmax", tnn.LogSoftmax(dim=1), [randn(3, 5, 2) * 2], {"dim": 1})
    layer_case("dropout_eval", "Dropout", tnn.Dropout(0.5), [randn(4, 5)], {"p": 0.5}, train=False)
    layer_case("dropout_p0_train", "Dropout", tnn.Dropout(0.0), [randn(4, 5)], {"p": 0.0})

    emb = tnn.Embedding(10, 4, padding_idx=2)
    with torch.no_grad():
        emb.weight.copy_(torch.randn(10, 4))
        emb.weight[2] = torch.randn(4)  # a non-zero padding row: its value passes, its gradient does not
    idx = torch.tensor([[1, 2, 3, 2, 9], [0, 2, 1, 1, 7], [5, 5, 2, 4, 0]])
    layer_case("embedding_padding", "Embedding", emb, [idx], {"num": 10, "dim": 4, "padding_idx": 2}, set_params=False)
    emb2 = tnn.Embedding(6, 3, padding_idx=-1)
    layer_case("embedding_negative_padding", "Embedding", emb2, [torch.tensor([5, 0, 5, 3])],
               {"num": 6, "dim": 3, "padding_idx": -1})
    layer_case("embedding", "Embedding", tnn.Embedding(7, 3), [torch.tensor([[6, 0], [3, 3]])], {"num": 7, "dim": 3})

    layer_case("layer_norm_last", "LayerNorm", tnn.LayerNorm(6), [randn(3, 4, 6) * 2 + 1], {"shape": [6]})
    layer_case("layer_norm_2axes_eps", "LayerNorm", tnn.LayerNorm([4, 6], eps=1e-3), [randn(3, 4, 6) * 2 + 1],
               {"shape": [4, 6], "eps": 1e-3})
    layer_case("layer_norm_no_affine", "LayerNorm", tnn.LayerNorm(5, elementwise_affine=False), [randn(4, 5) * 3 - 2],
               {"shape": [5], "affine": False})

    layer_case("rms_norm_default_eps", "RMSNorm", RMSNormRef([6]), [randn(3, 4, 6) * 2 + 0.5], {"shape": [6]})
    layer_case("rms_norm_2axes_eps", "RMSNorm", RMSNormRef([4, 6], eps=1e-6), [randn(2, 4, 6)],
               {"shape": [4, 6], "eps": 1e-6})
    layer_case("rms_norm_no_affine", "RMSNorm", RMSNormRef([5], affine=False), [randn(4, 5)],
               {"shape": [5], "affine": False})

    layer_case("group_norm_4d", "GroupNorm", tnn.GroupNorm(3, 6), [randn(2, 6, 3, 3) * 2 + 1],
               {"groups": 3, "channels": 6})
    layer_case("group_norm_2d_one_group", "GroupNorm", tnn.GroupNorm(1, 4, eps=1e-3), [randn(5, 4) + 2],
               {"groups": 1, "channels": 4, "eps": 1e-3})
    layer_case("group_norm_3d_no_affine", "GroupNorm", tnn.GroupNorm(2, 4, affine=False), [randn(3, 4, 5)],
               {"groups": 2, "channels": 4, "affine": False})

    layer_case("batch_norm1d_train", "BatchNorm1d", tnn.BatchNorm1d(5), [randn(8, 5) * 2 + 1], {"features": 5})
    layer_case("batch_norm1d_3d_train_momentum", "BatchNorm1d", tnn.BatchNorm1d(3, momentum=0.3, eps=1e-3),
               [randn(4, 3, 6) * 2 - 1], {"features": 3, "momentum": 0.3, "eps": 1e-3})
    layer_case("batch_norm2d_train", "BatchNorm2d", tnn.BatchNorm2d(3), [randn(4, 3, 5, 5) * 3 + 2], {"features": 3})
    layer_case("batch_norm2d_train_3_steps", "BatchNorm2d", tnn.BatchNorm2d(2),
               [randn(3, 2, 4, 4) * 2 + 1, randn(3, 2, 4, 4) - 1, randn(3, 2, 4, 4) * 0.5], {"features": 2})
    layer_case("batch_norm1d_cumulative_3_steps", "BatchNorm1d", tnn.BatchNorm1d(4, momentum=None),
               [randn(6, 4) * 2 + 1, randn(5, 4) - 1, randn(7, 4) * 3], {"features": 4, "cumulative": True})
    bn = tnn.BatchNorm2d(3)
    layer_case("batch_norm2d_eval", "BatchNorm2d", bn, [randn(2, 3, 4, 4) * 2 + 1], {"features": 3}, train=False,
               buffers={"running_mean": randn(3), "running_var": torch.rand(3) + 0.5,
                        "num_batches_tracked": torch.tensor(7)})
    layer_case("batch_norm1d_no_stats_eval", "BatchNorm1d",
               tnn.BatchNorm1d(3, affine=False, track_running_stats=False), [randn(6, 3) * 2 + 1],
               {"features": 3, "affine": False, "track": False}, train=False)


def loss_case(name, kind, fn, inp, target, config, target_grad=False, input_grad=True):
    """fn(input, target) computes torch's loss; config mirrors its options
    for the Go side (tensor options encoded)."""
    inp = inp.clone().requires_grad_(input_grad)
    target = target.clone()
    if target_grad:
        target.requires_grad_(True)
    out = fn(inp, target)
    up = None
    if out.dim() > 0:
        up = torch.randn_like(out)
        out.backward(up)
    else:
        out.backward()
    grads = {}
    grad_of = []
    if input_grad:
        grads["input"] = enc(inp.grad)
        grad_of.append("input")
    if target_grad:
        grads["target"] = enc(target.grad)
        grad_of.append("target")
    cfg = {k: (enc(v) if isinstance(v, torch.Tensor) else v) for k, v in config.items()}
    cases.append({
        "name": name, "kind": kind, "config": cfg, "params": {}, "train": True,
        "inputs": {"input": enc(inp), "target": enc(target)}, "grad_of": grad_of,
        "upstream": enc(up), "output": enc(out), "grads": grads,
    })


def gen_losses():
    def ce(**kw):
        return lambda i, t: F.cross_entropy(i, t, **kw)

    N, C = 6, 5
    logits = randn(N, C) * 2
    tgt = torch.randint(0, C, (N,))
    tgt_ign = tgt.clone()
    tgt_ign[1] = -100
    tgt_ign[4] = -100
    w = torch.rand(C) + 0.5
    loss_case("ce_mean", "CrossEntropyLoss", ce(), logits, tgt, {})
    loss_case("ce_sum", "CrossEntropyLoss", ce(reduction="sum"), logits, tgt, {"reduction": "sum"})
    loss_case("ce_none", "CrossEntropyLoss", ce(reduction="none"), logits, tgt, {"reduction": "none"})
    loss_case("ce_weight_mean", "CrossEntropyLoss", ce(weight=w), logits, tgt, {"weight": w})
    loss_case("ce_ignore_default_mean", "CrossEntropyLoss", ce(), logits, tgt_ign, {})
    tgt_ign3 = tgt.clone()
    tgt_ign3[0] = 3
    tgt_ign3[2] = 3
    loss_case("ce_ignore_3_weight_mean", "CrossEntropyLoss", ce(weight=w, ignore_index=3), logits, tgt_ign3,
              {"weight": w, "ignore_index": 3})
    loss_case("ce_smoothing_mean", "CrossEntropyLoss", ce(label_smoothing=0.1), logits, tgt,
              {"label_smoothing": 0.1})
    loss_case("ce_smoothing_weight_ignore_mean", "CrossEntropyLoss", ce(weight=w, label_smoothing=0.2),
              logits, tgt_ign, {"weight": w, "label_smoothing": 0.2})
    loss_case("ce_smoothing_weight_ignore_sum", "CrossEntropyLoss",
              ce(weight=w, label_smoothing=0.2, reduction="sum"), logits, tgt_ign,
              {"weight": w, "label_smoothing": 0.2, "reduction": "sum"})
    loss_case("ce_smoothing_weight_ignore_none", "CrossEntropyLoss",
              ce(weight=w, label_smoothing=0.3, reduction="none"), logits, tgt_ign,
              {"weight": w, "label_smoothing": 0.3, "reduction": "none"})
    # Spatial: [N, C, d1, d2] with [N, d1, d2] targets.
    lg4 = randn(2, C, 3, 2) * 2
    t4 = torch.randint(0, C, (2, 3, 2))
    t4[0, 1, 1] = -100
    t4[1, 0, 0] = -100
    loss_case("ce_spatial_weight_ignore_smoothing", "CrossEntropyLoss", ce(weight=w, label_smoothing=0.1), lg4, t4,
              {"weight": w, "label_smoothing": 0.1})
    loss_case("ce_spatial_none", "CrossEntropyLoss", ce(reduction="none"), lg4, t4, {"reduction": "none"})
    # Unbatched.
    loss_case("ce_unbatched", "CrossEntropyLoss", ce(), randn(C), torch.tensor(3), {})
    loss_case("ce_all_ignored_nan", "CrossEntropyLoss", ce(), logits[:2], torch.tensor([-100, -100]), {})
    # Class probabilities.
    probs = torch.softmax(randn(N, C), 1)
    loss_case("ce_probs_mean", "CrossEntropyLoss", ce(), logits, probs, {}, target_grad=True)
    loss_case("ce_probs_weight_smoothing_mean", "CrossEntropyLoss", ce(weight=w, label_smoothing=0.15), logits, probs,
              {"weight": w, "label_smoothing": 0.15}, target_grad=True)
    loss_case("ce_probs_none", "CrossEntropyLoss", ce(reduction="none"), logits, probs, {"reduction": "none"},
              target_grad=True)
    probs4 = torch.softmax(randn(2, C, 3, 2), 1)
    loss_case("ce_probs_spatial_sum", "CrossEntropyLoss", ce(reduction="sum", weight=w), lg4, probs4,
              {"reduction": "sum", "weight": w}, target_grad=True)

    def nll(**kw):
        return lambda i, t: F.nll_loss(i, t, **kw)

    logp = torch.log_softmax(randn(N, C), 1)
    loss_case("nll_mean", "NLLLoss", nll(), logp, tgt, {})
    loss_case("nll_weight_ignore_mean", "NLLLoss", nll(weight=w), logp, tgt_ign, {"weight": w})
    loss_case("nll_weight_sum", "NLLLoss", nll(weight=w, reduction="sum"), logp, tgt_ign,
              {"weight": w, "reduction": "sum"})
    loss_case("nll_none_ignore_1", "NLLLoss", nll(reduction="none", ignore_index=1), logp, tgt,
              {"reduction": "none", "ignore_index": 1})
    loss_case("nll_spatial_weight", "NLLLoss", nll(weight=w), torch.log_softmax(lg4, 1), t4, {"weight": w})

    x = randn(4, 5)
    y = randn(4, 5)
    y.view(-1)[::6] = x.view(-1)[::6]  # exact zeros of the difference
    for red in ("mean", "sum", "none"):
        loss_case("mse_" + red, "MSELoss", lambda i, t, r=red: F.mse_loss(i, t, reduction=r), x, y,
                  {"reduction": red}, target_grad=True)
        loss_case("l1_" + red, "L1Loss", lambda i, t, r=red: F.l1_loss(i, t, reduction=r), x, y,
                  {"reduction": red}, target_grad=True)
    xs, ys = randn(4, 5) * 2, randn(4, 5) * 2
    ys.view(-1)[::7] = xs.view(-1)[::7]
    ys.view(-1)[3] = xs.view(-1)[3] + 0.5  # exactly on the beta = 0.5 boundary
    for beta in (1.0, 0.5):
        loss_case("smooth_l1_beta_%g" % beta, "SmoothL1Loss",
                  lambda i, t, b=beta: F.smooth_l1_loss(i, t, beta=b), xs, ys, {"beta": beta}, target_grad=True)
    # beta = 0 is the L1 loss. torch 1.13 runs its smooth-L1 kernel, whose
    # gradient at an exact tie (x == y) is -1 for input and target alike;
    # Tessera gives L1Loss's 0 there (as torch 2.x, which calls l1_loss for
    # beta = 0), so this case has no ties.
    ys_nt = torch.where(xs == ys, ys + 0.25, ys)
    loss_case("smooth_l1_beta_0", "SmoothL1Loss", lambda i, t: F.smooth_l1_loss(i, t, beta=0.0), xs, ys_nt,
              {"beta": 0.0}, target_grad=True)
    loss_case("smooth_l1_none", "SmoothL1Loss", lambda i, t: F.smooth_l1_loss(i, t, reduction="none"), xs, ys,
              {"reduction": "none"}, target_grad=True)
    for delta in (1.0, 2.5):
        loss_case("huber_delta_%g" % delta, "HuberLoss", lambda i, t, d=delta: F.huber_loss(i, t, delta=d), xs, ys,
                  {"delta": delta}, target_grad=True)
    loss_case("huber_sum", "HuberLoss", lambda i, t: F.huber_loss(i, t, reduction="sum", delta=0.7), xs, ys,
              {"reduction": "sum", "delta": 0.7}, target_grad=True)

    p = torch.sigmoid(randn(4, 5) * 2)
    yb = torch.rand(4, 5)
    yb.view(-1)[::4] = torch.randint(0, 2, (5,)).float()
    wb = torch.rand(5) + 0.5
    loss_case("bce_mean", "BCELoss", lambda i, t: F.binary_cross_entropy(i, t), p, yb, {}, target_grad=True)
    loss_case("bce_weight_sum", "BCELoss", lambda i, t: F.binary_cross_entropy(i, t, weight=wb, reduction="sum"),
              p, yb, {"weight": wb, "reduction": "sum"}, target_grad=True)
    loss_case("bce_none", "BCELoss", lambda i, t: F.binary_cross_entropy(i, t, reduction="none"), p, yb,
              {"reduction": "none"}, target_grad=True)
    # Probabilities of exactly 0 and 1: the logs clamp at -100 and the
    # gradient's denominator at 1e-12. (torch's target gradient is infinite
    # there, so it is not compared.)
    pe = torch.tensor([0.0, 0.0, 1.0, 1.0, 0.5, 1e-30])
    ye = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.3, 1.0])
    loss_case("bce_edges_none", "BCELoss", lambda i, t: F.binary_cross_entropy(i, t, reduction="none"), pe, ye,
              {"reduction": "none"})

    z = randn(4, 5) * 3
    z.view(-1)[0] = 40.0
    z.view(-1)[1] = -40.0
    z.view(-1)[2] = 0.0
    pw = torch.rand(5) * 3
    loss_case("bce_logits_mean", "BCEWithLogitsLoss", lambda i, t: F.binary_cross_entropy_with_logits(i, t), z, yb, {},
              target_grad=True)
    loss_case("bce_logits_pos_weight_weight_mean", "BCEWithLogitsLoss",
              lambda i, t: F.binary_cross_entropy_with_logits(i, t, weight=wb, pos_weight=pw), z, yb,
              {"weight": wb, "pos_weight": pw}, target_grad=True)
    loss_case("bce_logits_none", "BCEWithLogitsLoss",
              lambda i, t: F.binary_cross_entropy_with_logits(i, t, reduction="none", pos_weight=pw), z, yb,
              {"reduction": "none", "pos_weight": pw}, target_grad=True)

    lq = torch.log_softmax(randn(4, 6), 1)
    pt = torch.softmax(randn(4, 6), 1)
    for red in ("batchmean", "mean", "sum", "none"):
        loss_case("kl_div_" + red, "KLDivLoss", lambda i, t, r=red: F.kl_div(i, t, reduction=r), lq, pt,
                  {"reduction": red}, target_grad=True)
    loss_case("kl_div_log_target_batchmean", "KLDivLoss",
              lambda i, t: F.kl_div(i, t, reduction="batchmean", log_target=True), lq, torch.log(pt),
              {"reduction": "batchmean", "log_target": True}, target_grad=True)
    pz = pt.clone()
    pz[0, 1] = 0.0
    pz[2, 4] = 0.0
    loss_case("kl_div_zero_target_sum", "KLDivLoss", lambda i, t: F.kl_div(i, t, reduction="sum"), lq, pz,
              {"reduction": "sum"})


def main():
    gen_layers()
    gen_losses()
    doc = {"format": "tessera-nn-core-fixtures/1", "torch_version": torch.__version__, "cases": cases}
    text = json.dumps(doc, indent=1, sort_keys=False)
    for i, raw in enumerate(_raw):
        text = text.replace('"@@RAW%d@@"' % i, raw, 1)
    json.loads(text)  # the result must parse
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "core_fixtures.json")
    with open(path, "w") as f:
        f.write(text + "\n")
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    print("wrote %s: %d cases, %d bytes" % (path, len(cases), len(text)))


if __name__ == "__main__":
    main()
