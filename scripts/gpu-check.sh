#!/usr/bin/env bash
# gpu-check.sh: the one prepared script for a machine with an NVIDIA GPU
# (issue 7). That machine has the driver, CUDA, nvcc and PyTorch but no Go
# and no network, so the test binary is built here and carried there.
#
# Here (with Go; no GPU needed):
#   bash scripts/gpu-check.sh build
#     builds .cache/gpu/cuda.test (go test -c -tags cuda ./backend/cuda),
#     linked against the stub libcuda of .ci/cuda-setup.sh without an rpath,
#     so that the GPU machine's own libcuda.so.1 is used there.
#
# There (run tool, carrying .cache/gpu):
#   bash scripts/gpu-check.sh run
#     1. the card, driver and CUDA versions (nvidia-smi);
#     2. LD_BIND_NOW=1: every driver symbol the binary references resolves
#        against the installed libcuda.so.1 (gorgonia.org/cu wraps old
#        entry points too), and the binary starts (cuInit succeeds);
#     3. the conformance suite on the GPU, with cuBLAS and with Tessera's
#        own GEMM, the steady-state allocator test;
#     4. benchmarks: add over 256M float32 vs a device-to-device copy,
#        SGEMM n=8192 vs cuBLAS called directly (and PyTorch's, if
#        python3 -c 'import torch' works);
#     5. a short table with the issue's targets.
# Everything it prints is also under .cache/gpu/out/ ($OUT/gpu-check if
# $OUT is set, for the run tool to bring back).
set -uo pipefail
cd "$(dirname "$0")/.."
dir=.cache/gpu
mode=${1:-run}

if [ "$mode" = build ]; then
	set -e
	eval "$(bash .ci/cuda-setup.sh | grep '^export ')"
	mkdir -p "$dir"
	# No -rpath: the stub directory must not be searched on the GPU machine.
	CGO_LDFLAGS="-O2 -g -L${TESSERA_CUDA_DIR:-$PWD/.cache/cuda}/stub" \
		go test -c -tags cuda -o "$dir/cuda.test" ./backend/cuda
	echo "built $dir/cuda.test ($(du -h "$dir/cuda.test" | cut -f1)); it needs:"
	objdump -T "$dir/cuda.test" | grep -oE 'GLIBC_[0-9.]+' | sort -uV | tail -1 | sed 's/^/  glibc >= /'
	echo "carry $dir to the GPU machine and run: bash scripts/gpu-check.sh run"
	exit 0
fi

[ "$mode" = run ] || { echo "usage: gpu-check.sh build|run" >&2; exit 2; }
bin=$dir/cuda.test
[ -x "$bin" ] || { echo "no $bin: run 'bash scripts/gpu-check.sh build' where Go is, and carry $dir" >&2; exit 1; }
out=${OUT:+$OUT/gpu-check}
out=${out:-$dir/out}
mkdir -p "$out"
status=0
step() { printf '\n== %s\n' "$*"; }

step "device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee "$out/device.txt"
nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | tee -a "$out/device.txt"
card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)

step "symbols (LD_BIND_NOW=1)"
if LD_BIND_NOW=1 "$bin" -test.run '^TestBackendGet$' >"$out/bind.txt" 2>&1; then
	echo "ok: every referenced libcuda symbol resolves; the binary starts"
else
	status=1
	echo "FAILED:"; tail -5 "$out/bind.txt"
fi

step "conformance suite (cuBLAS, then own GEMM), allocator steady state"
TESSERA_CUDA_REQUIRE_DEVICE=1 timeout 300 "$bin" -test.v -test.count=1 \
	-test.run '^(TestConformance|TestConformanceOwnGEMM|TestSteadyState|TestBackendGet)$' >"$out/conformance.txt" 2>&1
rc=$?
grep -E '^(--- |    --- )|cuda_test.go:[0-9]+: cuda' "$out/conformance.txt" | head -40
if [ $rc -ne 0 ]; then
	status=1
	echo "FAILED (exit $rc); first failures:"
	grep -E -A4 '^\s+(ops|suite)\.go:[0-9]+' "$out/conformance.txt" | head -60
	grep -E -A20 '^panic' "$out/conformance.txt" | head -30
fi

step "benchmarks"
timeout 300 "$bin" -test.run '^$' -test.count=1 -test.benchtime 10x \
	-test.bench '^Benchmark(Add256M|CopyD2D256M|CopyKernel256M|SGEMM8192|SGEMM8192cuBLAS|SGEMM8192Own)$' >"$out/bench.txt" 2>&1 || status=1
grep -E '^Benchmark' "$out/bench.txt"
metric() { awk -v b="$1" -v u="$2" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i+1) == u) print $i }' "$out/bench.txt" | tail -1; }
add=$(metric BenchmarkAdd256M GB/s)
d2d=$(metric BenchmarkCopyD2D256M GB/s)
mm=$(metric BenchmarkSGEMM8192 TFLOP/s)
blas=$(metric BenchmarkSGEMM8192cuBLAS TFLOP/s)
own=$(metric BenchmarkSGEMM8192Own TFLOP/s)

torch=""
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
	torch=$(timeout 120 python3 - <<'PY' 2>&1
import torch
torch.backends.cuda.matmul.allow_tf32 = False
n = 256 << 20
x = torch.ones(n, device="cuda"); y = torch.ones(n, device="cuda"); z = torch.empty(n, device="cuda")
def t(f, reps=10):
    f(); torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(reps): f()
    e.record(); torch.cuda.synchronize()
    return s.elapsed_time(e) / 1e3 / reps
a = t(lambda: torch.add(x, y, out=z))
c = t(lambda: z.copy_(x))
m = 8192
A = torch.full((m, m), 0.5, device="cuda"); B = torch.full((m, m), 0.25, device="cuda"); C = torch.empty(m, m, device="cuda")
g = t(lambda: torch.mm(A, B, out=C))
print(f"torch {torch.__version__}: add {12*n/a/1e9:.0f} GB/s, copy {8*n/c/1e9:.0f} GB/s, sgemm {2*m**3/g/1e12:.1f} TFLOP/s")
PY
)
fi

step "summary"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "?"; else printf "%.1f%%", 100 * a / b }'; }
{
	echo "card: ${card:-unknown}"
	printf '%-44s %12s %12s %8s %7s\n' "measure" "tessera" "reference" "ratio" "target"
	printf '%-44s %12s %12s %8s %7s\n' "add 256M float32 vs cuMemcpyDtoD (GB/s)" "${add:-?}" "${d2d:-?}" "$(ratio "$add" "$d2d")" ">=85%"
	printf '%-44s %12s %12s %8s %7s\n' "MatMul f32 n=8192 vs cublasSgemm (TFLOP/s)" "${mm:-?}" "${blas:-?}" "$(ratio "$mm" "$blas")" ">=95%"
	printf '%-44s %12s %12s %8s %7s\n' "own GEMM kernel vs cublasSgemm (TFLOP/s)" "${own:-?}" "${blas:-?}" "$(ratio "$own" "$blas")" "-"
	[ -n "$torch" ] && echo "$torch"
	if [ $status -eq 0 ]; then echo "gpu-check: PASS"; else echo "gpu-check: FAIL"; fi
} | tee "$out/summary.txt"
exit $status
