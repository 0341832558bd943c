package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

type pruneStore struct {
	calls chan models.Retention
	err   error
}

func (s *pruneStore) Prune(ctx context.Context, r models.Retention) (models.Pruned, error) {
	s.calls <- r
	return models.Pruned{Events: 1}, s.err
}

// TestPruner_Run: the pruner prunes on start and then every period, with
// the configured retention (the default when none), until its context ends.
func TestPruner_Run(t *testing.T) {
	st := &pruneStore{calls: make(chan models.Retention, 10), err: errors.New("database gone")}
	p := worker.NewPruner(worker.PruneOptions{Store: st, Every: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for i := range 3 {
		select {
		case r := <-st.calls:
			if r != models.DefaultRetention() {
				t.Errorf("prune %d with %v, want the default retention", i, r)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("prune %d never ran", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
