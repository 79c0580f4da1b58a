package nn_test

import (
	"fmt"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/tensor"
)

// seqMaxDiff is the largest |a − b| (for the examples' printouts).
func seqMaxDiff(a, b *tensor.Tensor) string {
	return fmt.Sprintf("%.4f", a.Sub(b).Abs().Max().Item())
}

func ExampleLSTM() {
	// A batch of N = 2 sequences of L = 5 steps with 3 features each:
	// [N, L, features], batch first.
	x := autograd.Const(tensor.RandN(tensor.NewGenerator(0), []int{2, 5, 3}))

	// Two stacked layers of 4 hidden units.
	lstm := nn.NewLSTM(3, 4, nn.RNNConfig{NumLayers: 2}, nn.WithGenerator(tensor.NewGenerator(1)))

	// nil initial states mean zeros.
	out, hn, cn := lstm.Forward(x, nil, nil)
	fmt.Println("output", out.Shape()) // the top layer's h at every step: [N, L, hidden]
	fmt.Println("h_n   ", hn.Shape())  // every layer's h after the last step: [layers, N, hidden]
	fmt.Println("c_n   ", cn.Shape())  // the same for the cell state

	// The top layer's final state is the output's last step.
	fmt.Println("output[:, L-1] vs h_n[top]:", seqMaxDiff(out.Data.Index(1, 4), hn.Data.Index(0, 1)))

	// Feeding the final states back continues the sequences: three steps,
	// then the remaining two, give what all five steps give.
	_, h3, c3 := lstm.Forward(x.Narrow(1, 0, 3), nil, nil)
	rest, _, _ := lstm.Forward(x.Narrow(1, 3, 2), h3, c3)
	fmt.Println("steps 3-4 resumed vs in one go:", seqMaxDiff(rest.Data, out.Data.Narrow(1, 3, 2)))

	// Output:
	// output [2 5 4]
	// h_n    [2 2 4]
	// c_n    [2 2 4]
	// output[:, L-1] vs h_n[top]: 0.0000
	// steps 3-4 resumed vs in one go: 0.0000
}

func ExampleGRU() {
	x := autograd.Const(tensor.RandN(tensor.NewGenerator(0), []int{2, 5, 3})) // [N, L, features]

	// One bidirectional layer of 4 hidden units per direction.
	gru := nn.NewGRU(3, 4, nn.RNNConfig{Bidirectional: true}, nn.WithGenerator(tensor.NewGenerator(1)))
	out, hn := gru.Forward(x, nil)
	fmt.Println("output", out.Shape()) // [N, L, 2·hidden]: forward features, then reverse
	fmt.Println("h_n   ", hn.Shape())  // [2, N, hidden]: forward, reverse

	// The forward direction ends at step L−1, the reverse one at step 0.
	fwd, rev := out.Data.Narrow(-1, 0, 4), out.Data.Narrow(-1, 4, 4)
	fmt.Println("forward output[:, L-1] vs h_n[0]:", seqMaxDiff(fwd.Index(1, 4), hn.Data.Index(0, 0)))
	fmt.Println("reverse output[:, 0]   vs h_n[1]:", seqMaxDiff(rev.Index(1, 0), hn.Data.Index(0, 1)))

	// The parameters have torch's names, so state dicts load either way.
	for _, p := range nn.NamedParameters(gru) {
		fmt.Println(p.Name, p.Param.Shape())
	}

	// Output:
	// output [2 5 8]
	// h_n    [2 2 4]
	// forward output[:, L-1] vs h_n[0]: 0.0000
	// reverse output[:, 0]   vs h_n[1]: 0.0000
	// weight_ih_l0 [12 3]
	// weight_hh_l0 [12 4]
	// bias_ih_l0 [12]
	// bias_hh_l0 [12]
	// weight_ih_l0_reverse [12 3]
	// weight_hh_l0_reverse [12 4]
	// bias_ih_l0_reverse [12]
	// bias_hh_l0_reverse [12]
}

func ExampleLSTMCell() {
	// A cell is one time step; write the loop yourself when each step's
	// input depends on the previous output (decoding, generation).
	cell := nn.NewLSTMCell(3, 4, nn.WithGenerator(tensor.NewGenerator(1)))
	proj := nn.NewLinear(4, 3, nn.WithGenerator(tensor.NewGenerator(2)))

	x := autograd.Const(tensor.Zeros([]int{2, 3})) // [N, features]: a start token
	var h, c *autograd.Var                         // nil: zero states
	var steps []*autograd.Var
	for range 6 {
		h, c = cell.Forward(x, h, c)
		steps = append(steps, h)
		x = proj.Forward(h) // the next input is this step's prediction
	}
	fmt.Println("h", h.Shape(), "c", c.Shape())
	fmt.Println("decoded", autograd.Stack(steps, 1).Shape()) // [N, steps, hidden]

	// Output:
	// h [2 4] c [2 4]
	// decoded [2 6 4]
}
