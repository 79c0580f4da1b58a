#!/usr/bin/python3
"""Generate optim/testdata/optim_fixtures.json: PyTorch reference results for
package optim's optimizers, learning-rate schedulers and gradient clipping,
replayed by optim/fixture_test.go so that `go test` needs no Python.

Run from the repository root with Debian's interpreter (the one with torch):

    /usr/bin/python3 optim/testdata/gen_optim_fixtures.py

The output is deterministic: one seeded generator, one thread, sorted keys.
Every optimizer runs torch's single-tensor implementation (foreach=False).

File format (top level object):

  "format"         a version string for the layout below
  "torch_version"  torch.__version__ of the run that wrote the file
  "steps"          number of optimizer steps in every trajectory
  "params"         the shared inputs of every optimizer case:
      "shapes"     the parameters' shapes
      "init"       their initial values (float32, flattened row-major)
      "grads"      grads[step][param]: the gradient set before each step
  "optimizers"     list of cases:
      "name"       unique; the Go subtest name
      "optimizer"  SGD, Adam, AdamW, RMSprop or Adagrad
      "defaults"   keyword arguments of the constructor (torch names; betas
                   is a two-element list)
      "groups"     [{"params": [indices], "options": {overrides}}]; one
                   group with every parameter and no overrides when the case
                   does not use parameter groups
      "skip"       [[step, param], ...]: that parameter has no gradient
                   (p.grad = None) at that step
      "trajectory" trajectory[step][param]: the values after step+1 steps
      "state"      the final optimizer.state_dict(): "state" maps the
                   parameter index (a string) to {"step": number (absent for
                   SGD), tensor name: flattened float32 values}; tensors
                   that torch holds as None are left out; "param_groups"
                   lists each group's hyperparameters and "params" indices.
  "schedulers"     list of cases:
      "name"       unique; the Go subtest name
      "optimizer"  the optimizer the scheduler drives: {"optimizer": SGD or
                   Adam, "lrs": one lr per group (one parameter per group),
                   "defaults": constructor keyword arguments}
      "scheduler"  a spec: {"type": class name, "args": keyword arguments};
                   SequentialLR and ChainedScheduler also have "children"
                   (specs) and SequentialLR "milestones"; LambdaLR's "args"
                   has "lambda": the name of one of LAMBDAS below
      "steps"      number of scheduler steps taken
      "metrics"    ReduceLROnPlateau only: the metric passed to each step
      "lrs"        lrs[i]: get_last_lr() after i steps (lrs[0]: after
                   construction; for ReduceLROnPlateau, which has no value
                   before its first step, the groups' lr)
      "momentum"   OneCycleLR with cycle_momentum: each group's momentum
                   (SGD) or beta1 (Adam) at the same points
  "clip"           list of cases:
      "name"       unique
      "func"       clip_grad_norm_ or clip_grad_value_
      "args"       max_norm, norm_type ("inf" for infinity),
                   error_if_nonfinite; or clip_value
      "shapes"     the parameters' shapes
      "grads"      each parameter's gradient before clipping (null: none)
      "total"      the returned total norm (clip_grad_norm_)
      "error"      true when torch raised (the gradients are unchanged)
      "clipped"    each gradient afterwards (null: none)

Numbers: float32 values are written in the shortest decimal that
round-trips through float32 (parse them with strconv.ParseFloat(s, 32));
float64 values round-trip through float64. NaN and the infinities are the
strings "nan", "inf" and "-inf".
"""

import json
import math
import os
import warnings

import numpy as np
import torch

FORMAT = "tessera-optim-fixtures/1"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim_fixtures.json")
STEPS = 20
SHAPES = [[3, 4], [5]]

# SequentialLR steps its children with an explicit epoch, which warns.
warnings.filterwarnings("ignore", category=UserWarning)
torch.manual_seed(0)
torch.set_num_threads(1)
rng = np.random.default_rng(1234)


def f32(x):
    """A float32 as the float64 whose shortest repr round-trips float32."""
    x = float(np.float32(x))
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(str(np.float32(x)))


def f64(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def flat(t):
    return [f32(v) for v in t.detach().reshape(-1).tolist()]


def rand32(shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# ---------------------------------------------------------------- optimizers

INIT = [rand32(s) for s in SHAPES]
GRADS = [[rand32(s, 0.5) for s in SHAPES] for _ in range(STEPS)]

OPTIMIZERS = {
    "SGD": torch.optim.SGD,
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
    "RMSprop": torch.optim.RMSprop,
    "Adagrad": torch.optim.Adagrad,
}


def torch_kwargs(opts):
    kw = dict(opts)
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    return kw


def opt_case(name, optimizer, defaults, groups=None, skip=()):
    params = [torch.tensor(x.copy()).requires_grad_() for x in INIT]
    if groups is None:
        groups = [{"params": list(range(len(params))), "options": {}}]
    tgroups = [dict(params=[params[i] for i in g["params"]], **torch_kwargs(g["options"])) for g in groups]
    opt = OPTIMIZERS[optimizer](tgroups, foreach=False, **torch_kwargs(defaults))
    skip = set(map(tuple, skip))
    traj = []
    for step in range(STEPS):
        opt.zero_grad(set_to_none=True)
        for i, p in enumerate(params):
            if (step, i) not in skip:
                p.grad = torch.tensor(GRADS[step][i].copy())
        opt.step()
        traj.append([flat(p) for p in params])
    sd = opt.state_dict()
    state = {}
    for idx, st in sd["state"].items():
        out = {}
        for k, v in st.items():
            if v is None:
                continue
            if k == "step":
                out[k] = f64(v.item() if torch.is_tensor(v) else v)
            else:
                out[k] = flat(v)
        state[str(idx)] = out
    pgroups = []
    for g in sd["param_groups"]:
        pg = {}
        for k, v in g.items():
            if k in ("foreach", "differentiable", "capturable", "fused"):
                continue
            if isinstance(v, tuple):
                v = [f64(x) for x in v]
            elif isinstance(v, bool) or isinstance(v, list):
                pass
            elif isinstance(v, (int, float)):
                v = f64(v)
            pg[k] = v
        pgroups.append(pg)
    return {
        "name": name,
        "optimizer": optimizer,
        "defaults": defaults,
        "groups": groups,
        "skip": [list(s) for s in sorted(skip)],
        "trajectory": traj,
        "state": {"state": state, "param_groups": pgroups},
    }


def two_groups(o0, o1):
    return [{"params": [0], "options": o0}, {"params": [1], "options": o1}]


optimizer_cases = [
    # SGD
    opt_case("sgd_plain", "SGD", {"lr": 0.1}),
    opt_case("sgd_momentum", "SGD", {"lr": 0.05, "momentum": 0.9}),
    opt_case("sgd_momentum_dampening", "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}),
    opt_case("sgd_nesterov_wd", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    opt_case("sgd_weight_decay", "SGD", {"lr": 0.1, "weight_decay": 0.05}),
    opt_case("sgd_maximize_momentum", "SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}),
    opt_case("sgd_groups", "SGD", {"lr": 0.1, "momentum": 0.9},
             two_groups({}, {"lr": 0.01, "momentum": 0.0, "weight_decay": 0.1})),
    opt_case("sgd_momentum_skip", "SGD", {"lr": 0.05, "momentum": 0.9},
             skip=[[0, 1], [1, 1], [5, 0], [9, 0], [9, 1], [15, 1]]),
    # Adam
    opt_case("adam_default", "Adam", {"lr": 0.01}),
    opt_case("adam_betas_eps", "Adam", {"lr": 0.02, "betas": [0.8, 0.99], "eps": 1e-6}),
    opt_case("adam_weight_decay", "Adam", {"lr": 0.01, "weight_decay": 0.1}),
    opt_case("adam_amsgrad", "Adam", {"lr": 0.01, "amsgrad": True}),
    opt_case("adam_maximize_amsgrad_wd", "Adam", {"lr": 0.01, "amsgrad": True, "maximize": True, "weight_decay": 0.05}),
    opt_case("adam_groups", "Adam", {"lr": 0.01},
             two_groups({"betas": [0.0, 0.99]}, {"lr": 0.003, "amsgrad": True, "eps": 1e-3})),
    opt_case("adam_skip", "Adam", {"lr": 0.01}, skip=[[0, 0], [3, 1], [4, 1], [10, 0]]),
    # AdamW
    opt_case("adamw_default", "AdamW", {"lr": 0.01}),
    opt_case("adamw_wd_amsgrad", "AdamW", {"lr": 0.01, "weight_decay": 0.2, "amsgrad": True}),
    opt_case("adamw_maximize", "AdamW", {"lr": 0.01, "maximize": True, "betas": [0.85, 0.95]}),
    opt_case("adamw_groups_no_decay", "AdamW", {"lr": 0.02, "weight_decay": 0.1},
             two_groups({}, {"weight_decay": 0.0, "lr": 0.005})),
    # RMSprop
    opt_case("rmsprop_default", "RMSprop", {"lr": 0.01}),
    opt_case("rmsprop_momentum", "RMSprop", {"lr": 0.01, "momentum": 0.9, "alpha": 0.9}),
    opt_case("rmsprop_centered", "RMSprop", {"lr": 0.01, "centered": True}),
    opt_case("rmsprop_centered_momentum_wd", "RMSprop",
             {"lr": 0.005, "centered": True, "momentum": 0.5, "weight_decay": 0.1, "eps": 1e-4}),
    opt_case("rmsprop_maximize", "RMSprop", {"lr": 0.01, "maximize": True}),
    opt_case("rmsprop_groups", "RMSprop", {"lr": 0.01},
             two_groups({"centered": True}, {"momentum": 0.8, "lr": 0.002})),
    # Adagrad
    opt_case("adagrad_default", "Adagrad", {"lr": 0.1}),
    opt_case("adagrad_lr_decay_wd", "Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1}),
    opt_case("adagrad_initial_accumulator", "Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6}),
    opt_case("adagrad_maximize_skip", "Adagrad", {"lr": 0.1, "maximize": True}, skip=[[0, 1], [7, 0]]),
    # torch fills every parameter's sum with the constructor's
    # initial_accumulator_value, ignoring a group's own (Tessera honours it),
    # so the groups here override other hyperparameters.
    opt_case("adagrad_groups", "Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1},
             two_groups({"lr_decay": 0.1}, {"lr": 0.05, "eps": 1e-3, "weight_decay": 0.01})),
]

# ---------------------------------------------------------------- schedulers

LAMBDAS = {
    "pow095": lambda e: 0.95 ** e,
    "inv1p": lambda e: 1.0 / (1.0 + e),
}

SCHEDULERS = {
    "StepLR": torch.optim.lr_scheduler.StepLR,
    "MultiStepLR": torch.optim.lr_scheduler.MultiStepLR,
    "ConstantLR": torch.optim.lr_scheduler.ConstantLR,
    "LinearLR": torch.optim.lr_scheduler.LinearLR,
    "ExponentialLR": torch.optim.lr_scheduler.ExponentialLR,
    "PolynomialLR": torch.optim.lr_scheduler.PolynomialLR,
    "CosineAnnealingLR": torch.optim.lr_scheduler.CosineAnnealingLR,
    "OneCycleLR": torch.optim.lr_scheduler.OneCycleLR,
    "ReduceLROnPlateau": torch.optim.lr_scheduler.ReduceLROnPlateau,
}


def build_scheduler(opt, spec):
    typ = spec["type"]
    if typ == "SequentialLR":
        children = [build_scheduler(opt, c) for c in spec["children"]]
        return torch.optim.lr_scheduler.SequentialLR(opt, children, spec["milestones"])
    if typ == "ChainedScheduler":
        return torch.optim.lr_scheduler.ChainedScheduler([build_scheduler(opt, c) for c in spec["children"]])
    if typ == "LambdaLR":
        return torch.optim.lr_scheduler.LambdaLR(opt, LAMBDAS[spec["args"]["lambda"]])
    return SCHEDULERS[typ](opt, **spec["args"])


def sched_case(name, spec, steps, lrs=(0.1, 0.05), optimizer="SGD", defaults=None, metrics=None):
    if defaults is None:
        defaults = {"momentum": 0.9} if optimizer == "SGD" else {}
    params = [torch.zeros(2, requires_grad=True) for _ in lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
    opt = OPTIMIZERS[optimizer](groups, **torch_kwargs(defaults))
    sched = build_scheduler(opt, spec)
    plateau = spec["type"] == "ReduceLROnPlateau"
    cycle = spec["type"] == "OneCycleLR" and spec["args"].get("cycle_momentum", True)

    def momenta():
        if optimizer == "Adam":
            return [f64(g["betas"][0]) for g in opt.param_groups]
        return [f64(g["momentum"]) for g in opt.param_groups]

    record_lrs = [[f64(g["lr"]) for g in opt.param_groups] if plateau else [f64(x) for x in sched.get_last_lr()]]
    record_mom = [momenta()]
    for i in range(steps):
        opt.step()
        if plateau:
            sched.step(metrics[i])
        else:
            sched.step()
        last = sched._last_lr if plateau else sched.get_last_lr()
        record_lrs.append([f64(x) for x in last])
        record_mom.append(momenta())
    case = {
        "name": name,
        "optimizer": {"optimizer": optimizer, "lrs": [f64(x) for x in lrs], "defaults": defaults},
        "scheduler": spec,
        "steps": steps,
        "lrs": record_lrs,
    }
    if metrics is not None:
        case["metrics"] = [f64(m) for m in metrics]
    if cycle:
        case["momentum"] = record_mom
    return case


def spec(typ, **args):
    return {"type": typ, "args": args}


plateau_metrics = [1.0, 0.9, 0.85, 0.86, 0.849, 0.86, 0.87, 0.88, 0.7, 0.71, 0.72, 0.69, 0.695, 0.7,
                   0.7, 0.7, 0.7, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.49999, 0.5, 0.5,
                   0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
max_metrics = [0.1, 0.2, 0.25, 0.26, 0.255, 0.3, 0.3, 0.3, 0.3, 0.31, 0.31, 0.32, 0.4, 0.4, 0.4,
               0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]
noisy_metrics = [float(x) for x in np.round(2.0 * np.exp(-np.arange(60) / 20.0) + rng.uniform(0, 0.3, 60), 6)]

scheduler_cases = [
    sched_case("step", spec("StepLR", step_size=7, gamma=0.5), 40),
    sched_case("step_size1", spec("StepLR", step_size=1, gamma=0.9), 30),
    sched_case("multistep", spec("MultiStepLR", milestones=[5, 12, 12, 30], gamma=0.3), 40),
    sched_case("constant", spec("ConstantLR", factor=0.5, total_iters=4), 10),
    sched_case("linear_warmup", spec("LinearLR", start_factor=0.1, end_factor=1.0, total_iters=10), 20),
    sched_case("linear_decay", spec("LinearLR", start_factor=1.0, end_factor=0.05, total_iters=30), 40),
    sched_case("exponential", spec("ExponentialLR", gamma=0.9), 50),
    sched_case("polynomial", spec("PolynomialLR", total_iters=20, power=2.0), 30),
    sched_case("lambda_pow", {"type": "LambdaLR", "args": {"lambda": "pow095"}}, 30),
    sched_case("lambda_inv", {"type": "LambdaLR", "args": {"lambda": "inv1p"}}, 30),
    sched_case("cosine", spec("CosineAnnealingLR", T_max=25), 30),
    sched_case("cosine_eta_min_periodic", spec("CosineAnnealingLR", T_max=10, eta_min=0.001), 60),
    sched_case("onecycle_cos", spec("OneCycleLR", max_lr=[1.0, 0.5], total_steps=100), 99),
    sched_case("onecycle_linear_three_phase_adam",
               spec("OneCycleLR", max_lr=0.01, total_steps=60, anneal_strategy="linear", three_phase=True,
                    pct_start=0.25, div_factor=10.0, final_div_factor=100.0, base_momentum=0.8,
                    max_momentum=0.9),
               60, optimizer="Adam"),
    sched_case("onecycle_no_momentum", spec("OneCycleLR", max_lr=0.3, total_steps=50, cycle_momentum=False,
                                            pct_start=0.4), 49),
    sched_case("onecycle_rmsprop", spec("OneCycleLR", max_lr=[0.2, 0.1], total_steps=40),
               39, optimizer="RMSprop", defaults={"momentum": 0.9}),
    sched_case("plateau_min_rel", spec("ReduceLROnPlateau", factor=0.5, patience=2, threshold=0.01, cooldown=2,
                                       min_lr=[0.001, 0.01]),
               len(plateau_metrics), metrics=plateau_metrics),
    sched_case("plateau_max_abs", spec("ReduceLROnPlateau", mode="max", threshold_mode="abs", threshold=0.005,
                                       patience=1, factor=0.3, min_lr=0.004),
               len(max_metrics), metrics=max_metrics),
    sched_case("plateau_default_eps", spec("ReduceLROnPlateau", patience=0, factor=0.5, eps=0.002),
               len(noisy_metrics), metrics=noisy_metrics),
    sched_case("plateau_defaults", spec("ReduceLROnPlateau"), len(noisy_metrics), metrics=noisy_metrics),
    sched_case("sequential_warmup_cosine",
               {"type": "SequentialLR", "milestones": [5],
                "children": [spec("LinearLR", start_factor=0.01, total_iters=5), spec("CosineAnnealingLR", T_max=20)]},
               30),
    sched_case("sequential_three",
               {"type": "SequentialLR", "milestones": [3, 10],
                "children": [spec("ConstantLR", factor=0.25, total_iters=3), spec("ExponentialLR", gamma=0.8),
                             spec("StepLR", step_size=4, gamma=0.5)]},
               25),
    sched_case("chained_constant_exponential",
               {"type": "ChainedScheduler",
                "children": [spec("ConstantLR", factor=0.5, total_iters=5), spec("ExponentialLR", gamma=0.9)]},
               20),
    sched_case("chained_warmup_cosine",
               {"type": "ChainedScheduler",
                "children": [spec("LinearLR", start_factor=0.1, total_iters=4), spec("CosineAnnealingLR", T_max=15, eta_min=0.0)]},
               20),
]

# ---------------------------------------------------------------- clipping

CLIP_SHAPES = [[4, 3], [6], [2, 2]]


def clip_case(name, func, args, grads):
    params = [torch.zeros(s, requires_grad=True) for s in CLIP_SHAPES]
    for p, g in zip(params, grads):
        p.grad = None if g is None else torch.tensor(g.copy())
    case = {"name": name, "func": func, "args": dict(args), "shapes": CLIP_SHAPES,
            "grads": [None if g is None else [f32(v) for v in g.reshape(-1)] for g in grads], "error": False}
    if func == "clip_grad_norm_":
        nt = args["norm_type"]
        kw = dict(max_norm=args["max_norm"], norm_type=math.inf if nt == "inf" else nt,
                  error_if_nonfinite=args["error_if_nonfinite"])
        try:
            total = torch.nn.utils.clip_grad_norm_(params, **kw)
            case["total"] = f64(total.item())
        except RuntimeError:
            case["error"] = True
    else:
        torch.nn.utils.clip_grad_value_(params, args["clip_value"])
    case["clipped"] = [None if p.grad is None else flat(p.grad) for p in params]
    return case


cg = [rand32(s) for s in CLIP_SHAPES]
cg_none = [cg[0], None, cg[2]]
cg_inf = [cg[0], cg[1].copy(), cg[2]]
cg_inf[1][2] = np.inf
cg_nan = [cg[0], cg[1].copy(), cg[2]]
cg_nan[1][0] = np.nan

clip_cases = [
    clip_case("norm2_clipped", "clip_grad_norm_", {"max_norm": 1.0, "norm_type": 2.0, "error_if_nonfinite": False}, cg),
    clip_case("norm2_unclipped", "clip_grad_norm_", {"max_norm": 100.0, "norm_type": 2.0, "error_if_nonfinite": False}, cg),
    clip_case("norm2_missing_grad", "clip_grad_norm_", {"max_norm": 0.5, "norm_type": 2.0, "error_if_nonfinite": False}, cg_none),
    clip_case("norm_inf", "clip_grad_norm_", {"max_norm": 0.5, "norm_type": "inf", "error_if_nonfinite": False}, cg),
    clip_case("norm1", "clip_grad_norm_", {"max_norm": 2.0, "norm_type": 1.0, "error_if_nonfinite": False}, cg),
    clip_case("norm3", "clip_grad_norm_", {"max_norm": 0.7, "norm_type": 3.0, "error_if_nonfinite": False}, cg),
    clip_case("nonfinite_error", "clip_grad_norm_", {"max_norm": 1.0, "norm_type": 2.0, "error_if_nonfinite": True}, cg_inf),
    clip_case("nonfinite_scaled", "clip_grad_norm_", {"max_norm": 1.0, "norm_type": 2.0, "error_if_nonfinite": False}, cg_inf),
    clip_case("nan_error", "clip_grad_norm_", {"max_norm": 1.0, "norm_type": "inf", "error_if_nonfinite": True}, cg_nan),
    clip_case("value", "clip_grad_value_", {"clip_value": 0.5}, cg),
    clip_case("value_missing_grad", "clip_grad_value_", {"clip_value": 0.25}, cg_none),
]

# ---------------------------------------------------------------- output

doc = {
    "format": FORMAT,
    "torch_version": torch.__version__,
    "steps": STEPS,
    "params": {
        "shapes": SHAPES,
        "init": [[f32(v) for v in x.reshape(-1)] for x in INIT],
        "grads": [[[f32(v) for v in g.reshape(-1)] for g in step] for step in GRADS],
    },
    "optimizers": optimizer_cases,
    "schedulers": scheduler_cases,
    "clip": clip_cases,
}

names = [c["name"] for c in optimizer_cases + scheduler_cases + clip_cases]
assert len(names) == len(set(names)), "duplicate case names"

with open(OUT, "w") as f:
    json.dump(doc, f, sort_keys=True, separators=(",", ":"), allow_nan=False)
    f.write("\n")
print("wrote", OUT, os.path.getsize(OUT), "bytes;", len(optimizer_cases), "optimizer,",
      len(scheduler_cases), "scheduler,", len(clip_cases), "clip cases")
