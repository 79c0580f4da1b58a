// Command compare reads benchmark results in Go's format (go test -bench
// output, and the PyTorch twins' output, which prints the same format) and
// prints a Markdown table of the median of each benchmark, per thread
// count, with the first input side by side with the others and the ratio
// between them.
//
//	go run ./cmd/compare [-rename OLD=NEW]... LABEL=FILE[,FILE...] LABEL=FILE...
//
// The first LABEL is the subject (Tessera); each further one is a peer, and
// gets a column of medians and a column "subject/peer" of ratios. A result
// line is "NAME[-THREADS] ITERATIONS VALUE UNIT [VALUE UNIT]...", the
// thread count being 1 when the suffix is missing (go test -cpu 1 omits it).
// Several lines of one name (go test -count N) give their median. Each
// benchmark is shown in its most telling unit: GFLOP/s, then GB/s (from
// MB/s), MiB, ms/step, ms/op, ns/op; the subject's B/op, when it has them,
// get a column of their own. -rename maps one name prefix onto another
// (gonum's BenchmarkGonumSgemm onto BenchmarkMatMul), and applies to every
// input. The "±" after a median is the largest deviation of a run from it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

type renames []string

func (r *renames) String() string     { return strings.Join(*r, ",") }
func (r *renames) Set(s string) error { *r = append(*r, s); return nil }

// key identifies a benchmark at one thread count.
type key struct {
	name    string
	threads int
}

// input is one labelled set of results: every value of every unit, and the
// names in the order they first appear.
type input struct {
	label string
	vals  map[key]map[string][]float64
	order []string
}

// unitOrder is the order of preference for the unit a row shows.
var unitOrder = []string{"GFLOP/s", "MB/s", "MiB", "ms/step", "ms/op", "ns/op"}

var threadSuffix = regexp.MustCompile(`^(.*)-(\d+)$`)

func main() {
	var rn renames
	flag.Var(&rn, "rename", "OLD=NEW: read names starting with OLD as starting with NEW (repeatable)")
	filter := flag.String("filter", "", "show only the benchmarks whose name matches this regular expression")
	flag.Parse()
	log.SetFlags(0)
	if flag.NArg() < 1 {
		log.Fatal("usage: compare [-rename OLD=NEW]... LABEL=FILE[,FILE...] [LABEL=FILE...]")
	}
	var ins []*input
	for _, arg := range flag.Args() {
		label, files, ok := strings.Cut(arg, "=")
		if !ok {
			log.Fatalf("%q is not LABEL=FILE", arg)
		}
		in := &input{label: label, vals: map[key]map[string][]float64{}}
		for _, f := range strings.Split(files, ",") {
			if err := in.read(f, rn); err != nil {
				log.Fatal(err)
			}
		}
		ins = append(ins, in)
	}
	pat, err := regexp.Compile(*filter)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(table(ins, pat))
}

func (in *input) read(path string, rn renames) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
			continue
		}
		if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
			continue
		}
		k := key{fields[0], 1}
		if m := threadSuffix.FindStringSubmatch(fields[0]); m != nil {
			k.name = m[1]
			k.threads, _ = strconv.Atoi(m[2])
		}
		for _, r := range rn {
			if old, nw, ok := strings.Cut(r, "="); ok && strings.HasPrefix(k.name, old) {
				k.name = nw + strings.TrimPrefix(k.name, old)
			}
		}
		if in.vals[k] == nil {
			in.vals[k] = map[string][]float64{}
			if !slices.Contains(in.order, k.name) {
				in.order = append(in.order, k.name)
			}
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			in.vals[k][fields[i+1]] = append(in.vals[k][fields[i+1]], v)
		}
	}
	return s.Err()
}

// median returns the median of vs and the largest relative deviation of a
// value from it.
func median(vs []float64) (med, spread float64) {
	if len(vs) == 0 {
		return math.NaN(), 0
	}
	s := slices.Clone(vs)
	sort.Float64s(s)
	if n := len(s); n%2 == 1 {
		med = s[n/2]
	} else {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	for _, v := range s {
		if med != 0 {
			spread = max(spread, math.Abs(v-med)/math.Abs(med))
		}
	}
	return med, spread
}

// shown returns the unit a row shows, the one the label prints and the
// factor from the one to the other.
func shown(units map[string][]float64) (unit, label string, scale float64) {
	for _, u := range unitOrder {
		if _, ok := units[u]; ok {
			if u == "MB/s" {
				return u, "GB/s", 1e-3
			}
			return u, u, 1
		}
	}
	return "", "", 1
}

func format(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "–"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func formatBytes(b float64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

func table(ins []*input, pat *regexp.Regexp) string {
	subject := ins[0]
	// Rows: the subject's benchmarks in the order they ran, then any a peer
	// has alone; each at every thread count any input has.
	var names []string
	threads := map[string][]int{}
	for _, in := range ins {
		for _, name := range in.order {
			if !pat.MatchString(name) {
				continue
			}
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
		for k := range in.vals {
			if !slices.Contains(threads[k.name], k.threads) {
				threads[k.name] = append(threads[k.name], k.threads)
			}
		}
	}
	var keys []key
	for _, name := range names {
		ts := threads[name]
		slices.Sort(ts)
		for _, t := range ts {
			keys = append(keys, key{name, t})
		}
	}
	hasAllocs := false
	for _, u := range subject.vals {
		if _, ok := u["B/op"]; ok {
			hasAllocs = true
		}
	}

	var b strings.Builder
	head := []string{"benchmark", "threads", "unit", subject.label}
	for _, p := range ins[1:] {
		head = append(head, p.label, subject.label+"/"+p.label)
	}
	head = append(head, subject.label+" 2T/1T")
	if hasAllocs {
		head = append(head, subject.label+" B/op")
	}
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for i := range head {
		if i < 3 {
			b.WriteString(" --- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteString("\n")

	for _, k := range keys {
		// The unit comes from the subject when it has the row.
		units := subject.vals[k]
		if units == nil {
			for _, p := range ins[1:] {
				if p.vals[k] != nil {
					units = p.vals[k]
					break
				}
			}
		}
		unit, label, scale := shown(units)
		if unit == "" {
			continue
		}
		row := []string{strings.TrimPrefix(k.name, "Benchmark"), strconv.Itoa(k.threads), label}
		sv, ss := median(subject.vals[k][unit])
		cell := func(v, s float64) string {
			if math.IsNaN(v) {
				return "–"
			}
			return fmt.Sprintf("%s ±%.0f%%", format(v*scale), s*100)
		}
		row = append(row, cell(sv, ss))
		for _, p := range ins[1:] {
			pv, ps := median(p.vals[k][unit])
			ratio := "–"
			if !math.IsNaN(sv) && !math.IsNaN(pv) && pv != 0 {
				ratio = fmt.Sprintf("%.2f", sv/pv)
			}
			row = append(row, cell(pv, ps), ratio)
		}
		// Scaling against one thread: throughput grows, time shrinks.
		speedup := ""
		if k.threads > 1 {
			if v1, _ := median(subject.vals[key{k.name, 1}][unit]); !math.IsNaN(v1) && !math.IsNaN(sv) && v1 != 0 && sv != 0 {
				r := v1 / sv // a time: the speed-up
				if strings.HasSuffix(unit, "/s") || unit == "MiB" {
					r = sv / v1
				}
				speedup = fmt.Sprintf("%.2f×", r)
			}
		}
		row = append(row, speedup)
		if hasAllocs {
			a := ""
			if v, _ := median(subject.vals[k]["B/op"]); !math.IsNaN(v) {
				a = formatBytes(v)
			}
			row = append(row, a)
		}
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteString("\nRatios are " + subject.label + " ÷ peer in the row's unit: above 1 is faster for GFLOP/s and GB/s, slower for ms/step and ms/op, more memory for MiB. " +
		subject.label + " 2T/1T is the two-thread speed-up (for MiB, the growth).\n")
	return b.String()
}
