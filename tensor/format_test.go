package tensor

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// The expected strings are what PyTorch 1.13 prints (repr) for the same
// tensors with its default print options; they were generated once with
// Python and pasted here.

var (
	fmtNaN = float32(math.NaN())
	fmtInf = float32(math.Inf(1))
)

// fmtQuarters returns 0, 0.25, 0.5, ... (n values).
func fmtQuarters(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i) / 4
	}
	return v
}

// fmtSevenths returns float32(i)/7 for i < n, as torch.arange(n)/7 computes it.
func fmtSevenths(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i) / 7
	}
	return v
}

func TestFormatString(t *testing.T) {
	tests := []struct {
		name string
		t    *Tensor
		want string
	}{
		{"float matrix", FromSlice([]float32{1, 2.5, 3, 4}, 2, 2), `tensor([[1.0000, 2.5000],
        [3.0000, 4.0000]])`},
		{"float matrix signs", FromSlice([]float32{1.5, -2.25, 3, 4, 5, 6.125}, 2, 3), `tensor([[ 1.5000, -2.2500,  3.0000],
        [ 4.0000,  5.0000,  6.1250]])`},
		{"integer-valued floats", FromSlice([]float32{1, 2, 3}), `tensor([1., 2., 3.])`},
		{"integer-valued floats padded", FromSlice([]float32{-1, 0, 10, 200}, 2, 2), `tensor([[ -1.,   0.],
        [ 10., 200.]])`},
		{"zeros", Zeros([]int{2, 3}), `tensor([[0., 0., 0.],
        [0., 0., 0.]])`},
		{"negative zero", FromSlice([]float32{float32(math.Copysign(0, -1)), 0.5}), `tensor([-0.0000, 0.5000])`},
		{"sci small", FromSlice([]float32{1e-5, 1, 123.456}), `tensor([1.0000e-05, 1.0000e+00, 1.2346e+02])`},
		{"sci big", FromSlice([]float32{1, 2.5, 1e9}), `tensor([1.0000e+00, 2.5000e+00, 1.0000e+09])`},
		{"sci integer-valued", FromSlice([]float32{1, 1e9}), `tensor([1.0000e+00, 1.0000e+09])`},
		{"sci ratio", FromSlice([]float32{0.5, 600.25}), `tensor([5.0000e-01, 6.0025e+02])`},
		{"nan inf", FromSlice([]float32{1.5, fmtNaN, fmtInf, -fmtInf}), `tensor([1.5000,    nan,    inf,   -inf])`},
		{"nan inf integer-valued", FromSlice([]float32{1, fmtNaN, -fmtInf, 100}), `tensor([  1.,  nan, -inf, 100.])`},
		{"all nan", FromSlice([]float32{fmtNaN, fmtNaN}), `tensor([nan, nan])`},
		{"ints", FromSlice([]int{1, -20, 300}), `tensor([  1, -20, 300])`},
		{"int32", FromSlice([]int32{1, 2, 3, 4}, 2, 2), `tensor([[1, 2],
        [3, 4]], dtype=torch.int32)`},
		{"int64 beyond 2^53", FromSlice([]int64{math.MaxInt64, math.MinInt64, 1<<53 + 1}), `tensor([ 9223372036854775807, -9223372036854775808,     9007199254740993])`},
		{"bools", FromSlice([]bool{true, false, true}), `tensor([ True, False,  True])`},
		{"bools all true", FromSlice([]bool{true, true}, 1, 2), `tensor([[True, True]])`},
		{"0-d", Scalar(3.5), `tensor(3.5000)`},
		{"0-d integer-valued", Scalar(7), `tensor(7.)`},
		{"0-d int64", Scalar(42, WithDType(Int64)), `tensor(42)`},
		{"0-d float64", Scalar(0.1, WithDType(Float64)), `tensor(0.1000, dtype=torch.float64)`},
		{"empty", Zeros([]int{0}), `tensor([])`},
		{"empty 0x3", Zeros([]int{0, 3}), `tensor([], size=(0, 3))`},
		{"empty int64", Zeros([]int{0}, WithDType(Int64)), `tensor([], dtype=torch.int64)`},
		{"empty 2x0x3 bool", Zeros([]int{2, 0, 3}, WithDType(Bool)), `tensor([], size=(2, 0, 3), dtype=torch.bool)`},
		{"3-D", Arange(0, 24, 1).Reshape(2, 3, 4), `tensor([[[ 0,  1,  2,  3],
         [ 4,  5,  6,  7],
         [ 8,  9, 10, 11]],

        [[12, 13, 14, 15],
         [16, 17, 18, 19],
         [20, 21, 22, 23]]])`},
		{"3-D float", FromSlice(fmtQuarters(12), 3, 2, 2), `tensor([[[0.0000, 0.2500],
         [0.5000, 0.7500]],

        [[1.0000, 1.2500],
         [1.5000, 1.7500]],

        [[2.0000, 2.2500],
         [2.5000, 2.7500]]])`},
		{"4-D", Arange(0, 16, 1).Reshape(2, 2, 2, 2), `tensor([[[[ 0,  1],
          [ 2,  3]],

         [[ 4,  5],
          [ 6,  7]]],


        [[[ 8,  9],
          [10, 11]],

         [[12, 13],
          [14, 15]]]])`},
		{"summarised arange(2000)", Arange(0, 2000, 1), `tensor([   0,    1,    2,  ..., 1997, 1998, 1999])`},
		{"summarised 100x100", Arange(0, 10000, 1).Reshape(100, 100), `tensor([[   0,    1,    2,  ...,   97,   98,   99],
        [ 100,  101,  102,  ...,  197,  198,  199],
        [ 200,  201,  202,  ...,  297,  298,  299],
        ...,
        [9700, 9701, 9702,  ..., 9797, 9798, 9799],
        [9800, 9801, 9802,  ..., 9897, 9898, 9899],
        [9900, 9901, 9902,  ..., 9997, 9998, 9999]])`},
		{"summarised float", Arange(0, 1000, 0.5), `tensor([0.0000e+00, 5.0000e-01, 1.0000e+00,  ..., 9.9850e+02, 9.9900e+02,
        9.9950e+02])`},
		{"summarised float 100x20", Arange(0, 1000, 0.5).Reshape(100, 20), `tensor([[0.0000e+00, 5.0000e-01, 1.0000e+00,  ..., 8.5000e+00, 9.0000e+00,
         9.5000e+00],
        [1.0000e+01, 1.0500e+01, 1.1000e+01,  ..., 1.8500e+01, 1.9000e+01,
         1.9500e+01],
        [2.0000e+01, 2.0500e+01, 2.1000e+01,  ..., 2.8500e+01, 2.9000e+01,
         2.9500e+01],
        ...,
        [9.7000e+02, 9.7050e+02, 9.7100e+02,  ..., 9.7850e+02, 9.7900e+02,
         9.7950e+02],
        [9.8000e+02, 9.8050e+02, 9.8100e+02,  ..., 9.8850e+02, 9.8900e+02,
         9.8950e+02],
        [9.9000e+02, 9.9050e+02, 9.9100e+02,  ..., 9.9850e+02, 9.9900e+02,
         9.9950e+02]])`},
		{"summarised 20x20x20", Arange(0, 8000, 1).Reshape(20, 20, 20), `tensor([[[   0,    1,    2,  ...,   17,   18,   19],
         [  20,   21,   22,  ...,   37,   38,   39],
         [  40,   41,   42,  ...,   57,   58,   59],
         ...,
         [ 340,  341,  342,  ...,  357,  358,  359],
         [ 360,  361,  362,  ...,  377,  378,  379],
         [ 380,  381,  382,  ...,  397,  398,  399]],

        [[ 400,  401,  402,  ...,  417,  418,  419],
         [ 420,  421,  422,  ...,  437,  438,  439],
         [ 440,  441,  442,  ...,  457,  458,  459],
         ...,
         [ 740,  741,  742,  ...,  757,  758,  759],
         [ 760,  761,  762,  ...,  777,  778,  779],
         [ 780,  781,  782,  ...,  797,  798,  799]],

        [[ 800,  801,  802,  ...,  817,  818,  819],
         [ 820,  821,  822,  ...,  837,  838,  839],
         [ 840,  841,  842,  ...,  857,  858,  859],
         ...,
         [1140, 1141, 1142,  ..., 1157, 1158, 1159],
         [1160, 1161, 1162,  ..., 1177, 1178, 1179],
         [1180, 1181, 1182,  ..., 1197, 1198, 1199]],

        ...,

        [[6800, 6801, 6802,  ..., 6817, 6818, 6819],
         [6820, 6821, 6822,  ..., 6837, 6838, 6839],
         [6840, 6841, 6842,  ..., 6857, 6858, 6859],
         ...,
         [7140, 7141, 7142,  ..., 7157, 7158, 7159],
         [7160, 7161, 7162,  ..., 7177, 7178, 7179],
         [7180, 7181, 7182,  ..., 7197, 7198, 7199]],

        [[7200, 7201, 7202,  ..., 7217, 7218, 7219],
         [7220, 7221, 7222,  ..., 7237, 7238, 7239],
         [7240, 7241, 7242,  ..., 7257, 7258, 7259],
         ...,
         [7540, 7541, 7542,  ..., 7557, 7558, 7559],
         [7560, 7561, 7562,  ..., 7577, 7578, 7579],
         [7580, 7581, 7582,  ..., 7597, 7598, 7599]],

        [[7600, 7601, 7602,  ..., 7617, 7618, 7619],
         [7620, 7621, 7622,  ..., 7637, 7638, 7639],
         [7640, 7641, 7642,  ..., 7657, 7658, 7659],
         ...,
         [7940, 7941, 7942,  ..., 7957, 7958, 7959],
         [7960, 7961, 7962,  ..., 7977, 7978, 7979],
         [7980, 7981, 7982,  ..., 7997, 7998, 7999]]])`},
		{"summarised transposed", Arange(0, 10000, 1).Reshape(100, 100).T(), `tensor([[   0,  100,  200,  ..., 9700, 9800, 9900],
        [   1,  101,  201,  ..., 9701, 9801, 9901],
        [   2,  102,  202,  ..., 9702, 9802, 9902],
        ...,
        [  97,  197,  297,  ..., 9797, 9897, 9997],
        [  98,  198,  298,  ..., 9798, 9898, 9998],
        [  99,  199,  299,  ..., 9799, 9899, 9999]])`},
		{"float64", FromSlice([]float64{1.5, 2}), `tensor([1.5000, 2.0000], dtype=torch.float64)`},
		{"float16", FromSlice([]float32{0.1, 2, -3.5}).Cast(Float16), `tensor([ 0.1000,  2.0000, -3.5000], dtype=torch.float16)`},
		{"bfloat16", FromSlice([]float32{0.1, 2, -3.5}).Cast(BFloat16), `tensor([ 0.1001,  2.0000, -3.5000], dtype=torch.bfloat16)`},
		{"transposed", FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3).T(), `tensor([[1., 4.],
        [2., 5.],
        [3., 6.]])`},
		{"transposed fractions", FromSlice([]float32{1.25, 2, 3, 4, 5, 6}, 2, 3).T(), `tensor([[1.2500, 4.0000],
        [2.0000, 5.0000],
        [3.0000, 6.0000]])`},
		{"sliced view", Arange(0, 20, 1).Reshape(4, 5).Slice(1, 1, 5, 2), `tensor([[ 1,  3],
        [ 6,  8],
        [11, 13],
        [16, 18]])`},
		{"wrapped row", FromSlice(fmtSevenths(30)), `tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,
        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,
        2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,
        3.8571, 4.0000, 4.1429])`},
		{"wrapped ints", Arange(100000, 140000, 1000), `tensor([100000, 101000, 102000, 103000, 104000, 105000, 106000, 107000, 108000,
        109000, 110000, 111000, 112000, 113000, 114000, 115000, 116000, 117000,
        118000, 119000, 120000, 121000, 122000, 123000, 124000, 125000, 126000,
        127000, 128000, 129000, 130000, 131000, 132000, 133000, 134000, 135000,
        136000, 137000, 138000, 139000])`},
		{"dtype suffix on its own line", FromSlice([]float64{10.25, 11.5, 12.75, 13.125, 14.0625, 15.5, 16.25, 17.75}), `tensor([10.2500, 11.5000, 12.7500, 13.1250, 14.0625, 15.5000, 16.2500, 17.7500],
       dtype=torch.float64)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.t.String(); got != tc.want {
				t.Errorf("String():\n%s\nwant:\n%s", got, tc.want)
			}
			if got := fmt.Sprint(tc.t); got != tc.want {
				t.Errorf("Sprint:\n%s\nwant:\n%s", got, tc.want)
			}
			if got := fmt.Sprintf("%v", tc.t); got != tc.want {
				t.Errorf("%%v:\n%s\nwant:\n%s", got, tc.want)
			}
			if got := fmt.Sprintf("%s", tc.t); got != tc.want {
				t.Errorf("%%s:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestFormatVerbs(t *testing.T) {
	m := FromSlice([]float32{1, 2.5, 3, 4}, 2, 2)
	s := FromSlice([]float32{1e-5, 1, 123.456})
	tests := []struct {
		format string
		arg    any
		want   string
	}{
		// torch.set_printoptions(precision=2, sci_mode=False)
		{"%.2f", m, "tensor([[1.00, 2.50],\n        [3.00, 4.00]])"},
		{"%.2f", s, "tensor([    0.00,     1.00,   123.46])"},
		{"%.2f", FromSlice([]int{1, 2, 3}), "tensor([1, 2, 3])"},
		// torch.set_printoptions(precision=2)
		{"%.2v", s, "tensor([1.00e-05, 1.00e+00, 1.23e+02])"},
		{"%.2v", m, "tensor([[1.00, 2.50],\n        [3.00, 4.00]])"},
		{"%.2s", m, "tensor([[1.00, 2.50],\n        [3.00, 4.00]])"},
		// torch.set_printoptions(precision=0)
		{"%.0v", FromSlice([]float32{1.5, 2.25}), "tensor([2, 2])"},
		// torch.set_printoptions(sci_mode=True)
		{"%e", m, "tensor([[1.0000e+00, 2.5000e+00],\n        [3.0000e+00, 4.0000e+00]])"},
		{"%E", m, "tensor([[1.0000E+00, 2.5000E+00],\n        [3.0000E+00, 4.0000E+00]])"},
		// torch.set_printoptions(sci_mode=False)
		{"%f", s, "tensor([    0.0000,     1.0000,   123.4560])"},
		// torch.set_printoptions(precision=6, sci_mode=True)
		{"%.6e", FromSlice([]float64{1.5, 0.25, 2}), "tensor([1.500000e+00, 2.500000e-01, 2.000000e+00], dtype=torch.float64)"},
		// A forced notation has no effect without a finite nonzero value.
		{"%e", Zeros([]int{2}), "tensor([0., 0.])"},
		{"%g", s, "tensor([1.0000e-05, 1.0000e+00, 1.2346e+02])"},
		{"%d", FromSlice([]int{1, 2, 3}), "tensor([1, 2, 3])"},
		{"%q", FromSlice([]float32{1, 2}, 2, 1), `"tensor([[1.],\n        [2.]])"`},
		{"%x", FromSlice([]float32{1, 2}), "%!x(*tensor.Tensor=tensor([1., 2.]))"},
		{"%+v", FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3).T(),
			"shape=[3 2] dtype=float32 device=cpu strides=[1 3] offset=0\n" +
				"tensor([[1., 4.],\n        [2., 5.],\n        [3., 6.]])"},
		{"%+v", Arange(0, 10, 1).Narrow(0, 4, 3),
			"shape=[3] dtype=int64 device=cpu strides=[1] offset=4\ntensor([4, 5, 6])"},
		{"%v", []*Tensor{Scalar(1), Scalar(2.5)}, "[tensor(1.) tensor(2.5000)]"},
		{"%v", (*Tensor)(nil), "<nil>"},
		{"%s", (*Tensor)(nil), "<nil>"},
	}
	for _, tc := range tests {
		if got := fmt.Sprintf(tc.format, tc.arg); got != tc.want {
			t.Errorf("Sprintf(%q):\n%s\nwant:\n%s", tc.format, got, tc.want)
		}
	}
	if got := fmt.Sprint((*Tensor)(nil)); got != "<nil>" {
		t.Errorf("Sprint(nil) = %q", got)
	}
	if got := (*Tensor)(nil).String(); got != "<nil>" {
		t.Errorf("nil String() = %q", got)
	}
}

// TestFormatThreshold checks that summarising starts above 1000 elements,
// as in torch.
func TestFormatThreshold(t *testing.T) {
	full := Arange(0, 1000, 1).String()
	if strings.Contains(full, "...") || !strings.HasSuffix(full, "998, 999])") {
		t.Errorf("1000 elements were summarised:\n%s", full)
	}
	if n := strings.Count(full, "\n"); n != 71 {
		t.Errorf("1000 elements print on %d lines, torch prints 72", n+1)
	}
	if got, want := Arange(0, 1001, 1).String(), "tensor([   0,    1,    2,  ...,  998,  999, 1000])"; got != want {
		t.Errorf("1001 elements:\n%s\nwant:\n%s", got, want)
	}
}

// fmtDeviceBackend is the CPU backend claiming to be another device, to test
// the device suffix, and counting the elements read back to the host.
type fmtDeviceBackend struct {
	backend.Backend
	dev  Device
	read *int
}

func (b fmtDeviceBackend) Device() Device { return b.dev }

func (b fmtDeviceBackend) Read(buf backend.Buffer, off int, dst any) error {
	*b.read += reflect.ValueOf(dst).Len()
	return b.Backend.Read(buf, off, dst)
}

// fmtOnDevice returns a view of t whose backend reports dev.
func fmtOnDevice(t *Tensor, dev Device, read *int) *Tensor {
	u := t.view(t.shape, t.strides, t.offset)
	u.be = fmtDeviceBackend{Backend: t.be, dev: dev, read: read}
	return u
}

func TestFormatDevice(t *testing.T) {
	var n int
	tests := []struct {
		t    *Tensor
		want string
	}{
		// What torch prints for the same tensors on device="cuda:0".
		{fmtOnDevice(FromSlice([]float32{1.5, 2}), CUDA(0), &n), "tensor([1.5000, 2.0000], device='cuda:0')"},
		{fmtOnDevice(FromSlice([]float64{1, 2}), CUDA(1), &n), "tensor([1., 2.], device='cuda:1', dtype=torch.float64)"},
		{fmtOnDevice(Zeros([]int{0, 3}), CUDA(0), &n), "tensor([], device='cuda:0', size=(0, 3))"},
		{fmtOnDevice(Zeros([]int{0}, WithDType(Int32)), CUDA(0), &n), "tensor([], device='cuda:0', dtype=torch.int32)"},
		{fmtOnDevice(FromSlice([]float64{10.25, 11.5, 12.75, 13.125, 14.0625, 15.5, 16.25, 17.75}), CUDA(0), &n),
			"tensor([10.2500, 11.5000, 12.7500, 13.1250, 14.0625, 15.5000, 16.2500, 17.7500],\n" +
				"       device='cuda:0', dtype=torch.float64)"},
		{fmtOnDevice(FromSlice([]float64{10.25, 11.5, 12.75, 13.125, 14.0625, 15.5, 16.25}), CUDA(0), &n),
			"tensor([10.2500, 11.5000, 12.7500, 13.1250, 14.0625, 15.5000, 16.2500],\n" +
				"       device='cuda:0', dtype=torch.float64)"},
	}
	for _, tc := range tests {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
		}
	}
}

// TestFormatReadsOnlyShownElements checks that a summarised tensor copies
// to the host only the elements it shows, not the whole tensor.
func TestFormatReadsOnlyShownElements(t *testing.T) {
	var n int
	x := fmtOnDevice(Zeros([]int{1000, 1000}), CPU, &n)
	want := "tensor([[0., 0., 0.,  ..., 0., 0., 0.],\n" +
		"        [0., 0., 0.,  ..., 0., 0., 0.],\n" +
		"        [0., 0., 0.,  ..., 0., 0., 0.],\n" +
		"        ...,\n" +
		"        [0., 0., 0.,  ..., 0., 0., 0.],\n" +
		"        [0., 0., 0.,  ..., 0., 0., 0.],\n" +
		"        [0., 0., 0.,  ..., 0., 0., 0.]])"
	if got := x.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if n != 36 {
		t.Errorf("printing a summarised 1000x1000 tensor read %d elements, want 36", n)
	}
}
