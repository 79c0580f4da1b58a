// Command rss measures the peak resident memory of a Tessera training
// workload: it builds the named workload (benchmarks/workloads.go), runs
// -steps training steps on -threads threads, and prints the process's peak
// resident set (VmHWM from /proc/self/status) as a line in Go's benchmark
// format, which cmd/compare reads:
//
//	BenchmarkPeakRSS/mlp_b64-1   50   123.4 MiB   4.1 ms/step
//
// Run one workload per process, so that each figure is that workload's own:
//
//	go run ./cmd/rss -workload cnn_b64 -threads 2
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-ml/tessera/backend/cpu"
	"github.com/tessera-ml/tessera/benchmarks"
)

func main() {
	name := flag.String("workload", "mlp_b64", "workload: one of "+strings.Join(benchmarks.TrainWorkloads, ", "))
	steps := flag.Int("steps", 50, "training steps to run")
	threads := flag.Int("threads", runtime.GOMAXPROCS(0), "GOMAXPROCS (Tessera's worker pool takes its size from it)")
	flag.Parse()
	log.SetFlags(0)
	// Before any tensor op: the CPU backend sizes its worker pool once, from
	// GOMAXPROCS, when it is first used.
	runtime.GOMAXPROCS(*threads)

	base, err := vmHWM()
	if err != nil {
		log.Fatal(err)
	}
	w, err := benchmarks.NewWorkload(*name, 1)
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	for range *steps {
		w.Step()
	}
	elapsed := time.Since(start)
	peak, err := vmHWM()
	if err != nil {
		log.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	pool := cpu.Pool()
	fmt.Printf("# %s: %d parameters, %d steps; VmHWM before building it %.1f MiB; after: buffer pool holds %.1f MiB, Go heap in use %.1f MiB, %d GCs\n",
		*name, w.Params, *steps, base, float64(pool.HeldBytes)/(1<<20), float64(ms.HeapInuse)/(1<<20), ms.NumGC)
	fmt.Printf("BenchmarkPeakRSS/%s-%d\t%d\t%.1f MiB\t%.2f ms/step\n",
		*name, *threads, *steps, peak, elapsed.Seconds()*1e3/float64(*steps))
}

// vmHWM returns the process's peak resident set size in MiB.
func vmHWM() (float64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM: %v", err)
			}
			return kb / 1024, nil
		}
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}
