package bot

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/karmagate/karmagate/worker"
)

func TestSender(t *testing.T) {
	ctx := context.Background()
	t.Run("a flood wait holds up its chat only", func(t *testing.T) {
		s := NewSender(Limits{Global: 1000, PerPrivate: 1000, MaxWait: 50 * time.Millisecond})
		until := s.flood(1, 10*time.Second)
		err := s.wait(ctx, 1, callMessage)
		var retry *worker.RetryError
		if !errors.As(err, &retry) || !retry.At.Equal(until) || !errors.Is(err, ErrFlood) {
			t.Fatalf("chat 1 in a flood wait: %v, want a retry at %s", err, until)
		}
		start := time.Now()
		if err := s.wait(ctx, 2, callMessage); err != nil {
			t.Fatalf("chat 2: %v", err)
		}
		if d := time.Since(start); d > 20*time.Millisecond {
			t.Errorf("chat 2 waited %s for chat 1's flood wait", d)
		}
	})
	t.Run("a short wait is waited, a long one handed back", func(t *testing.T) {
		s := NewSender(Limits{Global: 1000, PerPrivate: rate.Every(100 * time.Millisecond), MaxWait: 150 * time.Millisecond})
		for i := range 2 { // the first goes at once, the second after ~100 ms
			if err := s.wait(ctx, 7, callMessage); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
		}
		s2 := NewSender(Limits{Global: 1000, PerPrivate: rate.Every(time.Second), MaxWait: 150 * time.Millisecond})
		if err := s2.wait(ctx, 7, callMessage); err != nil {
			t.Fatal(err)
		}
		var retry *worker.RetryError
		if err := s2.wait(ctx, 7, callMessage); !errors.As(err, &retry) {
			t.Fatalf("a second message within the second: %v, want it handed back", err)
		} else if d := time.Until(retry.At); d < 700*time.Millisecond || d > time.Second {
			t.Errorf("handed back until %s from now, want about 1 s", d)
		}
		// Handed back, the turn was not taken: the chat's next message may
		// go when the first's second has passed.
		time.Sleep(time.Until(retry.At))
		if err := s2.wait(ctx, 7, callMessage); err != nil {
			t.Errorf("after the wait: %v", err)
		}
	})
	t.Run("calls other than messages are not paced", func(t *testing.T) {
		s := NewSender(Limits{Global: 1, PerPrivate: 1, MaxWait: time.Millisecond})
		for range 5 {
			if err := s.wait(ctx, 9, callOther); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("a cancelled wait gives its turn back", func(t *testing.T) {
		s := NewSender(Limits{Global: 1000, PerPrivate: rate.Every(100 * time.Millisecond), MaxWait: time.Second})
		if err := s.wait(ctx, 3, callMessage); err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		defer cancel()
		if err := s.wait(cctx, 3, callMessage); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cancelled: %v", err)
		}
	})
}
