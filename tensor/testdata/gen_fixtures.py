#!/usr/bin/python3
"""Generate tensor/testdata/torch_ops.json: PyTorch reference results that
tensor/torch_fixture_test.go compares Tessera's tensor ops against, so that
`go test` needs no Python.

Run from the repository root with Debian's interpreter (the one with torch):

    /usr/bin/python3 tensor/testdata/gen_fixtures.py

The output is deterministic: one seeded generator, one thread, and the JSON
is written with sorted keys.

File format (top level object):

  "format"        a version string for the layout below
  "torch_version" torch.__version__ of the run that wrote the file
  "ops"           op name -> the torch expression it means (documentation;
                  x0, x1, ... are the inputs, args are the case's "args")
  "cases"         list of cases, each:
      "name"      unique; the Go subtest name
      "op"        a key of "ops"
      "args"      op parameters (axes, keepdim, exponent, ...)
      "inputs"    list of tensors (below)
      "output"    one tensor, or
      "outputs"   a list of tensors (split, chunk), or
      "error"     the Python exception torch raised: Tessera must panic
                  with a *tensor.Error for the same call.

A tensor is {"dtype", "shape", "data"} with data flattened row-major.
  - float32, float16, bfloat16: JSON numbers in the shortest decimal form
    that round-trips through float32 (parse them as float32: Go's
    strconv.ParseFloat(s, 32)); float16 and bfloat16 values are exact in
    float32.  float64: shortest decimal that round-trips float64.
  - NaN and the infinities are the strings "nan", "inf", "-inf" (JSON has
    no literal for them), in args as well as in data.
  - int32/int64: JSON integers; bool: true/false.
An input may also carry "views": a list of one-key objects applied in order
to the tensor built from data, so the op sees a strided view:
  {"transpose": [a, b]}         {"permute": [p0, p1, ...]}
  {"t": []}                     {"slice": [axis, start, end, step]}
  {"narrow": [axis, start, n]}  {"index": [axis, i]}
  {"expand": [shape...]}        {"unsqueeze": [axis]}
  {"squeeze": [axes...]}        {"reshape": [shape...]}
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

FORMAT = "tessera-torch-fixtures/1"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_ops.json")

torch.manual_seed(0)
torch.set_num_threads(1)

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}
FLOATS = ("float32", "float64")
NAN, INF = float("nan"), float("inf")


# ---------------------------------------------------------------- encoding

def enc_float(v, f32):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if not f32:
        return v
    s = str(np.float32(v))  # shortest decimal that round-trips float32
    d = float(s)
    assert np.float32(d) == np.float32(v), (v, s)
    return d


def enc_value(v):
    """A Python scalar in an args dict (NaN/Inf as strings)."""
    if isinstance(v, float):
        return enc_float(v, False)
    if isinstance(v, (list, tuple)):
        return [enc_value(x) for x in v]
    return v


def enc_tensor(t, views=None):
    name = NAMES[t.dtype]
    flat = t.detach().contiguous().reshape(-1)
    if name in ("float16", "bfloat16", "float32"):
        data = [enc_float(v, True) for v in flat.to(torch.float32).tolist()]
    elif name == "float64":
        data = [enc_float(v, False) for v in flat.tolist()]
    else:
        data = flat.tolist()
    out = {"dtype": name, "shape": list(t.shape), "data": data}
    if views:
        out["views"] = [{k: list(v)} for k, v in views]
    return out


# ------------------------------------------------------------------- views

def apply_views(t, views):
    for k, a in views or []:
        if k == "transpose":
            t = t.transpose(a[0], a[1])
        elif k == "permute":
            t = t.permute(*a)
        elif k == "t":
            t = t.permute(*reversed(range(t.dim())))
        elif k == "slice":
            ax, start, end, step = a
            t = t[(slice(None),) * (ax % t.dim()) + (slice(start, end, step),)]
        elif k == "narrow":
            t = t.narrow(a[0], a[1], a[2])
        elif k == "index":
            t = t.select(a[0], a[1])
        elif k == "expand":
            t = t.expand(*a)
        elif k == "unsqueeze":
            t = t.unsqueeze(a[0])
        elif k == "squeeze":
            for ax in sorted((x % t.dim() for x in a), reverse=True):
                t = t.squeeze(ax)
        elif k == "reshape":
            t = t.reshape(*a)
        else:
            raise ValueError("unknown view " + k)
    return t


# --------------------------------------------------------------------- ops

def all_axes(x, axes):
    return tuple(range(x.dim())) if axes is None else tuple(axes)


def red(fn_all, fn_axes):
    """A reduction over args["axes"] (null: all) with args["keepdim"]."""
    def f(xs, a):
        x, axes, keep = xs[0], a.get("axes"), a.get("keepdim", False)
        if axes is None and not keep:
            return fn_all(x)
        if x.dim() == 0:
            return fn_all(x)
        return fn_axes(x, all_axes(x, axes), keep)
    return f


def prod_axes(x, axes, keep):
    for ax in sorted((d % x.dim() for d in axes), reverse=True):
        x = torch.prod(x, ax, keepdim=keep)
    return x


def argred(fn):
    def f(xs, a):
        axis = a.get("axis")
        if axis is None:
            return fn(xs[0])
        return fn(xs[0], dim=axis, keepdim=a.get("keepdim", False))
    return f


def scalar_t(x, s):
    """The Python number s next to tensor x, as the 0-d tensor torch would
    make of it: x's dtype for a float x (a 0-d operand never widens a
    dimensioned one within its category, and the value is rounded to x's
    dtype, as torch rounds a wrapped Python number); for an integer or bool
    x, int64 for an integral s (which does not widen x) and the default
    float32 for a fractional one."""
    if x.is_floating_point():
        return torch.tensor(s, dtype=x.dtype)
    return torch.tensor(s)


OPS = {}
DOC = {}


def op(name, doc, fn):
    OPS[name] = fn
    DOC[name] = doc


UNARY = {
    "neg": torch.neg, "abs": torch.abs, "sign": torch.sign, "exp": torch.exp,
    "log": torch.log, "sqrt": torch.sqrt, "rsqrt": torch.rsqrt,
    "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh,
    "sigmoid": torch.sigmoid, "relu": torch.relu, "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"), "silu": F.silu,
    "recip": torch.reciprocal, "square": torch.square, "erf": torch.erf,
    "log1p": torch.log1p, "expm1": torch.expm1, "floor": torch.floor,
    "ceil": torch.ceil, "round": torch.round,
}
UNARY_DOC = {"gelu": "F.gelu(x0)", "gelu_tanh": "F.gelu(x0, approximate='tanh')",
             "silu": "F.silu(x0)", "recip": "torch.reciprocal(x0)"}
for _n, _f in UNARY.items():
    op(_n, UNARY_DOC.get(_n, "torch.%s(x0)" % _n), (lambda f: lambda xs, a: f(xs[0]))(_f))

op("clamp", "torch.clamp(x0, min, max) (a bound of -inf/inf means none)",
   lambda xs, a: torch.clamp(xs[0], None if a["min"] == -INF else a["min"],
                             None if a["max"] == INF else a["max"]))

BINARY = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
    "pow": torch.pow, "maximum": torch.maximum, "minimum": torch.minimum,
    "eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le,
    "gt": torch.gt, "ge": torch.ge,
}
for _n, _f in BINARY.items():
    op(_n, "torch.%s(x0, x1)" % _n, (lambda f: lambda xs, a: f(xs[0], xs[1]))(_f))

SCALAR = {
    "add_scalar": ("x0 + scalar", lambda x, s: x + s),
    "sub_scalar": ("x0 - scalar", lambda x, s: x - s),
    "mul_scalar": ("x0 * scalar", lambda x, s: x * s),
    "div_scalar": ("x0 / scalar", lambda x, s: x / s),
    "pow_scalar": ("x0 ** scalar", lambda x, s: x ** s),
    "rsub_scalar": ("scalar - x0", lambda x, s: s - x),
    "rdiv_scalar": ("scalar / x0", lambda x, s: s / x),
    "maximum_scalar": ("torch.maximum(x0, scalar as a 0-d tensor of x0's dtype, or int64/float32 for integer x0)",
                       lambda x, s: torch.maximum(x, scalar_t(x, s))),
    "minimum_scalar": ("torch.minimum(x0, scalar as a 0-d tensor of x0's dtype, or int64/float32 for integer x0)",
                       lambda x, s: torch.minimum(x, scalar_t(x, s))),
    "eq_scalar": ("x0 == scalar", lambda x, s: x == s),
    "ne_scalar": ("x0 != scalar", lambda x, s: x != s),
    "lt_scalar": ("x0 < scalar", lambda x, s: x < s),
    "le_scalar": ("x0 <= scalar", lambda x, s: x <= s),
    "gt_scalar": ("x0 > scalar", lambda x, s: x > s),
    "ge_scalar": ("x0 >= scalar", lambda x, s: x >= s),
}
for _n, (_d, _f) in SCALAR.items():
    op(_n, _d, (lambda f: lambda xs, a: f(xs[0], a["scalar"]))(_f))

op("where", "torch.where(x0, x1, x2)", lambda xs, a: torch.where(xs[0], xs[1], xs[2]))

op("sum", "torch.sum(x0, dim=axes, keepdim) (axes null: all)",
   red(torch.sum, lambda x, ax, k: torch.sum(x, dim=ax, keepdim=k)))
op("mean", "torch.mean(x0, dim=axes, keepdim)",
   red(torch.mean, lambda x, ax, k: torch.mean(x, dim=ax, keepdim=k)))
op("max", "torch.amax(x0, dim=axes, keepdim) (axes null: torch.max(x0))",
   red(torch.max, lambda x, ax, k: torch.amax(x, dim=ax, keepdim=k)))
op("min", "torch.amin(x0, dim=axes, keepdim) (axes null: torch.min(x0))",
   red(torch.min, lambda x, ax, k: torch.amin(x, dim=ax, keepdim=k)))
op("prod", "torch.prod(x0, dim=d, keepdim) for each d in axes",
   red(torch.prod, prod_axes))
op("var", "torch.var(x0, dim=axes, correction=correction, keepdim) (correction is 0 or 1)",
   lambda xs, a: red(lambda x: torch.var(x, unbiased=a["correction"] == 1),
                     lambda x, ax, k: torch.var(x, dim=ax, correction=a["correction"], keepdim=k))(xs, a))
op("std", "torch.std(x0, dim=axes, correction=correction, keepdim) (correction is 0 or 1)",
   lambda xs, a: red(lambda x: torch.std(x, unbiased=a["correction"] == 1),
                     lambda x, ax, k: torch.std(x, dim=ax, correction=a["correction"], keepdim=k))(xs, a))
op("logsumexp", "torch.logsumexp(x0, dim=axes, keepdim) (axes null: all)",
   red(lambda x: torch.logsumexp(x, dim=tuple(range(x.dim()))),
       lambda x, ax, k: torch.logsumexp(x, dim=ax, keepdim=k)))
op("argmax", "torch.argmax(x0, dim=axis, keepdim) (axis null: flattened)", argred(torch.argmax))
op("argmin", "torch.argmin(x0, dim=axis, keepdim) (axis null: flattened)", argred(torch.argmin))

op("matmul", "torch.matmul(x0, x1)", lambda xs, a: torch.matmul(xs[0], xs[1]))
op("softmax", "torch.softmax(x0, dim=axis)", lambda xs, a: torch.softmax(xs[0], a["axis"]))
op("log_softmax", "torch.log_softmax(x0, dim=axis)",
   lambda xs, a: torch.log_softmax(xs[0], a["axis"]))

op("gather", "torch.gather(x0, axis, x1)", lambda xs, a: torch.gather(xs[0], a["axis"], xs[1]))
op("index_select", "torch.index_select(x0, axis, x1)",
   lambda xs, a: torch.index_select(xs[0], a["axis"], xs[1]))
op("scatter_add", "torch.scatter_add(x0, axis, x1, x2)",
   lambda xs, a: torch.scatter_add(xs[0], a["axis"], xs[1], xs[2]))
op("one_hot", "F.one_hot(x0, num_classes)", lambda xs, a: F.one_hot(xs[0], a["num_classes"]))

op("cat", "torch.cat(inputs, axis)", lambda xs, a: torch.cat(xs, a["axis"]))
op("stack", "torch.stack(inputs, axis)", lambda xs, a: torch.stack(xs, a["axis"]))
op("split", "torch.split(x0, size, axis) (outputs)", lambda xs, a: torch.split(xs[0], a["size"], a["axis"]))
op("split_sizes", "torch.split(x0, sizes, axis) (outputs)",
   lambda xs, a: torch.split(xs[0], a["sizes"], a["axis"]))
op("chunk", "torch.chunk(x0, chunks, axis) (outputs)", lambda xs, a: torch.chunk(xs[0], a["chunks"], a["axis"]))

op("cast", "x0.to(dtype)", lambda xs, a: xs[0].to(DTYPES[a["dtype"]]))
op("cast_roundtrip", "x0.to(via).to(x0.dtype)",
   lambda xs, a: xs[0].to(DTYPES[a["via"]]).to(xs[0].dtype))
op("contiguous", "x0.contiguous() (x0 is a view)", lambda xs, a: xs[0].contiguous())
op("reshape", "x0.reshape(shape)", lambda xs, a: xs[0].reshape(a["shape"]))


# ------------------------------------------------------------------- cases

CASES = []
SEEN = set()


def case(name, opname, inputs, args=None, error=False):
    """inputs: tensors, or (tensor, views) pairs."""
    assert name not in SEEN, name
    assert opname in OPS, opname
    SEEN.add(name)
    args = dict(args or {})
    pairs = [i if isinstance(i, tuple) else (i, None) for i in inputs]
    xs = [apply_views(t, v) for t, v in pairs]
    c = {
        "name": name,
        "op": opname,
        "args": {k: enc_value(v) for k, v in args.items()},
        "inputs": [enc_tensor(t, v) for t, v in pairs],
    }
    if error:
        try:
            OPS[opname](xs, args)
        except (RuntimeError, IndexError, ValueError) as e:
            c["error"] = type(e).__name__
        else:
            sys.exit("case %s: torch did not raise" % name)
    else:
        out = OPS[opname](xs, args)
        if isinstance(out, (list, tuple)):
            c["outputs"] = [enc_tensor(o) for o in out]
        else:
            c["output"] = enc_tensor(out)
    CASES.append(c)


def short(dt):
    return {"float32": "f32", "float64": "f64", "int64": "i64", "int32": "i32",
            "bool": "bool", "float16": "f16", "bfloat16": "bf16"}[dt]


def randn(shape, dt, scale=1.0):
    return torch.randn(shape, dtype=torch.float64).mul(scale).to(DTYPES[dt])


def uniform(shape, dt, lo, hi):
    return (torch.rand(shape, dtype=torch.float64) * (hi - lo) + lo).to(DTYPES[dt])


def ints(shape, lo, hi, dt="int64"):
    return torch.randint(lo, hi, shape, dtype=DTYPES[dt])


def vec(values, dt):
    return torch.tensor(values, dtype=DTYPES[dt])


# -- elementwise unary
POSITIVE = {"log", "sqrt", "rsqrt"}
SPECIAL = [NAN, INF, -INF, 0.0, -0.0, -1.0, 1e-7, -1e-7, 20.0, -20.0, 100.0, -100.0, 800.0, -800.0]
for name in UNARY:
    for dt in FLOATS:
        s = short(dt)
        if name in POSITIVE:
            x = uniform([3, 4], dt, 0.05, 5.0)
        else:
            x = randn([3, 4], dt, 2.0)
        if name in ("round", "floor", "ceil"):
            # exact halves test round-half-to-even
            x = torch.cat([x.reshape(-1), vec([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, -3.5], dt)]).reshape(4, 5)
        case("%s_%s" % (name, s), name, [x])
        case("%s_%s_special" % (name, s), name, [vec([v for v in SPECIAL if not math.isnan(v)], dt)])
        case("%s_%s_nan" % (name, s), name, [vec([NAN, -NAN], dt)])
    # strided input: transposed and stepped slice
    base = uniform([4, 6], "float32", 0.05, 5.0) if name in POSITIVE else randn([4, 6], "float32")
    case("%s_f32_strided" % name, name, [(base, [("transpose", [0, 1]), ("slice", [0, 1, 6, 2])])])
    case("%s_f64_0d" % name, name, [torch.tensor(0.75 if name in POSITIVE else -0.75, dtype=torch.float64)])
    case("%s_f32_empty" % name, name, [torch.zeros([0, 3])])
# integer inputs: torch keeps int64 for these ...
for name in ("neg", "abs", "sign", "square", "relu", "floor", "ceil", "round"):
    case("%s_i64" % name, name, [ints([2, 5], -6, 7)])
# ... and computes these in the default float dtype (float32)
for name in ("exp", "sqrt", "sigmoid", "tanh", "log", "sin", "recip"):
    case("%s_i64" % name, name, [ints([2, 5], 1, 7)])
case("abs_i32", "abs", [ints([5], -6, 7, "int32")])

# clamp
for dt in FLOATS:
    s = short(dt)
    case("clamp_%s" % s, "clamp", [randn([3, 5], dt, 2.0)], {"min": -1.0, "max": 0.5})
    case("clamp_%s_min_only" % s, "clamp", [randn([3, 5], dt, 2.0)], {"min": -0.3, "max": INF})
    case("clamp_%s_max_only" % s, "clamp", [randn([3, 5], dt, 2.0)], {"min": -INF, "max": 0.3})
    case("clamp_%s_special" % s, "clamp", [vec([NAN, INF, -INF, 0.0, 5.0, -5.0], dt)], {"min": -1.0, "max": 1.0})
case("clamp_i64", "clamp", [ints([8], -9, 10)], {"min": -3, "max": 4})
case("clamp_f32_strided", "clamp", [(randn([4, 5], "float32"), [("t", [])])], {"min": -0.5, "max": 0.5})

# -- elementwise binary
ARITH = ("add", "sub", "mul", "div", "maximum", "minimum")
CMP = ("eq", "ne", "lt", "le", "gt", "ge")
for dt in FLOATS:
    s = short(dt)
    for name in ARITH + ("pow",):
        pos = name == "pow"
        a = uniform([3, 1, 4], dt, 0.1, 3.0) if pos else randn([3, 1, 4], dt)
        b = randn([2, 1], dt) if not pos else uniform([2, 1], dt, -2.0, 2.0)
        case("%s_%s_bcast" % (name, s), name, [a, b])
        case("%s_%s_same" % (name, s), name, [a.reshape(3, 4), uniform([3, 4], dt, -2, 2) if pos else randn([3, 4], dt)])
        case("%s_%s_0d_left" % (name, s), name, [torch.tensor(1.5, dtype=DTYPES[dt]), a.reshape(3, 4)])
        case("%s_%s_0d_right" % (name, s), name, [a.reshape(3, 4), torch.tensor(-0.5 if not pos else 2.0, dtype=DTYPES[dt])])
        case("%s_%s_0d_0d" % (name, s), name, [torch.tensor(2.5, dtype=DTYPES[dt]), torch.tensor(-1.25 if not pos else 3.0, dtype=DTYPES[dt])])
        case("%s_%s_strided" % (name, s), name,
             [(uniform([5, 3], dt, 0.1, 3) if pos else randn([5, 3], dt), [("t", [])]),
              (randn([3, 10], dt), [("slice", [1, 0, 10, 2])])])
        case("%s_%s_expand" % (name, s), name,
             [(uniform([3, 1], dt, 0.1, 3) if pos else randn([3, 1], dt), [("expand", [3, 4])]), randn([3, 4], dt)])
    for name in CMP:
        a = ints([3, 1, 4], -2, 3).to(DTYPES[dt])
        b = ints([2, 1], -2, 3).to(DTYPES[dt])
        case("%s_%s_bcast" % (name, s), name, [a, b])
        case("%s_%s_nan" % (name, s), name, [vec([NAN, 1.0, NAN, INF, -INF, 0.0], dt), vec([NAN, NAN, 1.0, INF, INF, -0.0], dt)])
        case("%s_%s_0d" % (name, s), name, [ints([5], -2, 3).to(DTYPES[dt]), torch.tensor(0.0, dtype=DTYPES[dt])])
    special_a = [NAN, 1.0, NAN, INF, -INF, 0.0, -0.0, 3.0, -2.0, 1.0, 0.0, -1.0]
    special_b = [2.0, NAN, NAN, 1.0, 1.0, 0.0, 0.0, INF, -INF, 0.0, -1.0, 0.0]
    for name in ("add", "sub", "mul", "div", "maximum", "minimum"):
        case("%s_%s_special" % (name, s), name, [vec(special_a, dt), vec(special_b, dt)])
    case("pow_%s_special" % s, "pow",
         [vec([-2.0, -2.0, 0.0, 0.0, 0.0, NAN, 1.0, 2.0, -8.0, INF, 4.0, -0.5], dt),
          vec([3.0, 0.5, 0.0, -1.0, 2.5, 0.0, NAN, -INF, 1.0 / 3.0, -1.0, 0.5, -2.0], dt)])
    case("div_%s_by_zero" % s, "div", [vec([1.0, -1.0, 0.0, -0.0], dt), vec([0.0, 0.0, 0.0, -0.0], dt)])
# mixed dtypes and integers
case("add_i64", "add", [ints([3, 1, 4], -9, 10), ints([2, 1], -9, 10)])
case("sub_i64", "sub", [ints([3, 4], -9, 10), ints([4], -9, 10)])
case("mul_i64", "mul", [ints([3, 4], -9, 10), ints([3, 1], -9, 10)])
case("div_i64", "div", [ints([3, 4], -9, 10), vec([3, -2, 7, 5], "int64")])
case("div_i64_by_zero", "div", [vec([1, -1, 0], "int64"), vec([0, 0, 0], "int64")])
case("maximum_i64", "maximum", [ints([3, 4], -9, 10), ints([4], -9, 10)])
case("minimum_i64", "minimum", [ints([3, 4], -9, 10), ints([4], -9, 10)])
case("pow_i64", "pow", [ints([2, 4], -4, 5), ints([4], 0, 4)])
case("add_i32_i64", "add", [ints([4], -9, 10, "int32"), ints([4], -9, 10)])
case("add_i32", "add", [ints([2, 3], -9, 10, "int32"), ints([3], -9, 10, "int32")])
case("add_i64_f32", "add", [ints([3, 4], -9, 10), randn([4], "float32")])
case("mul_f32_f64", "mul", [randn([3, 4], "float32"), randn([3, 4], "float64")])
case("add_bool_i64", "add", [vec([True, False, True], "bool"), vec([4, 5, 6], "int64")])
case("add_bool", "add", [vec([True, False, True, False], "bool"), vec([True, True, False, False], "bool")])
case("mul_bool", "mul", [vec([True, False, True, False], "bool"), vec([True, True, False, False], "bool")])
case("maximum_bool", "maximum", [vec([True, False, True, False], "bool"), vec([True, True, False, False], "bool")])
case("add_bf16", "add", [randn([6], "bfloat16"), randn([6], "bfloat16")])
case("mul_f16", "mul", [randn([6], "float16"), randn([6], "float16")])
case("add_f16_bf16", "add", [randn([6], "float16"), randn([6], "bfloat16")])
case("add_f32_empty", "add", [torch.zeros([0, 3]), randn([3], "float32")])
case("add_f32_empty_bcast", "add", [torch.zeros([2, 0, 1]), randn([3], "float32")])
# A 0-d tensor of a wider float type does not widen a dimensioned one in
# torch (result float32 here); Tessera's PromoteTypes may differ.
case("add_f32_0d_f64", "add", [randn([3], "float32"), torch.tensor(0.1, dtype=torch.float64)])
for name in CMP:
    case("%s_i64" % name, name, [ints([3, 4], -2, 3), ints([4], -2, 3)])
    case("%s_i64_f32" % name, name, [ints([6], -2, 3), vec([-1.5, 0.5, 1.0, 2.0, -2.0, 0.0], "float32")])
case("eq_bool", "eq", [vec([True, False, True, False], "bool"), vec([True, True, False, False], "bool")])
case("lt_bool", "lt", [vec([True, False, True, False], "bool"), vec([True, True, False, False], "bool")])

# scalar variants
for dt in FLOATS:
    s = short(dt)
    x = randn([2, 3], dt, 2.0)
    xp = uniform([2, 3], dt, 0.2, 3.0)
    for name, sc in (("add_scalar", 1.5), ("sub_scalar", 0.25), ("mul_scalar", -3.0), ("div_scalar", 4.0),
                     ("rsub_scalar", 1.0), ("maximum_scalar", 0.1), ("minimum_scalar", -0.1),
                     ("eq_scalar", 0.0), ("ne_scalar", 0.0), ("lt_scalar", 0.5), ("le_scalar", 0.5),
                     ("gt_scalar", -0.5), ("ge_scalar", -0.5)):
        case("%s_%s" % (name, s), name, [x], {"scalar": sc})
    case("rdiv_scalar_%s" % s, "rdiv_scalar", [xp], {"scalar": 2.0})
    for e in (2.0, 0.5, -1.0, 3.0, 0.0, -0.5):
        case("pow_scalar_%s_%g" % (s, e), "pow_scalar", [xp], {"scalar": e})
    case("pow_scalar_%s_neg_base" % s, "pow_scalar", [vec([-2.0, -1.5, 0.0, 1.5, NAN], dt)], {"scalar": 2.0})
    case("pow_scalar_%s_neg_base_frac" % s, "pow_scalar", [vec([-2.0, -1.5, 0.0, 1.5], dt)], {"scalar": 0.5})
    case("mul_scalar_%s_inf" % s, "mul_scalar", [vec([0.0, 1.0, -2.0, NAN], dt)], {"scalar": INF})
    case("maximum_scalar_%s_nan" % s, "maximum_scalar", [vec([0.0, 1.0, -2.0, NAN], dt)], {"scalar": 0.5})
    case("add_scalar_%s_0d" % s, "add_scalar", [torch.tensor(2.0, dtype=DTYPES[dt])], {"scalar": 3.0})
# integer tensors with scalars: integral scalar keeps int64, fractional gives float32
xi = ints([2, 4], -5, 6)
case("add_scalar_i64_int", "add_scalar", [xi], {"scalar": 3})
case("mul_scalar_i64_int", "mul_scalar", [xi], {"scalar": -2})
case("add_scalar_i64_frac", "add_scalar", [xi], {"scalar": 0.5})
case("mul_scalar_i64_frac", "mul_scalar", [xi], {"scalar": 1.5})
case("div_scalar_i64_int", "div_scalar", [xi], {"scalar": 2})
case("pow_scalar_i64_int", "pow_scalar", [xi], {"scalar": 2})
case("pow_scalar_i64_frac", "pow_scalar", [ints([4], 0, 9)], {"scalar": 0.5})
case("rsub_scalar_i64_int", "rsub_scalar", [xi], {"scalar": 10})
case("gt_scalar_i64_frac", "gt_scalar", [xi], {"scalar": 0.5})
case("eq_scalar_i64_int", "eq_scalar", [xi], {"scalar": 2})
case("maximum_scalar_i64_int", "maximum_scalar", [xi], {"scalar": 1})
case("add_scalar_i32_int", "add_scalar", [ints([4], -5, 6, "int32")], {"scalar": 7})
case("add_scalar_bool_int", "add_scalar", [vec([True, False], "bool")], {"scalar": 2})
case("mul_scalar_f32_strided", "mul_scalar", [(randn([3, 4], "float32"), [("t", [])])], {"scalar": 2.0})

# where
for dt in FLOATS:
    s = short(dt)
    case("where_%s" % s, "where", [randn([3, 4], "float32") > 0, randn([3, 4], dt), randn([3, 4], dt)])
    case("where_%s_bcast" % s, "where", [randn([3, 1], "float32") > 0, randn([1, 4], dt), torch.tensor(-7.0, dtype=DTYPES[dt])])
    case("where_%s_nan" % s, "where", [vec([True, False, True], "bool"), vec([NAN, 1.0, INF], dt), vec([2.0, NAN, 0.0], dt)])
case("where_i64", "where", [vec([True, False, True, False], "bool"), ints([4], -9, 10), ints([2, 1], -9, 10)])
case("where_i64_f32", "where", [vec([True, False, True, False], "bool"), ints([4], -9, 10), randn([4], "float32")])
case("where_bool", "where", [vec([True, False, True], "bool"), vec([True, True, False], "bool"), vec([False, False, True], "bool")])
case("where_strided", "where", [(randn([4, 3], "float32") > 0, [("t", [])]), (randn([4, 3], "float32"), [("t", [])]), randn([3, 4], "float32")])

# -- reductions
AXES = [None, [0], [1], [2], [-1], [0, 2], [-1, 0], [0, 1, 2]]
KEEP_AXES = [None, [1], [0, 2]]


def axes_name(axes):
    if axes is None:
        return "all"
    return "ax" + "_".join(str(a).replace("-", "m") for a in axes)


for dt in FLOATS:
    s = short(dt)
    for name in ("sum", "mean", "max", "min", "prod", "var", "std", "logsumexp"):
        x = randn([3, 4, 5], dt)
        if name == "prod":
            sign = (randn([3, 4, 5], "float32") > 0).to(DTYPES[dt]) * 2 - 1
            x = uniform([3, 4, 5], dt, 0.5, 1.6) * sign
        extra = [{"correction": 1}] if name in ("var", "std") else [{}]
        for args0 in extra:
            for axes in AXES:
                case("%s_%s_%s" % (name, s, axes_name(axes)), name, [x], dict(args0, axes=axes, keepdim=False))
            for axes in KEEP_AXES:
                case("%s_%s_%s_keep" % (name, s, axes_name(axes)), name, [x], dict(args0, axes=axes, keepdim=True))
            case("%s_%s_strided" % (name, s), name,
                 [(x, [("permute", [2, 0, 1]), ("slice", [0, 0, 5, 2])])], dict(args0, axes=[0, 2], keepdim=False))
            case("%s_%s_0d" % (name, s), name, [torch.tensor(1.25, dtype=DTYPES[dt])], dict(args0, axes=None, keepdim=False))
        if name in ("var", "std"):
            case("%s_%s_corr0_ax1" % (name, s), name, [x], {"correction": 0, "axes": [1], "keepdim": False})
            case("%s_%s_corr0_all_keep" % (name, s), name, [x], {"correction": 0, "axes": None, "keepdim": True})
            case("%s_%s_single_elem" % (name, s), name, [randn([3, 1], dt)], {"correction": 1, "axes": [1], "keepdim": False})
            case("%s_%s_large_offset" % (name, s), name, [randn([4, 8], dt) + 1000.0],
                 {"correction": 1, "axes": [1], "keepdim": False})
    nan_x = vec([[1.0, NAN, 3.0], [4.0, 5.0, 6.0], [-INF, 0.0, 2.0]], dt)
    for name in ("sum", "mean", "max", "min", "prod", "logsumexp"):
        case("%s_%s_nan_ax1" % (name, s), name, [nan_x], {"axes": [1], "keepdim": False})
        case("%s_%s_nan_ax0" % (name, s), name, [nan_x], {"axes": [0], "keepdim": False})
    inf_x = vec([[INF, 1.0], [-INF, -INF], [-INF, 1.0], [INF, INF]], dt)
    for name in ("sum", "max", "min", "logsumexp"):
        case("%s_%s_inf_ax1" % (name, s), name, [inf_x], {"axes": [1], "keepdim": False})
    case("logsumexp_%s_large" % s, "logsumexp", [vec([[1000.0, 1000.0, 999.0], [-1000.0, -1001.0, -1002.0]], dt)],
         {"axes": [1], "keepdim": False})
    # empty
    e = torch.zeros([0, 3], dtype=DTYPES[dt])
    for name in ("sum", "prod", "mean", "logsumexp"):
        case("%s_%s_empty_ax0" % (name, s), name, [e], {"axes": [0], "keepdim": False})
        case("%s_%s_empty_ax1" % (name, s), name, [e], {"axes": [1], "keepdim": False})
    for name in ("sum", "prod", "mean"):
        case("%s_%s_empty_all" % (name, s), name, [e], {"axes": None, "keepdim": False})
    case("max_%s_empty_ax1" % s, "max", [e], {"axes": [1], "keepdim": False})
    case("max_%s_empty_ax0_error" % s, "max", [e], {"axes": [0], "keepdim": False}, error=True)
xi = ints([3, 4], -5, 6)
for name in ("sum", "prod", "max", "min"):
    case("%s_i64_all" % name, name, [xi], {"axes": None, "keepdim": False})
    case("%s_i64_ax1" % name, name, [xi], {"axes": [1], "keepdim": False})
    case("%s_i64_ax0_keep" % name, name, [xi], {"axes": [0], "keepdim": True})
case("sum_i32_ax0", "sum", [ints([3, 4], -5, 6, "int32")], {"axes": [0], "keepdim": False})
case("sum_bool_all", "sum", [randn([3, 4], "float32") > 0], {"axes": None, "keepdim": False})
case("sum_bool_ax1", "sum", [randn([3, 4], "float32") > 0], {"axes": [1], "keepdim": False})
case("max_bool_ax1", "max", [vec([[True, False], [False, False]], "bool")], {"axes": [1], "keepdim": False})
# positive terms: no cancellation, so summation order cannot matter beyond
# the float32 tolerance
case("sum_f32_large", "sum", [uniform([64, 33], "float32", 0.0, 1.0)], {"axes": [0], "keepdim": False})
case("sum_axis_out_of_range_error", "sum", [randn([2, 3], "float32")], {"axes": [2], "keepdim": False}, error=True)

# argmax / argmin, with ties (first index wins) and NaN (NaN is the extreme)
for dt in FLOATS + ("int64",):
    s = short(dt)
    x = ints([3, 4, 5], 0, 3).to(DTYPES[dt])  # many ties
    for name in ("argmax", "argmin"):
        case("%s_%s_all" % (name, s), name, [x], {"axis": None, "keepdim": False})
        for ax in (0, 1, 2, -1):
            case("%s_%s_ax%s" % (name, s, str(ax).replace("-", "m")), name, [x], {"axis": ax, "keepdim": False})
        case("%s_%s_ax1_keep" % (name, s), name, [x], {"axis": 1, "keepdim": True})
        case("%s_%s_strided" % (name, s), name, [(x, [("transpose", [0, 2])])], {"axis": 1, "keepdim": False})
for name in ("argmax", "argmin"):
    for dt in FLOATS:
        case("%s_%s_nan" % (name, short(dt)), name,
             [vec([[1.0, NAN, 3.0, NAN], [INF, 2.0, INF, -INF], [-INF, -INF, 0.0, 0.0]], dt)], {"axis": 1, "keepdim": False})
    case("%s_f32_0d" % name, name, [torch.tensor(3.0)], {"axis": None, "keepdim": False})
    case("%s_f32_empty_error" % name, name, [torch.zeros([0])], {"axis": None, "keepdim": False}, error=True)

# -- matmul
MM = [
    ("dot", [4], [4]),
    ("mv", [3, 4], [4]),
    ("vm", [4], [4, 3]),
    ("mm", [3, 4], [4, 5]),
    ("bmm", [2, 3, 4], [2, 4, 5]),
    ("batch_bcast", [2, 1, 3, 4], [5, 4, 2]),
    ("batch_mv", [2, 3, 4], [4]),
    ("vm_batch", [4], [2, 4, 3]),
    ("batch_by_2d", [2, 3, 4], [4, 5]),
    ("2d_by_batch", [3, 4], [2, 4, 5]),
    ("k1", [3, 1], [1, 2]),
    ("empty_k", [2, 0], [0, 3]),
    ("empty_m", [0, 4], [4, 3]),
]
for dt in FLOATS:
    s = short(dt)
    for nm, sa, sb in MM:
        case("matmul_%s_%s" % (s, nm), "matmul", [randn(sa, dt), randn(sb, dt)])
    case("matmul_%s_mm_large" % s, "matmul", [randn([17, 33], dt), randn([33, 9], dt)])
    case("matmul_%s_transposed" % s, "matmul",
         [(randn([4, 3], dt), [("t", [])]), (randn([5, 4], dt), [("t", [])])])
    case("matmul_%s_sliced" % s, "matmul",
         [(randn([6, 8], dt), [("slice", [1, 1, 8, 2])]), (randn([4, 10], dt), [("slice", [1, 0, 10, 3])])])
    case("matmul_%s_batch_permuted" % s, "matmul",
         [(randn([3, 2, 4], dt), [("permute", [1, 0, 2])]), (randn([2, 4, 5], dt), [("transpose", [1, 2]), ("transpose", [1, 2])])])
    case("matmul_%s_expanded" % s, "matmul",
         [(randn([1, 3, 4], dt), [("expand", [2, 3, 4])]), randn([2, 4, 2], dt)])
case("matmul_i64", "matmul", [ints([3, 4], -5, 6), ints([4, 2], -5, 6)])
case("matmul_i64_dot", "matmul", [ints([5], -5, 6), ints([5], -5, 6)])
case("matmul_inner_mismatch_error", "matmul", [randn([2, 3], "float32"), randn([4, 5], "float32")], error=True)
case("matmul_0d_error", "matmul", [torch.tensor(2.0), randn([3], "float32")], error=True)
case("matmul_batch_mismatch_error", "matmul", [randn([2, 3, 4], "float32"), randn([3, 4, 5], "float32")], error=True)

# -- softmax / log_softmax
for dt in FLOATS:
    s = short(dt)
    x = randn([3, 4, 5], dt, 2.0)
    for name in ("softmax", "log_softmax"):
        for ax in (0, 1, 2, -1):
            case("%s_%s_ax%s" % (name, s, str(ax).replace("-", "m")), name, [x], {"axis": ax})
        case("%s_%s_large" % (name, s), name,
             [vec([[1000.0, 999.0, 998.0], [1000.0, 0.0, -1000.0], [-1000.0, -1000.5, -999.0]], dt)], {"axis": 1})
        case("%s_%s_large_ax0" % (name, s), name,
             [vec([[1000.0, 999.0, 998.0], [1000.0, 0.0, -1000.0], [-1000.0, -1000.5, -999.0]], dt)], {"axis": 0})
        case("%s_%s_neginf_mask" % (name, s), name,
             [vec([[0.5, -INF, 1.0, -INF], [-INF, 2.0, -INF, -INF]], dt)], {"axis": 1})
        case("%s_%s_all_neginf_row" % (name, s), name, [vec([[-INF, -INF], [0.0, 1.0]], dt)], {"axis": 1})
        case("%s_%s_strided" % (name, s), name, [(randn([5, 3, 4], dt), [("permute", [2, 0, 1])])], {"axis": 1})
        case("%s_%s_0d" % (name, s), name, [torch.tensor(3.0, dtype=DTYPES[dt])], {"axis": 0})
        case("%s_%s_empty" % (name, s), name, [torch.zeros([0, 4], dtype=DTYPES[dt])], {"axis": 1})
case("softmax_axis_error", "softmax", [randn([2, 3], "float32")], {"axis": 2}, error=True)

# -- gather / index_select / scatter_add / one_hot
for dt in FLOATS + ("int64",):
    s = short(dt)
    x = randn([3, 4], dt, 3.0) if dt != "int64" else ints([3, 4], -9, 10)
    case("gather_%s_ax1" % s, "gather", [x, vec([[0, 3], [2, 2], [1, 0]], "int64")], {"axis": 1})
    case("gather_%s_ax0" % s, "gather", [x, vec([[2, 0, 1, 2], [0, 0, 2, 1]], "int64")], {"axis": 0})
    case("index_select_%s_ax0" % s, "index_select", [x, vec([2, 0, 2], "int64")], {"axis": 0})
    case("index_select_%s_ax1" % s, "index_select", [x, vec([3, 1], "int64")], {"axis": -1})
    src = randn([3, 4], dt) if dt != "int64" else ints([3, 4], -9, 10)
    case("scatter_add_%s_ax1" % s, "scatter_add",
         [torch.zeros([3, 5], dtype=DTYPES[dt]), vec([[0, 4, 0, 1], [2, 2, 2, 2], [3, 0, 1, 4]], "int64"), src], {"axis": 1})
    case("scatter_add_%s_ax0" % s, "scatter_add",
         [x, vec([[0, 1, 2, 0], [0, 0, 0, 0]], "int64"), src], {"axis": 0})
x3 = randn([2, 3, 4], "float32")
case("gather_f32_3d_ax2", "gather", [x3, ints([2, 3, 2], 0, 4)], {"axis": 2})
case("gather_f32_3d_small_index", "gather", [x3, ints([1, 2, 3], 0, 3)], {"axis": 1})
case("gather_f32_strided", "gather", [(randn([4, 3], "float32"), [("t", [])]), vec([[3, 0], [1, 1], [2, 0]], "int64")], {"axis": 1})
case("gather_f32_empty_index", "gather", [randn([2, 3], "float32"), torch.zeros([2, 0], dtype=torch.int64)], {"axis": 1})
case("index_select_f32_3d", "index_select", [x3, vec([1, 1, 0, 2], "int64")], {"axis": 1})
case("index_select_f32_strided", "index_select", [(randn([4, 3], "float32"), [("t", [])]), vec([0, 3], "int64")], {"axis": 1})
case("index_select_f32_empty_index", "index_select", [randn([2, 3], "float32"), torch.zeros([0], dtype=torch.int64)], {"axis": 0})
case("scatter_add_f32_3d", "scatter_add", [randn([2, 3, 4], "float32"), ints([2, 2, 4], 0, 3), randn([2, 2, 4], "float32")], {"axis": 1})
case("scatter_add_f32_small_index", "scatter_add",
     [torch.zeros([3, 3]), vec([[1, 1], [0, 2]], "int64"), randn([2, 4], "float32")], {"axis": 1})
case("gather_out_of_range_error", "gather", [randn([2, 3], "float32"), vec([[3], [0]], "int64")], {"axis": 1}, error=True)
case("index_select_out_of_range_error", "index_select", [randn([2, 3], "float32"), vec([0, 2], "int64")], {"axis": 0}, error=True)
case("scatter_add_out_of_range_error", "scatter_add",
     [torch.zeros([2, 3]), vec([[3], [0]], "int64"), randn([2, 1], "float32")], {"axis": 1}, error=True)
case("one_hot_1d", "one_hot", [vec([0, 3, 1, 1, 2], "int64")], {"num_classes": 4})
case("one_hot_2d", "one_hot", [vec([[0, 2], [1, 0], [2, 2]], "int64")], {"num_classes": 3})
case("one_hot_infer", "one_hot", [vec([2, 0, 4], "int64")], {"num_classes": -1})
case("one_hot_0d", "one_hot", [torch.tensor(1)], {"num_classes": 3})
case("one_hot_out_of_range_error", "one_hot", [vec([0, 3], "int64")], {"num_classes": 3}, error=True)

# -- cat / stack / split / chunk
for dt in FLOATS + ("int64", "bool"):
    s = short(dt)

    def mk(shape):
        if dt == "bool":
            return randn(shape, "float32") > 0
        if dt == "int64":
            return ints(shape, -9, 10)
        return randn(shape, dt)
    case("cat_%s_ax0" % s, "cat", [mk([2, 3]), mk([4, 3])], {"axis": 0})
    case("cat_%s_ax1" % s, "cat", [mk([2, 3]), mk([2, 1]), mk([2, 2])], {"axis": 1})
    case("stack_%s_ax0" % s, "stack", [mk([2, 3]), mk([2, 3])], {"axis": 0})
    case("stack_%s_axm1" % s, "stack", [mk([2, 3]), mk([2, 3]), mk([2, 3])], {"axis": -1})
case("cat_f32_ax_m1_3d", "cat", [randn([2, 3, 1], "float32"), randn([2, 3, 2], "float32")], {"axis": -1})
case("cat_f32_strided", "cat", [(randn([3, 2], "float32"), [("t", [])]), (randn([2, 6], "float32"), [("slice", [1, 0, 6, 2])])], {"axis": 0})
case("cat_f32_empty", "cat", [torch.zeros([0, 3]), randn([2, 3], "float32"), torch.zeros([0, 3])], {"axis": 0})
case("cat_mixed_i64_f32", "cat", [ints([2], -9, 10), randn([3], "float32")], {"axis": 0})
case("cat_mixed_f32_f64", "cat", [randn([2], "float32"), randn([3], "float64")], {"axis": 0})
case("cat_single", "cat", [randn([2, 3], "float32")], {"axis": 1})
case("cat_shape_mismatch_error", "cat", [randn([2, 3], "float32"), randn([2, 4], "float32")], {"axis": 0}, error=True)
case("stack_f32_ax1_3d", "stack", [randn([2, 3, 4], "float32"), randn([2, 3, 4], "float32")], {"axis": 1})
case("stack_f32_0d", "stack", [torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0)], {"axis": 0})
case("stack_f32_strided", "stack", [(randn([3, 2], "float32"), [("t", [])]), randn([2, 3], "float32")], {"axis": 2})
case("stack_shape_mismatch_error", "stack", [randn([2, 3], "float32"), randn([3, 2], "float32")], {"axis": 0}, error=True)
xs = randn([5, 4], "float64")
case("split_f64_ax0_2", "split", [xs], {"size": 2, "axis": 0})
case("split_f64_ax1_3", "split", [xs], {"size": 3, "axis": 1})
case("split_f64_ax0_5", "split", [xs], {"size": 5, "axis": 0})
case("split_f64_ax0_big", "split", [xs], {"size": 7, "axis": 0})
case("split_i64_strided", "split", [(ints([4, 6], -9, 10), [("t", [])])], {"size": 4, "axis": 0})
case("split_sizes_f32", "split_sizes", [randn([5, 2], "float32")], {"sizes": [1, 0, 3, 1], "axis": 0})
case("split_sizes_f32_axm1", "split_sizes", [randn([2, 6], "float32")], {"sizes": [4, 2], "axis": -1})
case("split_sizes_mismatch_error", "split_sizes", [randn([5, 2], "float32")], {"sizes": [1, 3], "axis": 0}, error=True)
for n, length in ((3, 7), (4, 6), (2, 4), (5, 3), (1, 3)):
    case("chunk_f32_%d_of_%d" % (n, length), "chunk", [randn([length, 2], "float32")], {"chunks": n, "axis": 0})
case("chunk_f32_ax1", "chunk", [randn([2, 5], "float32")], {"chunks": 2, "axis": 1})

# -- casts
cvals = [-2.7, -1.5, -0.5, -0.0, 0.0, 0.4, 0.5, 1.0, 2.9, 1e6, -3.0, 123456.78]
for dt in FLOATS:
    s = short(dt)
    case("cast_%s_to_i64" % s, "cast", [vec(cvals, dt)], {"dtype": "int64"})
    case("cast_%s_to_i32" % s, "cast", [vec(cvals, dt)], {"dtype": "int32"})
    case("cast_%s_to_bool" % s, "cast", [vec(cvals + [NAN, INF, -INF, 1e-30], dt)], {"dtype": "bool"})
    case("cast_%s_to_i64_strided" % s, "cast", [(randn([3, 4], dt, 10.0), [("t", [])])], {"dtype": "int64"})
case("cast_f64_to_f32", "cast", [vec([0.1, 1.0 / 3.0, 1e300, -1e300, 1e-300, NAN, INF, 16777217.0, 3.4028235677973366e38], "float64")], {"dtype": "float32"})
case("cast_f32_to_f64", "cast", [randn([5], "float32")], {"dtype": "float64"})
case("cast_i64_to_f32", "cast", [vec([0, -1, 16777217, 2 ** 40 + 1, -(2 ** 31)], "int64")], {"dtype": "float32"})
case("cast_i64_to_f64", "cast", [vec([0, -1, 2 ** 53 + 1, -(2 ** 62)], "int64")], {"dtype": "float64"})
case("cast_i64_to_i32", "cast", [vec([0, -1, 7, 2 ** 31 - 1, -(2 ** 31)], "int64")], {"dtype": "int32"})
case("cast_i32_to_i64", "cast", [vec([0, -1, 7, 2 ** 31 - 1], "int32")], {"dtype": "int64"})
case("cast_i64_to_bool", "cast", [vec([0, -1, 7, 0], "int64")], {"dtype": "bool"})
case("cast_bool_to_f32", "cast", [vec([True, False, True], "bool")], {"dtype": "float32"})
case("cast_bool_to_i64", "cast", [vec([True, False, True], "bool")], {"dtype": "int64"})
case("cast_f32_to_f16", "cast", [vec([1.0, 0.1, 65504.0, 70000.0, 6e-8, NAN], "float32")], {"dtype": "float16"})
case("cast_f32_to_bf16", "cast", [vec([1.0, 0.1, 3.0e38, 1e-40, NAN], "float32")], {"dtype": "bfloat16"})
case("cast_f16_to_bf16", "cast", [vec([1.0, 0.1, 65504.0, 6e-8], "float16")], {"dtype": "bfloat16"})
case("cast_f32_0d_to_i64", "cast", [torch.tensor(-7.9)], {"dtype": "int64"})
case("cast_f32_empty_to_i64", "cast", [torch.zeros([0, 2])], {"dtype": "int64"})
half_vals = [1.0, 0.1, 1.0 / 3.0, -2.5, 65504.0, 65519.0, 65520.0, 70000.0, -70000.0, 6.0e-5, 6e-8, 2.9e-8, 3.0e-8,
             1e-10, 1.0009765625, 1.00048828125, 1.00146484375, 2049.0, 2051.0, NAN, INF, -INF, -0.0]
case("cast_roundtrip_f32_f16", "cast_roundtrip", [vec(half_vals, "float32")], {"via": "float16"})
case("cast_roundtrip_f32_f16_random", "cast_roundtrip", [randn([32], "float32", 100.0)], {"via": "float16"})
bf_vals = [1.0, 0.1, 1.0 / 3.0, -2.5, 3.0e38, 3.3895e38, 3.4e38, -3.4e38, 1e-38, 1e-40, 1.00390625, 1.005859375,
           1.0078125, 1.01171875, 257.0, 259.0, NAN, INF, -INF, -0.0]
case("cast_roundtrip_f32_bf16", "cast_roundtrip", [vec(bf_vals, "float32")], {"via": "bfloat16"})
case("cast_roundtrip_f32_bf16_random", "cast_roundtrip", [randn([32], "float32", 100.0)], {"via": "bfloat16"})
case("cast_roundtrip_f64_f16", "cast_roundtrip", [vec([1.0, 0.1, -2.5, 65504.0, 70000.0, 6e-8, NAN], "float64")], {"via": "float16"})
case("cast_roundtrip_f32_f16_strided", "cast_roundtrip", [(randn([4, 3], "float32"), [("t", [])])], {"via": "float16"})

# -- views materialised (strided copy) and reshape of non-contiguous input
VIEWS = [
    ("transpose", [[("transpose", [0, 2])]]),
    ("permute", [[("permute", [1, 2, 0])]]),
    ("t", [[("t", [])]]),
    ("slice_step", [[("slice", [1, 0, 4, 2])]]),
    ("slice_negative", [[("slice", [2, -3, 5, 1])]]),
    ("slice_clamped", [[("slice", [0, 1, 100, 1])]]),
    ("slice_empty", [[("slice", [1, 3, 1, 1])]]),
    ("narrow", [[("narrow", [2, 1, 3])]]),
    ("index", [[("index", [1, 2])]]),
    ("index_negative", [[("index", [0, -1])]]),
    ("unsqueeze_expand", [[("unsqueeze", [1]), ("expand", [2, 3, 4, 5])]]),
    ("squeeze", [[("narrow", [1, 2, 1]), ("squeeze", [1])]]),
    ("chain", [[("transpose", [0, 1]), ("slice", [2, 1, 5, 3]), ("index", [1, 0]), ("unsqueeze", [0])]]),
]
base = randn([2, 4, 5], "float32")
for nm, (views,) in VIEWS:
    case("contiguous_%s" % nm, "contiguous", [(base, views)])
case("contiguous_f64_expand_0d", "contiguous", [(torch.tensor(2.5, dtype=torch.float64), [("expand", [2, 3])])])
case("contiguous_i64_t", "contiguous", [(ints([3, 4], -9, 10), [("t", [])])])
case("contiguous_bool_t", "contiguous", [(randn([3, 4], "float32") > 0, [("t", [])])])
case("reshape_transposed", "reshape", [(randn([3, 4], "float32"), [("t", [])])], {"shape": [2, 6]})
case("reshape_infer", "reshape", [(randn([2, 3, 4], "float32"), [("permute", [2, 0, 1])])], {"shape": [-1, 3]})
case("reshape_to_0d", "reshape", [randn([1, 1], "float64")], {"shape": []})
case("reshape_sliced", "reshape", [(randn([4, 6], "float32"), [("slice", [1, 0, 6, 2])])], {"shape": [12]})

# ------------------------------------------------------------------- write

def main():
    used = {c["op"] for c in CASES}
    missing = sorted(set(OPS) - used)
    if missing:
        sys.exit("ops without cases: %s" % missing)
    doc = {
        "format": FORMAT,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "generator": "tensor/testdata/gen_fixtures.py",
        "ops": DOC,
        "cases": CASES,
    }
    # One case (and one op) per line, so that a regenerated file diffs well.
    def dumps(v):
        return json.dumps(v, sort_keys=True, separators=(",", ":"), allow_nan=False)
    lines = ["{"]
    for k in sorted(doc):
        if k in ("ops", "cases"):
            continue
        lines.append("%s:%s," % (dumps(k), dumps(doc[k])))
    lines.append('"ops":{')
    lines.append(",\n".join("%s:%s" % (dumps(k), dumps(DOC[k])) for k in sorted(DOC)))
    lines.append("},")
    lines.append('"cases":[')
    lines.append(",\n".join(dumps(c) for c in CASES))
    lines.append("]}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == json.loads(dumps(doc))
    with open(OUT, "w") as f:
        f.write(text)
    print("wrote %s: %d cases, %d ops, %d bytes (torch %s)" % (
        os.path.relpath(OUT), len(CASES), len(OPS), len(text), torch.__version__))


main()
