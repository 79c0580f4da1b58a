package nn

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tessera-ml/tessera/safetensors"
	"github.com/tessera-ml/tessera/tensor"
)

// stateEntry is one parameter or buffer with its dotted name.
type stateEntry struct {
	name string
	t    *tensor.Tensor
}

// stateEntries lists m's parameters and buffers with dotted names, module by
// module in declaration order (each module's parameters, then its buffers,
// then its children), as torch's state_dict orders them. A tensor shared by
// two modules appears under each name.
func stateEntries(m Module) []stateEntry {
	var out []stateEntry
	walk(m, "", func(prefix string, mm Members) {
		for _, p := range mm.Params {
			if p.Value != nil && p.Value.Data != nil {
				out = append(out, stateEntry{prefix + p.Name, p.Value.Data})
			}
		}
		for _, b := range mm.Buffers {
			if b.Value != nil {
				out = append(out, stateEntry{prefix + b.Name, b.Value})
			}
		}
	})
	return out
}

// StateDict returns m's parameters and buffers by dotted name ("0.weight",
// "bn.running_mean"), as torch's state_dict does.
//
// The tensors are the live ones — each parameter's Data and each buffer
// itself, not copies — so the map costs nothing to build, and writing into
// one of its tensors writes into the model. Clone the tensors for a snapshot
// that later training does not change. A tensor shared by two modules (tied
// weights) appears under each of its names.
func StateDict(m Module) map[string]*tensor.Tensor {
	entries := stateEntries(m)
	sd := make(map[string]*tensor.Tensor, len(entries))
	for _, e := range entries {
		sd[e.name] = e.t
	}
	return sd
}

// LoadResult lists the keys that did not match when a state dict was loaded.
type LoadResult struct {
	// Missing are the module's keys that the state dict lacks, in the
	// module's order. A tensor shared under several names counts as loaded
	// when any of them is present.
	Missing []string
	// Unexpected are the state dict's keys that the module does not have,
	// sorted.
	Unexpected []string
}

// ShapeMismatch is a state dict entry whose shape differs from the module's
// tensor of that name.
type ShapeMismatch struct {
	Key        string
	Checkpoint []int // the state dict's shape
	Model      []int // the module's shape
}

// StateDictError is returned when a state dict does not fit a module: some
// shapes differ or, in strict mode, keys are missing or unexpected. Its
// message follows torch's load_state_dict:
//
//	nn: error(s) in loading state_dict for *nn.Sequential:
//		Missing key(s) in state_dict: "0.weight", "0.bias".
//		Unexpected key(s) in state_dict: "fc.weight".
//		size mismatch for 2.weight: copying a param with shape [3 4] from checkpoint, the shape in current model is [4 4].
type StateDictError struct {
	Module     string   // the module's Go type, e.g. "*nn.Sequential"
	Missing    []string // reported in strict mode only
	Unexpected []string // reported in strict mode only
	Mismatched []ShapeMismatch
}

func (e *StateDictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nn: error(s) in loading state_dict for %s:", e.Module)
	keys := func(ks []string) string {
		q := make([]string, len(ks))
		for i, k := range ks {
			q[i] = strconv.Quote(k)
		}
		return strings.Join(q, ", ")
	}
	if len(e.Missing) > 0 {
		fmt.Fprintf(&b, "\n\tMissing key(s) in state_dict: %s.", keys(e.Missing))
	}
	if len(e.Unexpected) > 0 {
		fmt.Fprintf(&b, "\n\tUnexpected key(s) in state_dict: %s.", keys(e.Unexpected))
	}
	for _, mm := range e.Mismatched {
		fmt.Fprintf(&b, "\n\tsize mismatch for %s: copying a param with shape %v from checkpoint, the shape in current model is %v.",
			mm.Key, mm.Checkpoint, mm.Model)
	}
	return b.String()
}

// LoadStateDict copies the tensors of sd into m's parameters and buffers of
// the same names, in place (the tensors m holds stay the same objects, so
// optimizers keep working), converting dtype where it differs, as torch's
// load_state_dict does. Nothing is recorded for autograd.
//
// Shapes must match exactly. In strict mode every key of m must be in sd
// and every key of sd in m; otherwise the keys that match are loaded and the
// others listed in the result. Either way the check comes first: when it
// fails, the error is a *StateDictError listing every problem and m is left
// unchanged (torch, unlike this, loads what it can before raising).
func LoadStateDict(m Module, sd map[string]*tensor.Tensor, strict bool) (LoadResult, error) {
	type copyOp struct{ dst, src *tensor.Tensor }
	var (
		res        LoadResult
		mismatched []ShapeMismatch
		ops        []copyOp
		entries    = stateEntries(m)
		known      = make(map[string]bool, len(entries))
		loaded     = make(map[*tensor.Tensor]bool, len(entries))
	)
	for _, e := range entries {
		known[e.name] = true
		src, ok := sd[e.name]
		if !ok {
			continue
		}
		if src == nil {
			return res, fmt.Errorf("nn: LoadStateDict: state dict entry %q is nil", e.name)
		}
		if !slices.Equal(src.Shape(), e.t.Shape()) {
			mismatched = append(mismatched, ShapeMismatch{e.name, src.Shape(), e.t.Shape()})
			continue
		}
		ops = append(ops, copyOp{e.t, src})
		loaded[e.t] = true
	}
	for _, e := range entries {
		if _, ok := sd[e.name]; !ok && !loaded[e.t] {
			res.Missing = append(res.Missing, e.name)
		}
	}
	for k := range sd {
		if !known[k] {
			res.Unexpected = append(res.Unexpected, k)
		}
	}
	sort.Strings(res.Unexpected)

	if len(mismatched) > 0 || strict && (len(res.Missing) > 0 || len(res.Unexpected) > 0) {
		err := &StateDictError{Module: fmt.Sprintf("%T", m), Mismatched: mismatched}
		if strict {
			err.Missing, err.Unexpected = res.Missing, res.Unexpected
		}
		return res, err
	}
	for _, op := range ops {
		if op.dst == op.src {
			continue
		}
		if err := tensor.Try(func() { op.dst.CopyFrom(op.src) }); err != nil {
			return res, fmt.Errorf("nn: LoadStateDict: %w", err)
		}
	}
	return res, nil
}

// Save writes m's state dict to path as a safetensors file that PyTorch
// reads with safetensors.torch.load_file, with the metadata {"format":
// "pt"} that Hugging Face loaders look for. The write is atomic: path holds
// either its previous content or the complete new file. A tensor shared
// under several names (tied weights) is stored once, under its first name;
// Load fills every name from it.
func Save(m Module, path string) error {
	sd := map[string]*tensor.Tensor{}
	seen := map[*tensor.Tensor]bool{}
	for _, e := range stateEntries(m) {
		if !seen[e.t] {
			seen[e.t] = true
			sd[e.name] = e.t
		}
	}
	if err := safetensors.WriteFile(path, sd, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("nn: Save: %w", err)
	}
	return nil
}

// Load reads the safetensors file at path (written by Save or by PyTorch's
// safetensors.torch.save_file) and loads it into m with LoadStateDict.
func Load(m Module, path string, strict bool) (LoadResult, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return LoadResult{}, fmt.Errorf("nn: Load: %w", err)
	}
	return LoadStateDict(m, f.Tensors, strict)
}
