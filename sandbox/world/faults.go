package world

import (
	"math/rand"
	"sync"
)

// Fault kinds.
const (
	FaultServerError = "5xx"     // answer 500 / INTERNAL
	FaultTimeout     = "timeout" // never answer; the client gives up
	FaultDrop        = "drop"    // drop the connection
	FaultTooMany     = "429"     // a spurious 429 / FLOOD_WAIT
	// FaultDuplicate delivers a webhook update twice, as Telegram does when
	// an answer is lost. Only drawn when named in Kinds.
	FaultDuplicate = "duplicate"
)

// Faults make a share of calls fail on purpose, reproducibly.
type Faults struct {
	// Rate is the share of calls that fail, 0 to 1.
	Rate float64 `json:"rate"`
	// Seed seeds the draw; the same seed and call order give the same faults.
	Seed int64 `json:"seed"`
	// Kinds to draw from; empty means "5xx", "timeout", "drop" and "429"
	// ("duplicate" only when named).
	Kinds []string `json:"kinds"`
}

type faults struct {
	mu  sync.Mutex
	cfg Faults
	rng *rand.Rand
}

func (f *faults) init() { f.rng = rand.New(rand.NewSource(0)) }

// SetFaults turns faults on (Rate > 0) or off (Rate 0), restarting the draw
// from Seed.
func (w *World) SetFaults(cfg Faults) {
	f := &w.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = []string{FaultServerError, FaultTimeout, FaultDrop, FaultTooMany}
	}
	cfg.Rate = min(max(cfg.Rate, 0), 1)
	f.cfg = cfg
	f.rng = rand.New(rand.NewSource(cfg.Seed))
}

// FaultConfig is the fault setting in force.
func (w *World) FaultConfig() Faults {
	f := &w.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

// Fault draws whether the next call fails and how: "" for no fault, else
// one of the configured kinds. Draws are deterministic under the seed.
func (w *World) Fault() string {
	f := &w.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cfg.Rate <= 0 {
		return ""
	}
	hit := f.rng.Float64() < f.cfg.Rate
	kind := f.cfg.Kinds[f.rng.Intn(len(f.cfg.Kinds))]
	if !hit {
		return ""
	}
	return kind
}
