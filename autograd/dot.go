package autograd

import (
	"fmt"
	"io"
	"strings"
)

// WriteDOT writes the graph that produced roots in Graphviz DOT format: one
// box per op, one ellipse per leaf (filled when it requires a gradient),
// each labelled with its shape and dtype. Render it with `dot -Tsvg`.
func WriteDOT(w io.Writer, roots ...*Var) error {
	var b strings.Builder
	b.WriteString("digraph autograd {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n")
	ids := map[*Var]int{}
	var order []*Var
	stack := append([]*Var(nil), roots...)
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := ids[v]; ok {
			continue
		}
		ids[v] = len(ids)
		order = append(order, v)
		if v.node != nil {
			stack = append(stack, v.node.inputs...)
		}
	}
	for _, v := range order {
		id := ids[v]
		shape := strings.ReplaceAll(fmt.Sprint(v.Shape()), " ", "×")
		label := fmt.Sprintf("%s %v", shape, v.DType())
		if name := v.Name(); name != "" {
			label = name + "\\n" + label
		}
		switch {
		case v.node != nil:
			fmt.Fprintf(&b, "  n%d [shape=box, label=\"%s\\n%s\"];\n", id, v.node.op.name, label)
		case v.requiresGrad:
			fmt.Fprintf(&b, "  n%d [shape=ellipse, style=filled, fillcolor=lightblue, label=\"%s\\nrequires grad\"];\n", id, label)
		default:
			fmt.Fprintf(&b, "  n%d [shape=ellipse, label=\"%s\"];\n", id, label)
		}
	}
	for _, v := range order {
		if v.node == nil {
			continue
		}
		for _, x := range v.node.inputs {
			fmt.Fprintf(&b, "  n%d -> n%d;\n", ids[x], ids[v])
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
