#!/usr/bin/python3
"""PyTorch reference fixtures for Tessera's sequence layers: attention,
transformer encoder, LSTM and GRU.

Run with Debian's interpreter, which has torch 1.13 and numpy:

    /usr/bin/python3 nn/testdata/gen_seq_fixtures.py

It writes nn/testdata/seq_fixtures.json, which nn/attention_fixture_test.go
reads.

Format (version "tessera-nn-seq-fixtures/1"):

    {"format": ..., "torch_version": ..., "cases": [case, ...]}

Each case:

    name      unique name
    kind      which Go handler builds and runs it: "SDPA", "MHA",
              "TransformerEncoderLayer", "TransformerEncoder", "LSTM", "GRU",
              "LSTMCell", "GRUCell"
    dtype     the parameters' and inputs' dtype, "float32" or "float64"
    config    the constructor's and the call's arguments (JSON values)
    params    parameter values by torch's dotted name (the module's whole
              state dict: the Go test fails on a name either side lacks)
    inputs    the call's tensor arguments by name (masks are bool or float)
    grad_of   names of the inputs that require a gradient
    upstream  the gradient seeded at each output, by output name
    outputs   the call's results by name
    grads     gradients of the inputs (by input name) and of every
              parameter (by parameter name), for the loss
              sum over outputs of (output * upstream).sum()

A tensor is {"dtype": "float32", "shape": [...], "data": [...]}, data
row-major, floats as the shortest decimal that round-trips in their dtype.

torch 1.13 has no torch.nn.functional.scaled_dot_product_attention (it came
in 2.0), so the SDPA cases compute its definition explicitly:
softmax(q·kᵀ·scale + float mask, masked_fill(~bool mask, −inf))·v, with
is_causal the lower triangle (top-left aligned). Nor does 1.13 have
is_causal on MultiheadAttention or TransformerEncoderLayer: those cases
pass the causal mask (triu(ones, 1), true = not allowed) as attn_mask to
torch, and config.is_causal = true tells the Go test to ask for IsCausal
instead (combined with any attn_mask, which torch sees or-ed in).

All modules are in eval mode, so dropout is off and the outputs are
deterministic; the dropout probabilities are still set, to check that eval
mode turns them off.
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn as tnn
import torch.nn.functional as F

torch.manual_seed(20240612)

_raw = []  # rendered data arrays, spliced into the JSON at the end


def fmt(v, dtype):
    if dtype == "bool":
        return "true" if v else "false"
    f = float(v)
    assert math.isfinite(f), f
    if dtype == "float64":
        return repr(f)
    s = str(np.float32(f))
    assert np.float32(float(s)) == np.float32(f), (s, f)
    return s


def enc(t):
    """Encodes a tensor for the JSON."""
    t = t.detach().contiguous()
    dtype = str(t.dtype).replace("torch.", "")
    arr = t.numpy().reshape(-1)
    _raw.append("[" + ",".join(fmt(v, dtype) for v in arr) + "]")
    return {"dtype": dtype, "shape": list(t.shape), "data": "@@RAW%d@@" % (len(_raw) - 1)}


cases = []


def randn(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype)


def keep_mask(*shape):
    """A random bool mask, true = keep, with the first key always kept so no
    row is fully masked."""
    m = torch.rand(*shape) > 0.35
    m[..., 0] = True
    return m


def padding_mask(n, s):
    """A random key padding mask [n, s], true = ignore, first key kept."""
    m = torch.rand(n, s) > 0.6
    m[:, 0] = False
    return m


def causal_disallow(l, s):
    return torch.ones(l, s, dtype=torch.bool).triu(1)


def run(name, kind, dtype, config, module, inputs, grad_of, call):
    """Runs call(module, **inputs) -> dict of outputs, seeds random upstream
    gradients, backpropagates, and records the case."""
    tensors = {}
    for k, v in inputs.items():
        v = v.detach().clone()
        if k in grad_of:
            v.requires_grad_(True)
        tensors[k] = v
    outputs = call(module, **tensors)
    upstream = {k: torch.randn(v.shape, dtype=v.dtype) for k, v in outputs.items()}
    loss = sum((outputs[k] * upstream[k]).sum() for k in outputs)
    loss.backward()
    grads = {k: tensors[k].grad for k in grad_of}
    params = {}
    if module is not None:
        for pn, p in module.named_parameters():
            params[pn] = enc(p)
            grads[pn] = p.grad
    for k, g in grads.items():
        assert g is not None, (name, k)
    cases.append({
        "name": name,
        "kind": kind,
        "dtype": dtype,
        "config": config,
        "params": params,
        "inputs": {k: enc(v) for k, v in tensors.items()},
        "grad_of": list(grad_of),
        "upstream": {k: enc(v) for k, v in upstream.items()},
        "outputs": {k: enc(v) for k, v in outputs.items()},
        "grads": {k: enc(v) for k, v in grads.items()},
    })


# ---------------------------------------------------------------------------
# Scaled dot-product attention, by its definition.


def sdpa_ref(q, k, v, mask=None, causal=False, scale=None):
    e = q.shape[-1]
    s = scale if scale is not None else 1 / math.sqrt(e)
    scores = (q * s) @ k.transpose(-1, -2)
    keep = None
    if mask is not None:
        if mask.dtype == torch.bool:
            keep = mask
        else:
            scores = scores + mask
    if causal:
        tri = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        keep = tri if keep is None else keep & tri
    if keep is not None:
        scores = scores.masked_fill(~keep, float("-inf"))
    return torch.softmax(scores, -1) @ v


def sdpa_case(name, qs, ks, vs, mask=None, causal=False, scale=None, dtype=torch.float32):
    inputs = {"q": randn(*qs, dtype=dtype), "k": randn(*ks, dtype=dtype), "v": randn(*vs, dtype=dtype)}
    if mask is not None:
        inputs["mask"] = mask if mask.dtype == torch.bool else mask.to(dtype)

    def call(_, q, k, v, mask=None):
        return {"out": sdpa_ref(q, k, v, mask, causal, scale)}

    run(name, "SDPA", str(dtype).replace("torch.", ""), {"is_causal": causal, "scale": scale},
        None, inputs, ["q", "k", "v"], call)


sdpa_case("sdpa_plain_4d", (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 3))
sdpa_case("sdpa_bool_mask_broadcast", (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 3), mask=keep_mask(2, 1, 4, 6))
sdpa_case("sdpa_float_mask", (2, 4, 5), (2, 6, 5), (2, 6, 5), mask=randn(4, 6))
sdpa_case("sdpa_causal_rect", (2, 2, 4, 5), (2, 2, 6, 5), (2, 2, 6, 4), causal=True)
sdpa_case("sdpa_causal_and_mask_scale", (1, 2, 5, 4), (1, 2, 5, 4), (1, 2, 5, 4), mask=keep_mask(5, 5),
          causal=True, scale=0.3)
sdpa_case("sdpa_broadcast_batch", (2, 3, 4, 5), (1, 3, 6, 5), (1, 3, 6, 2))
sdpa_case("sdpa_float64_masked", (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3), mask=keep_mask(2, 1, 3, 5),
          dtype=torch.float64)


# ---------------------------------------------------------------------------
# MultiheadAttention (batch_first=True).


def mha_case(name, e, h, n, l, s, self_attn=False, kv_same=False, bias=True, kpm=None, attn_mask=None,
             causal=False, need_weights=True, average=True, dtype=torch.float32, unbatched=False):
    m = tnn.MultiheadAttention(e, h, dropout=0.2, bias=bias, batch_first=True).to(dtype)
    with torch.no_grad():  # non-zero biases, so that their gradients are exercised
        for pn, p in m.named_parameters():
            if "bias" in pn:
                p.normal_(0, 0.1)
    m.eval()
    batch = () if unbatched else (n,)
    inputs = {"query": randn(*batch, l, e, dtype=dtype)}
    if not self_attn:
        inputs["key"] = randn(*batch, s, e, dtype=dtype)
        if not kv_same:
            inputs["value"] = randn(*batch, s, e, dtype=dtype)
    if kpm is not None:
        inputs["key_padding_mask"] = kpm
    if attn_mask is not None:
        inputs["attn_mask"] = attn_mask if attn_mask.dtype == torch.bool else attn_mask.to(dtype)
    grad_of = [k for k in ("query", "key", "value") if k in inputs]

    def call(mod, query, key=None, value=None, key_padding_mask=None, attn_mask=None):
        if key is None:
            key = query
        if value is None:
            value = key
        am = attn_mask
        if causal:
            c = causal_disallow(query.shape[-2], key.shape[-2])
            if am is None:
                am = c
            elif am.dtype == torch.bool:
                am = am | c
            else:
                am = am.masked_fill(c, float("-inf"))
        out, w = mod(query, key, value, key_padding_mask=key_padding_mask, need_weights=need_weights,
                     attn_mask=am, average_attn_weights=average)
        res = {"out": out}
        if need_weights:
            res["weights"] = w
        return res

    cfg = {"embed_dim": e, "num_heads": h, "dropout": 0.2, "bias": bias, "self": self_attn, "kv_same": kv_same,
           "is_causal": causal, "need_weights": need_weights, "average": average}
    run(name, "MHA", str(dtype).replace("torch.", ""), cfg, m, inputs, grad_of, call)


mha_case("mha_self_plain", 8, 2, 2, 5, 5, self_attn=True)
mha_case("mha_cross_masks_per_head", 8, 2, 2, 4, 6, kpm=padding_mask(2, 6), attn_mask=~keep_mask(4, 6),
         average=False)
mha_case("mha_self_causal_padding", 12, 3, 3, 5, 5, self_attn=True, kpm=padding_mask(3, 5), causal=True)
mha_case("mha_float_mask_3d_padding", 8, 4, 2, 3, 5, attn_mask=randn(2 * 4, 3, 5), kpm=padding_mask(2, 5))
mha_case("mha_kv_same_nobias_noweights", 8, 2, 2, 3, 4, kv_same=True, bias=False, need_weights=False)
mha_case("mha_causal_and_bool_mask", 8, 2, 2, 5, 5, self_attn=True, attn_mask=~keep_mask(5, 5), causal=True)
mha_case("mha_unbatched_self", 8, 2, 1, 4, 4, self_attn=True, unbatched=True)
mha_case("mha_float64_cross", 6, 3, 2, 4, 3, kpm=padding_mask(2, 3), attn_mask=~keep_mask(4, 3),
         dtype=torch.float64)


# ---------------------------------------------------------------------------
# TransformerEncoderLayer and TransformerEncoder (batch_first=True, eval).


def tel_config(d, h, ff, act, eps, norm_first):
    return {"d_model": d, "nhead": h, "dim_feedforward": ff, "dropout": 0.1, "activation": act,
            "layer_norm_eps": eps, "norm_first": norm_first}


def randomize_norms(m):
    with torch.no_grad():  # LayerNorms start at 1 and 0; move them
        for pn, p in m.named_parameters():
            if "norm" in pn:
                p.add_(torch.randn_like(p) * 0.1)
            elif "bias" in pn:
                p.normal_(0, 0.1)


def tel_inputs(n, l, d, src_mask, kpm, dtype):
    inputs = {"src": randn(n, l, d, dtype=dtype)}
    if src_mask is not None:
        inputs["src_mask"] = src_mask if src_mask.dtype == torch.bool else src_mask.to(dtype)
    if kpm is not None:
        inputs["src_key_padding_mask"] = kpm
    return inputs


def with_causal(mask, l, causal):
    if not causal:
        return mask
    c = causal_disallow(l, l)
    if mask is None:
        return c
    if mask.dtype == torch.bool:
        return mask | c
    return mask.masked_fill(c, float("-inf"))


def tel_case(name, d, h, ff, act, norm_first, n=2, l=5, eps=1e-5, src_mask=None, kpm=None, causal=False,
             dtype=torch.float32):
    m = tnn.TransformerEncoderLayer(d, h, ff, 0.1, act, eps, batch_first=True, norm_first=norm_first).to(dtype)
    randomize_norms(m)
    m.eval()

    def call(mod, src, src_mask=None, src_key_padding_mask=None):
        return {"out": mod(src, src_mask=with_causal(src_mask, l, causal), src_key_padding_mask=src_key_padding_mask)}

    cfg = tel_config(d, h, ff, act, eps, norm_first)
    cfg["is_causal"] = causal
    run(name, "TransformerEncoderLayer", str(dtype).replace("torch.", ""), cfg, m,
        tel_inputs(n, l, d, src_mask, kpm, dtype), ["src"], call)


tel_case("tel_post_relu_padding", 8, 2, 16, "relu", False, kpm=padding_mask(2, 5))
tel_case("tel_pre_gelu_float_mask", 8, 2, 16, "gelu", True, src_mask=randn(5, 5) * 0.5)
tel_case("tel_post_gelu_causal_eps", 8, 4, 12, "gelu", False, eps=1e-6, causal=True)
tel_case("tel_pre_relu_causal_padding_bool", 8, 2, 16, "relu", True, src_mask=~keep_mask(5, 5),
         kpm=padding_mask(2, 5), causal=True)
tel_case("tel_float64_post_relu", 6, 2, 10, "relu", False, kpm=padding_mask(2, 5), dtype=torch.float64)


def te_case(name, layers, final_norm, norm_first, d=8, h=2, ff=16, n=2, l=5, kpm=None):
    layer = tnn.TransformerEncoderLayer(d, h, ff, 0.1, "gelu", 1e-5, batch_first=True, norm_first=norm_first)
    norm = tnn.LayerNorm(d) if final_norm else None
    m = tnn.TransformerEncoder(layer, layers, norm=norm, enable_nested_tensor=False)
    randomize_norms(m)
    with torch.no_grad():  # the deep copies start equal; make the layers differ
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    m.eval()

    def call(mod, src, src_key_padding_mask=None):
        return {"out": mod(src, src_key_padding_mask=src_key_padding_mask)}

    cfg = tel_config(d, h, ff, "gelu", 1e-5, norm_first)
    cfg.update({"num_layers": layers, "final_norm": final_norm, "is_causal": False})
    run(name, "TransformerEncoder", "float32", cfg, m, tel_inputs(n, l, d, None, kpm, torch.float32), ["src"], call)


te_case("te_pre_norm_final_norm", 2, True, True, kpm=padding_mask(2, 5))
te_case("te_post_norm_three_layers", 3, False, False)


# ---------------------------------------------------------------------------
# LSTM and GRU (batch_first=True), and their cells.


def rnn_case(name, kind, inp, hid, layers=1, bias=True, bidirectional=False, n=3, l=4, h0=False,
             dtype=torch.float32, unbatched=False):
    cls = {"LSTM": tnn.LSTM, "GRU": tnn.GRU}[kind]
    m = cls(inp, hid, num_layers=layers, bias=bias, batch_first=True, dropout=0.3 if layers > 1 else 0.0,
            bidirectional=bidirectional).to(dtype)
    m.eval()
    d = 2 if bidirectional else 1
    batch = () if unbatched else (n,)
    inputs = {"x": randn(*batch, l, inp, dtype=dtype)}
    if h0:
        inputs["h0"] = randn(layers * d, *batch, hid, dtype=dtype) * 0.5
        if kind == "LSTM":
            inputs["c0"] = randn(layers * d, *batch, hid, dtype=dtype) * 0.5
    grad_of = list(inputs)

    def call(mod, x, h0=None, c0=None):
        if kind == "LSTM":
            state = None if h0 is None else (h0, c0)
            out, (hn, cn) = mod(x, state)
            return {"output": out, "h_n": hn, "c_n": cn}
        out, hn = mod(x, h0)
        return {"output": out, "h_n": hn}

    cfg = {"input_size": inp, "hidden_size": hid, "num_layers": layers, "bias": bias,
           "bidirectional": bidirectional, "dropout": 0.3 if layers > 1 else 0.0}
    run(name, kind, str(dtype).replace("torch.", ""), cfg, m, inputs, grad_of, call)


for kind in ("LSTM", "GRU"):
    k = kind.lower()
    rnn_case(k + "_1layer_zero_state", kind, 5, 6)
    rnn_case(k + "_1layer_state", kind, 5, 6, h0=True)
    rnn_case(k + "_2layer_state", kind, 4, 5, layers=2, h0=True)
    rnn_case(k + "_2layer_zero_state_nobias", kind, 4, 5, layers=2, bias=False)
    rnn_case(k + "_bidirectional_2layer_state", kind, 3, 4, layers=2, bidirectional=True, h0=True)
    rnn_case(k + "_long_sequence", kind, 4, 8, n=2, l=40, h0=True)
    rnn_case(k + "_unbatched_state", kind, 3, 4, l=5, h0=True, unbatched=True)
    rnn_case(k + "_float64_2layer_bidirectional", kind, 3, 4, layers=2, bidirectional=True, h0=True,
             dtype=torch.float64)


def cell_case(name, kind, inp, hid, n=3, state=True, bias=True):
    cls = {"LSTMCell": tnn.LSTMCell, "GRUCell": tnn.GRUCell}[kind]
    m = cls(inp, hid, bias=bias)
    inputs = {"x": randn(n, inp)}
    if state:
        inputs["h"] = randn(n, hid)
        if kind == "LSTMCell":
            inputs["c"] = randn(n, hid)

    def call(mod, x, h=None, c=None):
        if kind == "LSTMCell":
            h1, c1 = mod(x, None if h is None else (h, c))
            return {"h": h1, "c": c1}
        return {"h": mod(x, h)}

    run(name, kind, "float32", {"input_size": inp, "hidden_size": hid, "bias": bias}, m, inputs, list(inputs), call)


cell_case("lstmcell_state", "LSTMCell", 4, 5)
cell_case("lstmcell_zero_state_nobias", "LSTMCell", 4, 5, state=False, bias=False)
cell_case("grucell_state", "GRUCell", 4, 5)
cell_case("grucell_zero_state", "GRUCell", 4, 5, state=False)


# ---------------------------------------------------------------------------

names = [c["name"] for c in cases]
assert len(names) == len(set(names)), "duplicate case names"
doc = json.dumps({"format": "tessera-nn-seq-fixtures/1", "torch_version": torch.__version__, "cases": cases},
                 indent=None, separators=(",", ":"))
for i, r in enumerate(_raw):
    doc = doc.replace('"@@RAW%d@@"' % i, r, 1)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seq_fixtures.json")
with open(path, "w") as f:
    f.write(doc)
    f.write("\n")
print("wrote %s: %d cases, %d bytes" % (path, len(cases), len(doc)))
