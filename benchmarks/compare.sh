#!/bin/bash
# compare.sh runs Tessera's benchmarks, gonum's SGEMM, the PyTorch twins
# (torch_bench.py and train_bench.py) and the peak-RSS program on this
# machine, one after another, and prints side-by-side tables (cmd/compare).
#
#   benchmarks/compare.sh                     # everything, 5 runs of each
#   COUNT=10 OUT=/tmp/run benchmarks/compare.sh
#
# Environment: COUNT (runs per benchmark, default 5), THREADS (default
# "1 2"), OUT (where the raw outputs and tables go; default
# benchmarks/results/DATE), BENCHTIME (go test -benchtime, default 1s),
# RSS_STEPS (steps cmd/rss runs, default 50), PY_BENCHTIME (seconds per
# train_bench.py measurement, default 1), PYTHON (default /usr/bin/python3,
# Debian's python3-torch).
#
# PyTorch runs twice: once with OPENBLAS_CORETYPE as the environment sets it
# (Haswell here: OpenBLAS's AVX2 kernels, like Tessera's) and once without
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, so that OpenBLAS picks its own
# kernels for this CPU (Cooperlake: AVX-512).
#
# Each thread count gets its own go test process, GOMAXPROCS=T go test -cpu T
# (the lines are those a -cpu 1,2 run prints), for two reasons measured on
# this machine: Tessera's CPU backend sizes its worker pool from GOMAXPROCS
# once, at first use, so in a -cpu 1,2 process one thread count runs with a
# pool of the wrong size (the "workers" metric of BenchmarkTrainStep shows
# it); and with b.Loop the first -count run of the first -cpu value runs at
# the GOMAXPROCS that was current before it (a -cpu 1,2 run printed a "-1"
# MatMul line at the two-thread speed).
set -euo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-5}
THREADS=${THREADS:-"1 2"}
BENCHTIME=${BENCHTIME:-1s}
RSS_STEPS=${RSS_STEPS:-50}
PY_BENCHTIME=${PY_BENCHTIME:-1}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
export OMP_WAIT_POLICY=PASSIVE
threads_csv=$(echo $THREADS | tr ' ' ',')

# The benchmarks: issue 3's kernels and issue 8's training steps and layers.
GO_BENCH='^Benchmark(MatMul|Elementwise|Triad|TrainStep|Conv2dFwdBwd|LayerNorm|Softmax|Attention)$'

log() { echo "== $*" >&2; }

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "uptime: $(uptime)"
	lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|L1d|L2|L3)'
	grep -m3 -E '^(cpu family|model|stepping)\s' /proc/cpuinfo | tr -s '\t' ' ' | paste -sd ';'
	echo "SIMD flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|avx2|fma|f16c|avx512.*|avx_vnni)$' | tr '\n' ' ')"
	go version
	echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-(unset)}"
	echo "count=$COUNT threads=$THREADS benchtime=$BENCHTIME rss_steps=$RSS_STEPS"
} | tee "$OUT/machine.txt" >&2

tessera_files=()
for t in $THREADS; do
	log "Tessera: GOMAXPROCS=$t go test -run '^\$' -bench '$GO_BENCH' -benchtime $BENCHTIME -cpu $t -count $COUNT"
	GOMAXPROCS=$t go test -run '^$' -bench "$GO_BENCH" -benchtime "$BENCHTIME" -cpu "$t" -count "$COUNT" -timeout 60m . | tee "$OUT/tessera-$t.txt"
	tessera_files+=("$OUT/tessera-$t.txt")
done

gonum_files=()
for t in $THREADS; do
	log "gonum: GOMAXPROCS=$t go test -run '^\$' -bench '^BenchmarkGonumSgemm\$' -cpu $t -count $COUNT"
	GOMAXPROCS=$t go test -run '^$' -bench '^BenchmarkGonumSgemm$' -benchtime "$BENCHTIME" -cpu "$t" -count "$COUNT" -timeout 60m . | tee "$OUT/gonum-$t.txt"
	gonum_files+=("$OUT/gonum-$t.txt")
done

log "Tessera peak RSS: go build ./cmd/rss; rss -workload W -threads T -steps $RSS_STEPS"
go build -o "$OUT/rss" ./cmd/rss
: >"$OUT/tessera-rss.txt"
for t in $THREADS; do
	for w in mlp_b64 mlp_b256 cnn_b64 transformer_b32; do
		"$OUT/rss" -workload "$w" -threads "$t" -steps "$RSS_STEPS" | tee -a "$OUT/tessera-rss.txt"
	done
done

for variant in avx2 avx512; do
	if [ "$variant" = avx2 ]; then
		envcmd=(env)
	else
		envcmd=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
	fi
	log "PyTorch ($variant): ${envcmd[*]} $PYTHON torch_bench.py -threads $threads_csv"
	"${envcmd[@]}" "$PYTHON" torch_bench.py -threads "$threads_csv" | tee "$OUT/torch-$variant.txt"
	log "PyTorch ($variant): ${envcmd[*]} $PYTHON train_bench.py -threads $threads_csv -count $COUNT -benchtime $PY_BENCHTIME"
	"${envcmd[@]}" "$PYTHON" train_bench.py -threads "$threads_csv" -count "$COUNT" -benchtime "$PY_BENCHTIME" | tee "$OUT/train-$variant.txt"
done

# Page faults: on this VM a first touch of a 4 KiB page costs about 13 µs
# (bare metal takes well under 1 µs), and both glibc (PyTorch) and the Go
# runtime hand freed memory back to the kernel, so the "faults/op" and
# "faults/step" metrics decide much of the training-step times. With
# KEEPMEM=1 (the default) the training steps run once more with both sides
# told to keep their memory: glibc with a fixed mmap threshold of 32 MiB, no
# trimming and a 256 MiB top pad; Go with GODEBUG=madvdontneed=0 (MADV_FREE,
# so that a page handed back is only lost if the kernel needs it).
KEEPMEM_ENV=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456)
keepmem_files=()
if [ "${KEEPMEM:-1}" = 1 ]; then
	for t in $THREADS; do
		log "Tessera, keeping memory: GODEBUG=madvdontneed=0 GOMAXPROCS=$t go test -run '^\$' -bench '^BenchmarkTrainStep\$' -cpu $t -count $COUNT"
		GODEBUG=madvdontneed=0 GOMAXPROCS=$t go test -run '^$' -bench '^BenchmarkTrainStep$' -benchtime "$BENCHTIME" -cpu "$t" -count "$COUNT" -timeout 60m . | tee "$OUT/tessera-keepmem-$t.txt"
		keepmem_files+=("$OUT/tessera-keepmem-$t.txt")
	done
	log "PyTorch (avx2, then avx512), keeping memory: env ${KEEPMEM_ENV[*]} $PYTHON train_bench.py -threads $threads_csv -count $COUNT -filter TrainStep"
	env "${KEEPMEM_ENV[@]}" "$PYTHON" train_bench.py -threads "$threads_csv" -count "$COUNT" -benchtime "$PY_BENCHTIME" -filter TrainStep | tee "$OUT/train-avx2-keepmem.txt"
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${KEEPMEM_ENV[@]}" "$PYTHON" train_bench.py -threads "$threads_csv" -count "$COUNT" -benchtime "$PY_BENCHTIME" -filter TrainStep | tee "$OUT/train-avx512-keepmem.txt"
fi

join() {
	local IFS=,
	echo "$*"
}
tessera=$(join "${tessera_files[@]}" "$OUT/tessera-rss.txt")
gonum=$(join "${gonum_files[@]}")

{
	echo "## SGEMM, elementwise, triad (issue 3)"
	echo
	go run ./cmd/compare -filter '^Benchmark(MatMul|Elementwise|Triad)' -rename BenchmarkGonumSgemm=BenchmarkMatMul \
		"tessera=$tessera" "torch-avx2=$OUT/torch-avx2.txt" "torch-avx512=$OUT/torch-avx512.txt" "gonum=$gonum"
	echo
	echo "## Training steps, layers, peak RSS (issue 8)"
	echo
	go run ./cmd/compare -filter '^Benchmark(TrainStep|PeakRSS|Conv2dFwdBwd|LayerNorm|Softmax|Attention)' \
		"tessera=$tessera" "torch-avx2=$OUT/train-avx2.txt" "torch-avx512=$OUT/train-avx512.txt"
	if [ "${KEEPMEM:-1}" = 1 ]; then
		echo
		echo "## Training steps with both sides keeping their memory (fewer page faults)"
		echo
		go run ./cmd/compare -filter '^BenchmarkTrainStep' \
			"tessera=$(join "${keepmem_files[@]}")" "torch-avx2=$OUT/train-avx2-keepmem.txt" "torch-avx512=$OUT/train-avx512-keepmem.txt"
	fi
} | tee "$OUT/tables.md"
log "raw outputs and tables in $OUT"
