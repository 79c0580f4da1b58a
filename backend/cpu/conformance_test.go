package cpu_test

import (
	"testing"

	"github.com/tessera-ml/tessera/backend/backendtest"
	"github.com/tessera-ml/tessera/backend/cpu"
)

// TestConformance runs the backend conformance suite, which the CUDA
// backend runs too.
func TestConformance(t *testing.T) { backendtest.Run(t, cpu.Default) }
