#!/usr/bin/python3
"""PyTorch twin of BenchmarkTrainStep and the layer benchmarks in train_test.go.

The workloads are defined exactly as in workloads.go (see there):

  mlp_b64, mlp_b256   MLP 784-512-256-10, ReLU, cross-entropy, SGD(lr 0.01, momentum 0.9)
  cnn_b64             conv 1->32 3x3, ReLU, maxpool 2, conv 32->64 3x3, ReLU, maxpool 2,
                      linear 1600->128, ReLU, linear 128->10; cross-entropy, SGD as above
  transformer_b32     GPT-style character model: vocab 65, context 64, d_model 128, 4 heads,
                      2 pre-norm layers (feed-forward 512, GELU, no dropout), causal; AdamW

A step is zero-grad (set_to_none, as Tessera drops gradients) + forward + loss +
backward + optimizer step, timed after 3 warm-up steps on a fixed random batch.
The layer benchmarks time Conv2d, LayerNorm, softmax and attention forward
(+backward with a fixed random upstream gradient) at the workloads' sizes.

Each (group, thread count) runs in its own subprocess, so that a workload's
peak resident set (VmHWM, read at the end of its run) is its own; each prints
lines in Go's benchmark format for cmd/compare:

    BenchmarkTrainStep/mlp_b64-1   200   4700000 ns/op   4.70 ms/step
    BenchmarkPeakRSS/mlp_b64-1     230   250.1 MiB

Run: /usr/bin/python3 benchmarks/train_bench.py [-threads 1,2] [-count 5]
     [-benchtime 1] [-filter REGEX] [-device cuda]
With -device cuda the training steps run on the GPU (BenchmarkTrainStepCUDA,
the twin of cuda_test.go; TF32 off, as Tessera's default) and the layer
benchmarks are skipped.
Threads are set with torch.set_num_threads (OpenMP, oneDNN) and threadpoolctl
(OpenBLAS's own pool, which set_num_threads does not reach); OMP_WAIT_POLICY
is PASSIVE so that the two pools do not spin against each other on 2 cores.
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

TRAIN = ["mlp_b64", "mlp_b256", "cnn_b64", "transformer_b32"]
GROUPS = TRAIN + ["layers"]
WARMUP = 3

VOCAB, CONTEXT, DMODEL, HEADS, LAYERS = 65, 64, 128, 4, 2


def vm_hwm_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def causal_mask(torch, t):
    """Float mask: -inf above the diagonal (query i sees keys j <= i)."""
    return torch.triu(torch.full((t, t), float("-inf")), diagonal=1)


def build(torch, name, device="cpu"):
    """Returns (params, step) for a training workload on device."""
    nn = torch.nn
    torch.manual_seed(1)
    if name in ("mlp_b64", "mlp_b256"):
        batch = 64 if name == "mlp_b64" else 256
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                              nn.Linear(256, 10))
        x, y = torch.randn(batch, 784), torch.randint(0, 10, (batch,))
        make_opt = lambda: torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)  # noqa: E731
        loss_fn = lambda: nn.functional.cross_entropy(model(x), y)  # noqa: E731
    elif name == "cnn_b64":
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
        x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
        make_opt = lambda: torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)  # noqa: E731
        loss_fn = lambda: nn.functional.cross_entropy(model(x), y)  # noqa: E731
    elif name == "transformer_b32":
        model = CharTransformer(torch)
        x = torch.randint(0, VOCAB, (32, CONTEXT))
        y = torch.randint(0, VOCAB, (32 * CONTEXT,))
        make_opt = lambda: torch.optim.AdamW(model.parameters())  # noqa: E731
        loss_fn = lambda: nn.functional.cross_entropy(model(x).reshape(-1, VOCAB), y)  # noqa: E731
    else:
        raise SystemExit("unknown workload %r" % name)
    model.to(device).train()
    x, y = x.to(device), y.to(device)
    opt = make_opt()  # after the move, as torch's documentation asks

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()

    return sum(p.numel() for p in model.parameters()), step


def CharTransformer(torch):
    nn = torch.nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(VOCAB, DMODEL)
            self.pos = nn.Embedding(CONTEXT, DMODEL)
            self.blocks = nn.ModuleList([
                nn.TransformerEncoderLayer(DMODEL, HEADS, dim_feedforward=4 * DMODEL, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
                for _ in range(LAYERS)])
            self.norm = nn.LayerNorm(DMODEL)
            self.head = nn.Linear(DMODEL, VOCAB)
            self.register_buffer("positions", torch.arange(CONTEXT), persistent=False)
            self.register_buffer("mask", causal_mask(torch, CONTEXT), persistent=False)

        def forward(self, ids):
            x = self.tok(ids) + self.pos(self.positions)
            for b in self.blocks:
                x = b(x, src_mask=self.mask)
            return self.head(self.norm(x))

    return M()


SYNC = None  # torch.cuda.synchronize when the workloads run on a GPU


def run_for(f, benchtime):
    """Calls f until benchtime seconds have passed; returns (calls, ns per call).
    On a GPU the calls are queued in tens and the clock is read once the
    device has run them (as the Go benchmarks time a GPU)."""
    n = 0
    t0 = time.perf_counter()
    while True:
        for _ in range(1 if SYNC is None else 10):
            f()
            n += 1
        if SYNC is not None:
            SYNC()
        dt = time.perf_counter() - t0
        if dt >= benchtime:
            return n, dt / n * 1e9


def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def bench(name, f, count, benchtime, metric=None, pat=None):
    """Prints count lines for benchmark name (which carries its -threads
    suffix), each with the minor page faults per call (memory that the
    allocator handed back to the kernel and touched again)."""
    if pat is not None and not pat.search(name):
        return
    for _ in range(WARMUP):
        f()
    if SYNC is not None:
        SYNC()
    for _ in range(count):
        f0 = minor_faults()
        n, ns = run_for(f, benchtime)
        faults = (minor_faults() - f0) / n
        extra = "" if metric is None else "\t" + metric(ns)
        print(f"{name}\t{n}\t{ns:.0f} ns/op{extra}\t{faults:.1f} faults/op", flush=True)


def fwd_bwd(torch, leaves, f):
    """A forward (+ backward with a fixed random upstream gradient) step."""
    dy = torch.randn(f().shape)

    def step():
        for p in leaves:
            p.grad = None
        f().backward(dy)
    return step


def layers(torch, threads, count, benchtime, pat):
    nn = torch.nn
    ms = lambda ns: f"{ns / 1e6:.4g} ms/op"  # noqa: E731
    torch.manual_seed(1)
    for name, cin, cout, hw, needs_grad in (("1to32_28x28_b64", 1, 32, 28, False),
                                            ("32to64_13x13_b64", 32, 64, 13, True)):
        conv = nn.Conv2d(cin, cout, 3)
        x = torch.randn(64, cin, hw, hw, requires_grad=needs_grad)
        oh = hw - 2
        flops = 2 * 64 * cout * cin * 9 * oh * oh * (3 if needs_grad else 2)
        step = fwd_bwd(torch, list(conv.parameters()) + [x], lambda: conv(x))
        bench(f"BenchmarkConv2dFwdBwd/{name}-{threads}", step, count, benchtime,
              lambda ns: f"{flops / ns:.4g} GFLOP/s\t{ns / 1e6:.4g} ms/op", pat)

    ln = nn.LayerNorm(DMODEL)
    x = torch.randn(32, CONTEXT, DMODEL, requires_grad=True)

    def ln_fwd():
        with torch.no_grad():
            ln(x)
    bench(f"BenchmarkLayerNorm/fwd/32x64x128-{threads}", ln_fwd, count, benchtime, ms, pat)
    bench(f"BenchmarkLayerNorm/fwd+bwd/32x64x128-{threads}",
          fwd_bwd(torch, list(ln.parameters()) + [x], lambda: ln(x)), count, benchtime, ms, pat)

    s = torch.randn(32, HEADS, CONTEXT, CONTEXT, requires_grad=True)

    def sm_fwd():
        with torch.no_grad():
            torch.softmax(s, -1)
    bench(f"BenchmarkSoftmax/fwd/32x4x64x64-{threads}", sm_fwd, count, benchtime, ms, pat)
    bench(f"BenchmarkSoftmax/fwd+bwd/32x4x64x64-{threads}",
          fwd_bwd(torch, [s], lambda: torch.softmax(s, -1)), count, benchtime, ms, pat)

    # torch 1.13 has no F.scaled_dot_product_attention: the same math by hand.
    shape = (32, HEADS, CONTEXT, DMODEL // HEADS)
    q, k, v = (torch.randn(*shape, requires_grad=True) for _ in range(3))
    masked = torch.triu(torch.ones(CONTEXT, CONTEXT, dtype=torch.bool), diagonal=1)
    scale = (DMODEL // HEADS) ** -0.5

    def sdpa():
        scores = (q @ k.transpose(-2, -1) * scale).masked_fill(masked, float("-inf"))
        return torch.softmax(scores, -1) @ v
    bench(f"BenchmarkAttention/sdpa_causal/b32_h4_t64_d32-{threads}",
          fwd_bwd(torch, [q, k, v], sdpa), count, benchtime, ms, pat)

    mha = nn.MultiheadAttention(DMODEL, HEADS, dropout=0.0, batch_first=True)
    x = torch.randn(32, CONTEXT, DMODEL, requires_grad=True)
    mask = causal_mask(torch, CONTEXT)
    bench(f"BenchmarkAttention/mha_causal/b32_t64_e128_h4-{threads}",
          fwd_bwd(torch, list(mha.parameters()) + [x],
                  lambda: mha(x, x, x, attn_mask=mask, need_weights=False)[0]),
          count, benchtime, ms, pat)


def worker(group, threads, count, benchtime, pat, device="cpu"):
    global SYNC
    import torch
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(threads)
    threadpool_limits(threads)
    if device != "cpu":
        SYNC = torch.cuda.synchronize
        if group == "layers":
            return
        torch.backends.cuda.matmul.allow_tf32 = False  # as Tessera's default
        torch.backends.cudnn.allow_tf32 = False
        name = f"BenchmarkTrainStepCUDA/{group}"
        if not pat.search(name):
            return
        params, step = build(torch, group, device)
        print(f"# {group} on {torch.cuda.get_device_name()}: {params} parameters", flush=True)
        bench(name, step, count, benchtime, lambda ns: f"{ns / 1e6:.4g} ms/step")
        try:  # kernels per step, beside Tessera's launches/step
            from torch.profiler import profile, ProfilerActivity
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                step()
                SYNC()
            kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
            print(f"# {group}: {len(kernels)} CUDA kernels and copies per step", flush=True)
        except Exception as e:  # the profiler is a diagnostic only
            print(f"# {group}: no kernel count ({e})", flush=True)
        mib = torch.cuda.max_memory_allocated() / (1 << 20)
        print(f"BenchmarkPeakCUDA/{group}\t1\t{mib:.1f} MiB", flush=True)
        return
    if group == "layers":
        layers(torch, threads, count, benchtime, pat)
        return
    name = f"BenchmarkTrainStep/{group}-{threads}"
    if not pat.search(name):
        return
    params, step = build(torch, group)
    steps = [0]

    def counted():
        step()
        steps[0] += 1
    print(f"# {group}: {params} parameters", flush=True)
    bench(name, counted, count, benchtime, lambda ns: f"{ns / 1e6:.4g} ms/step")
    print(f"BenchmarkPeakRSS/{group}-{threads}\t{steps[0]}\t{vm_hwm_mib():.1f} MiB", flush=True)


def header():
    import torch
    from threadpoolctl import threadpool_info
    torch.randn(2, 2) @ torch.randn(2, 2)  # load the BLAS
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    malloc = " ".join("%s=%s" % kv for kv in sorted(os.environ.items()) if kv[0].startswith("MALLOC_"))
    print("# torch %s, BLAS: %s; OPENBLAS_CORETYPE=%s; %s; import torch VmHWM %.1f MiB" % (
        torch.__version__, ", ".join("%s %s (%s kernels)" % (b["internal_api"], b["version"],
                                                             b.get("architecture")) for b in blas),
        os.environ.get("OPENBLAS_CORETYPE", "(unset)"), malloc or "glibc malloc defaults",
        vm_hwm_mib()), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-threads", default="1,2")
    ap.add_argument("-count", type=int, default=5)
    ap.add_argument("-benchtime", type=float, default=1.0, help="seconds per measurement")
    ap.add_argument("-filter", default="")
    ap.add_argument("-device", default="cpu", help="cpu, or cuda: time the training steps on the GPU")
    ap.add_argument("-worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    pat = re.compile(args.filter)
    if args.worker:
        worker(args.worker, int(args.threads), args.count, args.benchtime, pat, args.device)
        return
    if args.device != "cpu":
        args.threads = "1"
    header()
    for threads in [int(t) for t in args.threads.split(",")]:
        for group in GROUPS:
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "-worker", group,
                                "-threads", str(threads), "-count", str(args.count),
                                "-benchtime", str(args.benchtime), "-filter", args.filter,
                                "-device", args.device])
            if r.returncode != 0:
                sys.exit(r.returncode)


if __name__ == "__main__":
    main()
