package nn

import (
	"strconv"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// TransformerEncoderLayerConfig holds a TransformerEncoderLayer's
// hyperparameters besides d_model and nhead. Zero fields take torch's
// defaults, except Dropout, whose zero is no dropout (torch's default is
// 0.1): start from DefaultTransformerEncoderLayerConfig for all of torch's
// defaults.
type TransformerEncoderLayerConfig struct {
	DimFeedforward int     // the feed-forward block's hidden width; 2048 when 0
	Dropout        float64 // after attention, inside and after the feed-forward block, and on the attention weights
	Activation     string  // of the feed-forward block: "relu" (the default when "") or "gelu"
	LayerNormEps   float64 // 1e-5 when 0
	NormFirst      bool    // pre-norm: x + f(norm(x)) instead of norm(x + f(x))
}

// DefaultTransformerEncoderLayerConfig returns torch's defaults:
// dim_feedforward 2048, dropout 0.1, ReLU, eps 1e-5, post-norm.
func DefaultTransformerEncoderLayerConfig() TransformerEncoderLayerConfig {
	return TransformerEncoderLayerConfig{DimFeedforward: 2048, Dropout: 0.1, Activation: "relu", LayerNormEps: 1e-5}
}

// TransformerEncoderLayer is torch.nn.TransformerEncoderLayer with
// batch_first=True: self-attention then a feed-forward block, each with a
// residual connection and a LayerNorm. Post-norm (torch's default):
//
//	x = Norm1(x + Dropout1(SelfAttn(x)))
//	x = Norm2(x + Dropout2(Linear2(Dropout(act(Linear1(x))))))
//
// Pre-norm (NormFirst):
//
//	x = x + Dropout1(SelfAttn(Norm1(x)))
//	x = x + Dropout2(Linear2(Dropout(act(Linear1(Norm2(x))))))
//
// Submodules have torch's names (self_attn, linear1, dropout, linear2,
// norm1, norm2, dropout1, dropout2), so state dicts move both ways.
type TransformerEncoderLayer struct {
	Base
	SelfAttn     *MultiheadAttention
	Linear1      *Linear // d_model → dim_feedforward
	Dropout      *Dropout
	Linear2      *Linear // dim_feedforward → d_model
	Norm1, Norm2 *LayerNorm
	Dropout1     *Dropout
	Dropout2     *Dropout
	Activation   string // "relu" or "gelu"
	NormFirst    bool
}

// NewTransformerEncoderLayer makes an encoder layer of width dModel with
// nhead attention heads. Parameters are initialised as torch does (each
// submodule its own way). Options: WithoutBias (no bias in the linear
// layers, the attention and the LayerNorms: torch's bias=False),
// WithGenerator (initialisation and dropout masks), WithDType, WithDevice.
func NewTransformerEncoderLayer(dModel, nhead int, cfg TransformerEncoderLayerConfig, opts ...Option) *TransformerEncoderLayer {
	const op = "nn.NewTransformerEncoderLayer"
	c := layerOptions(op, opts, "WithoutBias", "WithGenerator", "WithDType", "WithDevice")
	if cfg.DimFeedforward == 0 {
		cfg.DimFeedforward = 2048
	}
	if cfg.LayerNormEps == 0 {
		cfg.LayerNormEps = 1e-5
	}
	if cfg.Activation == "" {
		cfg.Activation = "relu"
	}
	if cfg.Activation != "relu" && cfg.Activation != "gelu" {
		attnFail(tensor.ValueError, op, nil, "activation must be \"relu\" or \"gelu\", not %q", cfg.Activation)
	}
	if cfg.DimFeedforward < 0 {
		attnFail(tensor.ValueError, op, nil, "negative dim_feedforward %d", cfg.DimFeedforward)
	}
	base := []Option{WithGenerator(c.gen), WithDType(c.dtype), WithDevice(c.device)}
	withBias := base
	if !c.bias {
		withBias = append(append([]Option{}, base...), WithoutBias())
	}
	normOpts := []Option{WithEps(cfg.LayerNormEps), WithDType(c.dtype), WithDevice(c.device)}
	if !c.bias {
		normOpts = append(normOpts, WithoutBias())
	}
	gen := []Option{WithGenerator(c.gen)}
	return &TransformerEncoderLayer{
		SelfAttn:   NewMultiheadAttention(dModel, nhead, cfg.Dropout, withBias...),
		Linear1:    NewLinear(dModel, cfg.DimFeedforward, withBias...),
		Dropout:    NewDropout(cfg.Dropout, gen...),
		Linear2:    NewLinear(cfg.DimFeedforward, dModel, withBias...),
		Norm1:      NewLayerNorm([]int{dModel}, normOpts...),
		Norm2:      NewLayerNorm([]int{dModel}, normOpts...),
		Dropout1:   NewDropout(cfg.Dropout, gen...),
		Dropout2:   NewDropout(cfg.Dropout, gen...),
		Activation: cfg.Activation,
		NormFirst:  cfg.NormFirst,
	}
}

// Members implements Module, with torch's submodule names.
func (l *TransformerEncoderLayer) Members() Members {
	return Members{Children: []Named[Module]{
		C("self_attn", l.SelfAttn), C("linear1", l.Linear1), C("dropout", l.Dropout), C("linear2", l.Linear2),
		C("norm1", l.Norm1), C("norm2", l.Norm2), C("dropout1", l.Dropout1), C("dropout2", l.Dropout2),
	}}
}

// Forward runs the layer on src [N, L, d_model] (or [L, d_model]) and
// returns the same shape. srcMask ([L, L] or [N·nhead, L, L]) and
// srcKeyPaddingMask ([N, L]) follow torch's conventions: Bool true means
// not allowed (a padding key), floating point is added to the attention
// scores; either may be nil. isCausal masks out later positions (see
// MHAOptions.IsCausal).
func (l *TransformerEncoderLayer) Forward(src *autograd.Var, srcMask, srcKeyPaddingMask *tensor.Tensor, isCausal bool) *autograd.Var {
	sa := func(x *autograd.Var) *autograd.Var {
		y, _ := l.SelfAttn.Forward(x, x, x, MHAOptions{AttnMask: srcMask, KeyPaddingMask: srcKeyPaddingMask, IsCausal: isCausal})
		return l.Dropout1.Forward(y)
	}
	ff := func(x *autograd.Var) *autograd.Var {
		h := l.Linear1.Forward(x)
		switch l.Activation {
		case "gelu":
			h = h.GELU()
		case "relu", "":
			h = h.ReLU()
		default:
			attnFail(tensor.ValueError, "nn.TransformerEncoderLayer", nil, "activation must be \"relu\" or \"gelu\", not %q", l.Activation)
		}
		return l.Dropout2.Forward(l.Linear2.Forward(l.Dropout.Forward(h)))
	}
	x := src
	if l.NormFirst {
		x = x.Add(sa(l.Norm1.Forward(x)))
		x = x.Add(ff(l.Norm2.Forward(x)))
	} else {
		x = l.Norm1.Forward(x.Add(sa(x)))
		x = l.Norm2.Forward(x.Add(ff(x)))
	}
	return l.RunHooks(l, src, x)
}

// TransformerEncoder is torch.nn.TransformerEncoder: a stack of encoder
// layers ("layers.0", "layers.1", ...) and an optional final LayerNorm
// ("norm"; used with pre-norm layers).
//
// torch builds its stack by deep-copying one layer, so that every layer
// starts with the same weights; here the caller passes the layers, each
// initialised on its own (load a state dict for torch's exact start).
type TransformerEncoder struct {
	Base
	Layers []*TransformerEncoderLayer
	Norm   *LayerNorm // nil for none
}

// NewTransformerEncoder stacks layers, then norm (which may be nil).
func NewTransformerEncoder(layers []*TransformerEncoderLayer, norm *LayerNorm) *TransformerEncoder {
	return &TransformerEncoder{Layers: layers, Norm: norm}
}

// transformerLayerList names the encoder's layers "0", "1", ... under
// "layers", as torch's ModuleList does.
type transformerLayerList []*TransformerEncoderLayer

func (ls transformerLayerList) Members() Members {
	var m Members
	for i, l := range ls {
		m.Children = append(m.Children, C(strconv.Itoa(i), l))
	}
	return m
}

// Members implements Module: "layers" and, when present, "norm".
func (e *TransformerEncoder) Members() Members {
	m := Members{Children: []Named[Module]{C("layers", transformerLayerList(e.Layers))}}
	if e.Norm != nil {
		m.Children = append(m.Children, C("norm", e.Norm))
	}
	return m
}

// Forward runs every layer in turn with the same masks (see
// TransformerEncoderLayer.Forward), then the final norm.
func (e *TransformerEncoder) Forward(src *autograd.Var, mask, srcKeyPaddingMask *tensor.Tensor, isCausal bool) *autograd.Var {
	x := src
	for _, l := range e.Layers {
		x = l.Forward(x, mask, srcKeyPaddingMask, isCausal)
	}
	if e.Norm != nil {
		x = e.Norm.Forward(x)
	}
	return e.RunHooks(e, src, x)
}
