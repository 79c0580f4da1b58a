#!/usr/bin/python3
"""Generate autograd fixtures from PyTorch (Debian's python3-torch).

For each composite expression f(inputs) (the same expressions are written in
Go in torch_fixture_test.go, under the same names) this records, in float64:
  - the output value,
  - the gradient of sum(f * w) with respect to every input (w fixed random),
  - the gradient of sum_i <grad_i, v_i> with respect to every input, with
    create_graph=True: a second derivative (Hessian-vector product).

Run: /usr/bin/python3 autograd/testdata/gen_fixtures.py
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def t(*shape, positive=False):
    x = torch.randn(*shape)
    if positive:
        x = x.abs() + 0.5
    return x


CASES = {
    "mlp_tanh": (lambda x, w1, b1, w2: (torch.tanh(x @ w1 + b1) @ w2).pow(2).mean(),
                 [t(4, 3), t(3, 5), t(5), t(5, 2)]),
    "cross_entropy": (lambda z: -F.log_softmax(z, 1).gather(1, torch.tensor([[1], [0], [4], [2]])).mean(),
                      [t(4, 5)]),
    "broadcast_sigmoid": (lambda a, b: torch.log1p(torch.sigmoid(a * b).sum(0)),
                          [t(3, 1), t(4)]),
    "layernorm_gelu": (lambda x: F.gelu((x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + 1e-5)).pow(2).sum(),
                       [t(2, 6)]),
    "pow_div": (lambda x, y: (x ** y) / (1 + x),
                [t(3, 2, positive=True), t(3, 2)]),
    "softmax_matmul": (lambda q, k, v: torch.softmax(q @ k.transpose(-1, -2) / 2.0, -1) @ v,
                       [t(2, 3, 4), t(2, 5, 4), t(2, 5, 3)]),
    "logsumexp_max": (lambda x: torch.logsumexp(x, 1) + x.amax(0).sum() * 0.5,
                      [t(3, 4)]),
    "silu_sqrt_exp": (lambda x: torch.sqrt(F.silu(x).exp() + 1).sum(1),
                      [t(2, 5)]),
    "slice_cat": (lambda x: torch.cat([x[:, 1:4:2].sin(), x[:, :1].cos() * x[:, -1:]], 1),
                  [t(3, 5)]),
    "index_scatter": (lambda x, s: x.index_select(0, torch.tensor([2, 0, 2])).mul(2).sum(0) +
                      torch.zeros(4).scatter_add(0, torch.tensor([1, 3, 1]), s).tanh(),
                      [t(3, 4), t(3)]),
}


def flat(x):
    return [float(v) for v in x.detach().reshape(-1).tolist()]


def enc(x):
    return {"shape": list(x.shape), "data": flat(x)}


out = {"torch_version": torch.__version__, "cases": []}
for name, (f, inputs) in CASES.items():
    xs = [x.clone().requires_grad_(True) for x in inputs]
    y = f(*xs)
    w = torch.randn(y.shape)
    grads = torch.autograd.grad((y * w).sum(), xs, create_graph=True)
    vs = [torch.randn(x.shape) for x in xs]
    s = sum((g * v).sum() for g, v in zip(grads, vs))
    second = torch.autograd.grad(s, xs, allow_unused=True)
    second = [torch.zeros_like(x) if g is None else g for x, g in zip(xs, second)]
    out["cases"].append({
        "name": name,
        "inputs": [enc(x) for x in inputs],
        "output": enc(y),
        "w": enc(w),
        "grads": [enc(g) for g in grads],
        "v": [enc(v) for v in vs],
        "second": [enc(g) for g in second],
    })

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_grads.json")
with open(path, "w") as fh:
    json.dump(out, fh, indent=None, separators=(",", ":"))
    fh.write("\n")
print("wrote", path, len(out["cases"]), "cases")
