// Package optim holds Tessera's optimizers (SGD, Adam, AdamW, RMSprop,
// Adagrad), learning-rate schedulers and gradient clipping. Each follows
// PyTorch 1.13's update equations and order of operations (the single-tensor
// implementations in torch/optim), and the tests replay torch's own
// trajectories (testdata/optim_fixtures.json).
//
// # Optimizers
//
// An optimizer is built on a parameter list with options; unset options
// take torch's defaults, and an option the optimizer does not use panics
// with a *tensor.Error (ValueError), so it is never silently ignored:
//
//	opt := optim.NewSGD(nn.Parameters(model), optim.WithLR(0.1), optim.WithMomentum(0.9))
//	for batch := range batches {
//		opt.ZeroGrad()
//		loss := lossFn(model, batch)
//		loss.Backward()
//		opt.Step()
//	}
//
// Step updates p.Data in place with tensor ops, which record no graph;
// parameters without a gradient are skipped and keep their state. Each
// optimizer's whole update of one parameter is one function (sgdUpdate,
// adamUpdate, ...), the single place where a fused kernel can replace the
// composed tensor ops. ZeroGrad drops the gradients (torch's
// set_to_none=True).
//
// # Parameter groups
//
// Parameters that need other hyperparameters go in their own group. Group
// takes the same options as the optimizer, which override the optimizer's
// values for that group only — zero and false included:
//
//	opt := optim.NewAdamW([]optim.ParamGroup{
//		optim.Group(weights),
//		optim.Group(biasesAndNorms, optim.WithWeightDecay(0)),
//		optim.Group(head, optim.WithLR(1e-3)),
//	}, optim.WithLR(3e-4), optim.WithWeightDecay(0.05))
//
// A group's hyperparameters are thus torch's defaults, then the
// optimizer's options, then the non-zero fields of a ParamGroup literal's
// Hyper (if it was written as a literal), then the group's options.
// ParamGroups returns the live groups: their Hyper fields (LR, Momentum,
// Betas, ...) may be changed between steps, which is how schedulers work.
// AddParamGroup adds a group later. A parameter may appear in only one
// group, and must be a floating-point leaf.
//
// # State and resuming
//
// StateDict returns a deep copy of an optimizer's state in torch's layout:
// per-parameter state (a step count and tensors named as in torch:
// momentum_buffer, exp_avg, exp_avg_sq, max_exp_avg_sq, square_avg,
// grad_avg, sum) keyed by the parameter's index counting through the groups
// in order, and each group's hyperparameters with its parameters' indices.
// LoadStateDict restores it into an optimizer of the same kind whose groups
// have the same sizes, converting tensors to each parameter's dtype and
// device. SaveState and LoadState write and read a State, optionally with
// a scheduler's state beside it, in a small self-contained file format
// (a safetensors-like layout: a JSON header and raw little-endian tensor
// data, described at WriteState) that round-trips every number exactly, so a run
// resumed from a checkpoint continues bit for bit:
//
//	st := opt.StateDict()
//	ss := sched.StateDict()
//	st.Scheduler = &ss
//	err := optim.SaveState("ckpt.optim", st)
//	...
//	// later: build the model, optimizer and scheduler as before, then
//	st, err := optim.LoadState("ckpt.optim")
//	err = opt.LoadStateDict(st)
//	err = sched.LoadStateDict(*st.Scheduler)
//
// # Schedulers
//
// StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR,
// CosineAnnealingLR, LambdaLR and OneCycleLR implement Scheduler: Step once
// per epoch (OneCycleLR: per batch) after the optimizer's Step; LastLR gives
// the rates set. They set the groups' LR (OneCycleLR also the momentum or
// beta1) and, like torch's, compute each step from the current rates, so
// they compose: SequentialLR runs schedulers one after another
// (warm-up, then cosine) and ChainedScheduler steps several together.
// ReduceLROnPlateau is stepped with a metric (Step(loss)). The first
// scheduler attached to an optimizer records each group's starting rate in
// Hyper.InitialLR (torch's initial_lr), where SequentialLR and later
// schedulers find it. Scheduler state holds progress only; build the
// scheduler with the same arguments before loading it.
//
// # Gradient clipping
//
// ClipGradNorm scales gradients so that their global norm is at most a
// bound (torch.nn.utils.clip_grad_norm_), ClipGradValue clamps them
// elementwise, and GradNorm measures them; all work in place.
//
// # Differences from PyTorch 1.13
//
//   - Invalid arguments panic with a *tensor.Error of kind ValueError
//     (tensor.Try turns it into an error) where torch raises ValueError;
//     stepping OneCycleLR past its total steps panics likewise.
//   - A parameter listed twice, even within one group, panics (torch warns).
//   - Adagrad fills a parameter's sum with its group's
//     initial_accumulator_value; torch uses the constructor's for every
//     group.
//   - Hyper.InitialLR of zero means "not set yet", so a group whose first
//     scheduler finds a learning rate of zero gets it set again by the
//     next scheduler.
//   - ClipGradNorm computes the norm in float64 (torch in the gradients'
//     dtype) and skips the multiplication when the coefficient is 1.
package optim
