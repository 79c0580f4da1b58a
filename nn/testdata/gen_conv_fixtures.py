#!/usr/bin/python3
"""Generate nn/testdata/conv_fixtures.json: PyTorch reference results for
Tessera's convolution and pooling layers (nn/conv_fixture_test.go), so that
`go test` needs no Python.

Run from the repository root with Debian's interpreter (the one with torch):

    /usr/bin/python3 nn/testdata/gen_conv_fixtures.py

Every input, weight, bias and upstream gradient is a small multiple of a
power of two (a dyadic rational with a few significant bits), so it is exact
in float32 and float64 and in its JSON decimal form. The references are
computed by torch in float64: their products and sums of such values are
exact, whatever the summation order, so the reference does not depend on how
torch or Tessera orders the work (the averaging pools' divisions round once).
Max-pool inputs hold distinct values, so no window has a tie (torch and
Tessera route a tied maximum's gradient differently; see nn/pool.go).

File format (top level object):

  "format"         "tessera-conv-fixtures/1"
  "torch_version"  torch.__version__ of the run that wrote the file
  "cases"          list of cases, each:
      "name"         unique; the Go subtest name
      "op"           conv1d, conv2d, conv_transpose2d, max_pool2d, avg_pool2d,
                     adaptive_avg_pool2d or adaptive_max_pool2d
      "args"         the torch arguments: stride, padding (a list, or "same"),
                     dilation, groups, output_padding, padding_mode,
                     kernel_size, ceil_mode, count_include_pad,
                     divisor_override, output_size (lists have one value
                     per spatial axis)
      "inputs"       {"x": T, "weight": T, "bias": T} (weight and bias only
                     for convolutions; bias absent when the case has none)
      "grad_output"  T, the upstream gradient (random)
      "output"       T
      "grads"        {"x": T, "weight": T, "bias": T}: the gradients of
                     sum(output * grad_output) with respect to the inputs

A tensor T is {"shape": [...], "data": [...]}, data flattened row-major, as
JSON numbers (float64 values written in the shortest form that round-trips).
"""

import json
import os

import torch
import torch.nn.functional as F

FORMAT = "tessera-conv-fixtures/1"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv_fixtures.json")

torch.manual_seed(0)
torch.set_num_threads(1)


def dyadic(shape, scale=1.0, bits=6):
    """Normal values times scale, rounded to multiples of 2**-bits."""
    q = 2.0 ** bits
    return torch.round(torch.randn(*shape, dtype=torch.float64) * scale * q) / q


def distinct(shape):
    """Distinct multiples of 1/16 in random order (no ties in any window)."""
    n = 1
    for s in shape:
        n *= s
    return ((torch.randperm(n, dtype=torch.float64) - n // 2) / 16.0).reshape(*shape)


def enc(t):
    t = t.detach().contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


cases = []


def run(name, op, args, inputs, fn):
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    out = fn(**leaves)
    g = dyadic(out.shape)
    out.backward(g)
    case = {
        "name": name,
        "op": op,
        "args": args,
        "inputs": {k: enc(v) for k, v in inputs.items()},
        "grad_output": enc(g),
        "output": enc(out),
        "grads": {k: enc(v.grad) for k, v in leaves.items()},
    }
    cases.append(case)


def conv2d(name, n, cin, cout, hw, k, stride=1, padding=0, dilation=1, groups=1, bias=True,
           padding_mode="zeros", unbatched=False):
    k = pair(k)
    xs = [cin, hw[0], hw[1]] if unbatched else [n, cin, hw[0], hw[1]]
    inputs = {"x": dyadic(xs), "weight": dyadic([cout, cin // groups, k[0], k[1]], 0.5)}
    if bias:
        inputs["bias"] = dyadic([cout], 0.5)
    pad = padding if padding == "same" else pair(padding)
    args = {"stride": pair(stride), "padding": pad, "dilation": pair(dilation), "groups": groups,
            "padding_mode": padding_mode}
    m = torch.nn.Conv2d(cin, cout, k, stride=stride, padding=padding, dilation=dilation, groups=groups,
                        bias=bias, padding_mode=padding_mode).double()

    def fn(x, weight, bias=None):
        # The module handles padding_mode (F.pad then conv2d, as torch does).
        del m.weight
        m.weight = weight
        if bias is not None:
            del m.bias
            m.bias = bias
        return m(x)

    run(name, "conv2d", args, inputs, fn)


def conv1d(name, n, cin, cout, length, k, stride=1, padding=0, dilation=1, groups=1, bias=True,
           padding_mode="zeros"):
    inputs = {"x": dyadic([n, cin, length]), "weight": dyadic([cout, cin // groups, k], 0.5)}
    if bias:
        inputs["bias"] = dyadic([cout], 0.5)
    args = {"stride": [stride], "padding": padding if padding == "same" else [padding],
            "dilation": [dilation], "groups": groups, "padding_mode": padding_mode}
    m = torch.nn.Conv1d(cin, cout, k, stride=stride, padding=padding, dilation=dilation, groups=groups,
                        bias=bias, padding_mode=padding_mode).double()

    def fn(x, weight, bias=None):
        del m.weight
        m.weight = weight
        if bias is not None:
            del m.bias
            m.bias = bias
        return m(x)

    run(name, "conv1d", args, inputs, fn)


def conv_t2d(name, n, cin, cout, hw, k, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
             bias=True):
    k = pair(k)
    inputs = {"x": dyadic([n, cin, hw[0], hw[1]]), "weight": dyadic([cin, cout // groups, k[0], k[1]], 0.5)}
    if bias:
        inputs["bias"] = dyadic([cout], 0.5)
    args = {"stride": pair(stride), "padding": pair(padding), "output_padding": pair(output_padding),
            "dilation": pair(dilation), "groups": groups}

    def fn(x, weight, bias=None):
        return F.conv_transpose2d(x, weight, bias, stride=stride, padding=padding,
                                  output_padding=output_padding, groups=groups, dilation=dilation)

    run(name, "conv_transpose2d", args, inputs, fn)


def max_pool(name, shape, k, stride=None, padding=0, dilation=1, ceil_mode=False):
    args = {"kernel_size": pair(k), "stride": pair(stride if stride is not None else k), "padding": pair(padding),
            "dilation": pair(dilation), "ceil_mode": ceil_mode}
    run(name, "max_pool2d", args, {"x": distinct(shape)},
        lambda x: F.max_pool2d(x, k, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode))


def avg_pool(name, shape, k, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None):
    args = {"kernel_size": pair(k), "stride": pair(stride if stride is not None else k), "padding": pair(padding),
            "ceil_mode": ceil_mode, "count_include_pad": count_include_pad,
            "divisor_override": divisor_override or 0}
    run(name, "avg_pool2d", args, {"x": dyadic(shape)},
        lambda x: F.avg_pool2d(x, k, stride=stride, padding=padding, ceil_mode=ceil_mode,
                               count_include_pad=count_include_pad, divisor_override=divisor_override))


def adaptive(name, op, shape, size):
    f = F.adaptive_avg_pool2d if op == "adaptive_avg_pool2d" else F.adaptive_max_pool2d
    x = dyadic(shape) if op == "adaptive_avg_pool2d" else distinct(shape)
    run(name, op, {"output_size": pair(size)}, {"x": x}, lambda x: f(x, size))


# conv2d: strides, paddings, dilations, groups, kernel shapes, batch 2, odd sizes.
conv2d("conv2d_k3", 2, 3, 4, (7, 7), 3)
conv2d("conv2d_k3_pad1", 2, 3, 4, (6, 5), 3, padding=1)
conv2d("conv2d_k3_stride2_pad1_odd", 2, 3, 4, (9, 7), 3, stride=2, padding=1)
conv2d("conv2d_k3_stride2_pad2_dil2", 2, 2, 3, (11, 9), 3, stride=2, padding=2, dilation=2)
conv2d("conv2d_k2x4_stride1x2_pad1x0", 2, 3, 2, (6, 9), (2, 4), stride=(1, 2), padding=(1, 0))
conv2d("conv2d_k3x2_dil2x1_pad2x1", 2, 2, 3, (7, 6), (3, 2), dilation=(2, 1), padding=(2, 1))
conv2d("conv2d_groups2", 2, 4, 6, (5, 6), 3, padding=1, groups=2)
conv2d("conv2d_groups2_stride2_dil2", 2, 4, 4, (9, 9), 3, stride=2, padding=2, dilation=2, groups=2)
conv2d("conv2d_depthwise", 2, 4, 4, (7, 7), 3, stride=2, padding=1, groups=4)
conv2d("conv2d_depthwise_mult2", 2, 3, 6, (6, 6), 3, padding=1, groups=3)
conv2d("conv2d_1x1", 2, 5, 3, (4, 5), 1)
conv2d("conv2d_1x1_stride2", 2, 3, 4, (5, 5), 1, stride=2)
conv2d("conv2d_kernel_fills_input", 2, 2, 3, (3, 4), (3, 4))
conv2d("conv2d_nobias", 2, 3, 2, (5, 5), 3, padding=1, bias=False)
conv2d("conv2d_same_k3x4", 2, 2, 3, (5, 6), (3, 4), padding="same")
conv2d("conv2d_same_dil2", 2, 2, 2, (6, 5), 3, padding="same", dilation=2)
conv2d("conv2d_reflect", 2, 2, 3, (5, 6), 3, padding=(1, 2), padding_mode="reflect")
conv2d("conv2d_replicate_stride2", 2, 2, 3, (6, 5), 3, stride=2, padding=2, padding_mode="replicate")
conv2d("conv2d_circular", 2, 2, 2, (4, 5), 3, padding=(1, 2), padding_mode="circular")
conv2d("conv2d_unbatched", 1, 3, 2, (5, 4), 3, padding=1, unbatched=True)

# conv1d
conv1d("conv1d_k3", 2, 3, 4, 10, 3)
conv1d("conv1d_stride2_pad2_dil2_groups2", 2, 4, 6, 13, 3, stride=2, padding=2, dilation=2, groups=2)
conv1d("conv1d_same_k4", 2, 2, 3, 9, 4, padding="same")
conv1d("conv1d_reflect_nobias", 2, 2, 2, 7, 3, padding=2, padding_mode="reflect", bias=False)

# conv_transpose2d
conv_t2d("convT2d_k3", 2, 3, 2, (4, 5), 3)
conv_t2d("convT2d_k3_stride2_pad1_outpad1", 2, 3, 4, (4, 5), 3, stride=2, padding=1, output_padding=1)
conv_t2d("convT2d_k4_stride2_pad1", 2, 2, 3, (5, 4), 4, stride=2, padding=1)
conv_t2d("convT2d_k3_stride2_dil2_outpad1", 2, 2, 2, (4, 3), 3, stride=2, dilation=2, output_padding=1)
conv_t2d("convT2d_groups2_stride2_pad1_outpad1", 2, 4, 6, (3, 4), 3, stride=2, padding=1, output_padding=1,
         groups=2)
conv_t2d("convT2d_k2x3_stride2x1_pad0x1_outpad1x0", 2, 3, 2, (4, 5), (2, 3), stride=(2, 1), padding=(0, 1),
         output_padding=(1, 0))
conv_t2d("convT2d_depthwise_stride2", 2, 3, 3, (4, 4), 3, stride=2, padding=1, groups=3)
conv_t2d("convT2d_1x1_stride2_nobias", 2, 3, 2, (3, 4), 1, stride=2, bias=False)
conv_t2d("convT2d_pad2_crops", 2, 2, 3, (5, 5), 3, padding=2)
conv_t2d("convT2d_dil2_pad2_stride3", 2, 2, 2, (3, 4), 3, stride=3, padding=2, dilation=2, output_padding=2)

# max_pool2d (distinct values: no ties)
max_pool("maxpool_k2", (2, 3, 8, 8), 2)
max_pool("maxpool_k3_s2_p1_odd", (2, 2, 9, 7), 3, stride=2, padding=1)
max_pool("maxpool_k3_s2_ceil", (2, 2, 8, 8), 3, stride=2, ceil_mode=True)
max_pool("maxpool_k3_s2_p1_ceil", (2, 2, 10, 10), 3, stride=2, padding=1, ceil_mode=True)
max_pool("maxpool_k2_ceil_odd", (2, 2, 7, 7), 2, ceil_mode=True)
max_pool("maxpool_k2x3_s1x2_p1_dil2", (2, 2, 8, 9), (2, 3), stride=(1, 2), padding=1, dilation=2)
max_pool("maxpool_k3_s1_p1", (2, 2, 5, 6), 3, stride=1, padding=1)

# avg_pool2d
avg_pool("avgpool_k2", (2, 3, 8, 8), 2)
avg_pool("avgpool_k3_s2_p1", (2, 2, 9, 7), 3, stride=2, padding=1)
avg_pool("avgpool_k3_s2_p1_exclude_pad", (2, 2, 9, 7), 3, stride=2, padding=1, count_include_pad=False)
avg_pool("avgpool_k3_s2_p1_ceil", (2, 2, 8, 8), 3, stride=2, padding=1, ceil_mode=True)
avg_pool("avgpool_k3_s2_p1_ceil_exclude_pad", (2, 2, 8, 8), 3, stride=2, padding=1, ceil_mode=True,
         count_include_pad=False)
avg_pool("avgpool_k2x3_divisor5", (2, 2, 6, 9), (2, 3), divisor_override=5)
avg_pool("avgpool_k3x2_s2x1_p1x0", (2, 2, 7, 5), (3, 2), stride=(2, 1), padding=(1, 0))

# adaptive pools, including sizes that do not divide and upsampling
adaptive("adaptive_avg_7x9_to_3x4", "adaptive_avg_pool2d", (2, 3, 7, 9), (3, 4))
adaptive("adaptive_avg_10x10_to_1", "adaptive_avg_pool2d", (2, 3, 10, 10), 1)
adaptive("adaptive_avg_5x5_to_3", "adaptive_avg_pool2d", (2, 2, 5, 5), 3)
adaptive("adaptive_avg_6x8_to_3x4", "adaptive_avg_pool2d", (2, 2, 6, 8), (3, 4))
adaptive("adaptive_avg_4x4_to_6x5", "adaptive_avg_pool2d", (2, 2, 4, 4), (6, 5))
adaptive("adaptive_max_7x9_to_3x4", "adaptive_max_pool2d", (2, 2, 7, 9), (3, 4))
adaptive("adaptive_max_5x5_to_4x2", "adaptive_max_pool2d", (2, 2, 5, 5), (4, 2))

names = [c["name"] for c in cases]
assert len(names) == len(set(names)), "duplicate case names"

with open(OUT, "w") as f:
    json.dump({"format": FORMAT, "torch_version": torch.__version__, "cases": cases}, f,
              sort_keys=True, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} cases to {OUT} ({os.path.getsize(OUT)} bytes)")
