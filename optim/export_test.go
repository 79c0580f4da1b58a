package optim

// NoFusedAdam lets the external tests force Adam's composite update.
var NoFusedAdam = &noFusedAdam
