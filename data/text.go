package data

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tessera-ml/tessera/tensor"
)

// LoadText reads a UTF-8 text file, with Windows line endings ("\r\n")
// turned into "\n".
func LoadText(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("data: LoadText: %w", err)
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("data: LoadText: %s is not valid UTF-8", path)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n"), nil
}

// Vocab is a character vocabulary: the distinct runes of a text, sorted, each
// identified by its position.
type Vocab struct {
	runes []rune
	ids   map[rune]int
}

// NewVocab returns the vocabulary of the runes in text.
func NewVocab(text string) *Vocab {
	ids := map[rune]int{}
	for _, r := range text {
		ids[r] = 0
	}
	runes := make([]rune, 0, len(ids))
	for r := range ids {
		runes = append(runes, r)
	}
	slices.Sort(runes)
	for i, r := range runes {
		ids[r] = i
	}
	return &Vocab{runes: runes, ids: ids}
}

// Size returns the number of runes in the vocabulary.
func (v *Vocab) Size() int { return len(v.runes) }

// Runes returns the vocabulary's runes in id order.
func (v *Vocab) Runes() []rune { return slices.Clone(v.runes) }

// Encode returns the ids of s's runes. A rune outside the vocabulary is an
// error.
func (v *Vocab) Encode(s string) ([]int, error) {
	ids := make([]int, 0, len(s))
	for at, r := range s {
		id, ok := v.ids[r]
		if !ok {
			return nil, fmt.Errorf("data: Vocab.Encode: rune %q at byte %d is not in the vocabulary", r, at)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Decode returns the text of ids; an id outside the vocabulary becomes
// U+FFFD, the replacement character.
func (v *Vocab) Decode(ids []int) string {
	var b strings.Builder
	b.Grow(len(ids))
	for _, id := range ids {
		if id >= 0 && id < len(v.runes) {
			b.WriteRune(v.runes[id])
		} else {
			b.WriteRune(utf8.RuneError)
		}
	}
	return b.String()
}

// SplitIDs cuts a sequence into a training part and a validation part made of
// its last valFrac (rounded down). Cutting in one place, not at random, keeps
// windows that overlap out of different parts.
func SplitIDs(ids []int, valFrac float64) (train, val []int) {
	if !(valFrac >= 0 && valFrac <= 1) {
		panic(fmt.Sprintf("data.SplitIDs: validation fraction %v is not in [0, 1]", valFrac))
	}
	cut := len(ids) - int(float64(len(ids))*valFrac)
	return ids[:cut:cut], ids[cut:]
}

// Windows is the next-token prediction dataset of a sequence of ids with a
// context of T: example k, starting at i = k·stride, has X = ids[i:i+T] and
// Y = ids[i+1:i+T+1], both int64 [T]. Its batches are int64 [B, T].
type Windows struct {
	ids    []int64
	t      int
	stride int
}

// NewWindows returns the windows of context length t over ids, starting
// every stride ids (1 for every position; t for windows that do not overlap).
func NewWindows(ids []int, t, stride int) *Windows {
	if t < 1 || stride < 1 {
		panic(fmt.Sprintf("data.NewWindows: context length %d and stride %d must be positive", t, stride))
	}
	w := &Windows{ids: make([]int64, len(ids)), t: t, stride: stride}
	for i, id := range ids {
		w.ids[i] = int64(id)
	}
	return w
}

// Len returns the number of windows: those that fit with their target.
func (w *Windows) Len() int {
	if len(w.ids) <= w.t {
		return 0
	}
	return (len(w.ids)-w.t-1)/w.stride + 1
}

// Context returns the context length T.
func (w *Windows) Context() int { return w.t }

// Get returns window k.
func (w *Windows) Get(k int) Example {
	if k < 0 || k >= w.Len() {
		panic(fmt.Sprintf("data.Windows.Get: index %d out of range [0, %d)", k, w.Len()))
	}
	i := k * w.stride
	return Example{
		X: tensor.FromSlice(w.ids[i:i+w.t], w.t),
		Y: tensor.FromSlice(w.ids[i+1:i+w.t+1], w.t),
	}
}

// Batch returns the windows at idx as X and Y of shape [len(idx), T], built
// in one copy each.
func (w *Windows) Batch(idx []int) Batch {
	n := w.Len()
	x := make([]int64, 0, len(idx)*w.t)
	y := make([]int64, 0, len(idx)*w.t)
	for _, k := range idx {
		if k < 0 || k >= n {
			panic(fmt.Sprintf("data.Windows.Batch: index %d out of range [0, %d)", k, n))
		}
		i := k * w.stride
		x = append(x, w.ids[i:i+w.t]...)
		y = append(y, w.ids[i+1:i+w.t+1]...)
	}
	return Batch{X: tensor.FromSlice(x, len(idx), w.t), Y: tensor.FromSlice(y, len(idx), w.t)}
}
