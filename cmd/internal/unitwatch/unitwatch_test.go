package unitwatch

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Until re-checks at each change, not at the safety poll.
func TestUntilWakesOnChanges(t *testing.T) {
	changes := make(chan struct{}, 1)
	// With no safety poll to speak of, only the changes can wake it.
	w := &Watch{changes: changes, safety: time.Hour}
	calls := 0
	go func() {
		for range 3 {
			changes <- struct{}{}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := w.Until(ctx, func() (bool, error) {
		calls++
		return calls == 4, nil
	})
	if err != nil || calls != 4 {
		t.Fatalf("Until: %v after %d checks", err, calls)
	}
}

func TestUntilStopsOnErrorAndContext(t *testing.T) {
	w := &Watch{changes: make(chan struct{})}
	boom := errors.New("boom")
	if err := w.Until(context.Background(), func() (bool, error) { return false, boom }); err != boom {
		t.Errorf("a failing check: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := w.Until(ctx, func() (bool, error) { return false, nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("an ended context: %v", err)
	}
	// Without a subscription, it polls.
	polled := &Watch{}
	n := 0
	if err := polled.Until(context.Background(), func() (bool, error) { n++; return n == 3, nil }); err != nil || n != 3 {
		t.Errorf("polling: %v after %d", err, n)
	}
}
