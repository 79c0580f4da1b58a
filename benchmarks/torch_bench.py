#!/usr/bin/python3
"""PyTorch side of the benchmark comparison (Debian's python3-torch).

Times the same operations as the Go benchmarks in this folder, on 1 and 2
threads, and prints one line per benchmark in Go's benchmark format so that
compare.sh can put the two side by side:

    BenchmarkMatMul/f32/n=256-1   100   <ns/op> ns/op   <GFLOP/s> GFLOP/s

Run: /usr/bin/python3 benchmarks/torch_bench.py [-threads 1,2] [-filter REGEX]
Install OpenBLAS first (apt-get install libopenblas0-pthread), or torch uses
the reference BLAS; python3-threadpoolctl shows which one is loaded.
"""
import argparse
import os
import re
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

MATMUL = [("n=64", 64, 64, 64), ("n=128", 128, 128, 128), ("n=256", 256, 256, 256),
          ("n=512", 512, 512, 512), ("n=1024", 1024, 1024, 1024), ("n=2048", 2048, 2048, 2048),
          ("4096x784x256", 4096, 784, 256)]


def timeit(f, min_time=0.5):
    """Median ns per call over batches that each take about 0.1 s."""
    f()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        dt = time.perf_counter() - t0
        if dt > 0.1:
            break
        n *= 2
    runs = []
    total = 0.0
    while total < min_time or len(runs) < 5:
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        dt = time.perf_counter() - t0
        runs.append(dt / n)
        total += dt
    return statistics.median(runs) * 1e9, n * len(runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-threads", default="1,2")
    ap.add_argument("-filter", default="")
    args = ap.parse_args()
    pat = re.compile(args.filter)
    torch.manual_seed(0)
    torch.randn(2, 2) @ torch.randn(2, 2)  # load the BLAS
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    print("# torch %s, BLAS: %s" % (torch.__version__, ", ".join(
        "%s %s (%s kernels)" % (b["internal_api"], b["version"], b.get("architecture")) for b in blas)), flush=True)
    for threads in [int(t) for t in args.threads.split(",")]:
        # torch.set_num_threads does not reach OpenBLAS's own thread pool:
        # limit both.
        torch.set_num_threads(threads)
        threadpool_limits(threads)
        for name, m, k, n in MATMUL:
            bname = f"BenchmarkMatMul/f32/{name}-{threads}"
            if not pat.search(bname):
                continue
            a, b = torch.randn(m, k), torch.randn(k, n)
            ns, iters = timeit(lambda: torch.matmul(a, b))
            print(f"{bname}\t{iters}\t{ns:.0f} ns/op\t{2 * m * n * k / ns:.2f} GFLOP/s", flush=True)
        for size in (1 << 20, 16 << 20):
            x, y = torch.randn(size), torch.randn(size)
            for op, nbytes, f in (("add", 12, lambda: x + y), ("relu", 8, lambda: torch.relu(x)),
                                  ("exp", 8, lambda: torch.exp(x))):
                bname = f"BenchmarkElementwise/{op}/f32/n={size >> 20}M-{threads}"
                if not pat.search(bname):
                    continue
                ns, iters = timeit(f)
                print(f"{bname}\t{iters}\t{ns:.0f} ns/op\t{nbytes * size / ns * 1e3:.2f} MB/s", flush=True)
        # STREAM-like triad a = b + 3·c into a preallocated a (BenchmarkTriad).
        size = 16 << 20
        bname = f"BenchmarkTriad/f32/n=16M-{threads}"
        if pat.search(bname):
            a, x, y = torch.empty(size), torch.randn(size), torch.randn(size)
            ns, iters = timeit(lambda: torch.add(x, y, alpha=3, out=a))
            print(f"{bname}\t{iters}\t{ns:.0f} ns/op\t{12 * size / ns * 1e3:.2f} MB/s", flush=True)


if __name__ == "__main__":
    main()
