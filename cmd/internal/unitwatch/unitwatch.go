// Package unitwatch tells a client of systemd's D-Bus API when a unit's
// properties change, so that it can wait for a state (a container's end,
// its READY=1, its init's pid) on systemd's signals instead of polling.
// It is the one wait-for-a-unit loop of the CLI and the shim.
package unitwatch

import (
	"context"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
)

// Polls for a signal go-systemd dropped (it does not wait for a reader
// that falls behind), and for when subscribing failed.
const (
	safetyPoll   = time.Second
	fallbackPoll = 20 * time.Millisecond
)

// Watch is a subscription to the changes of one unit's properties.
type Watch struct {
	changes <-chan struct{}
	safety  time.Duration // safetyPoll; tests make it longer
}

// New subscribes conn to systemd's signals for unit. Subscribe before the
// change can happen (before starting the unit), so that none is missed.
func New(conn *sd.Conn, unit string) *Watch {
	return &Watch{changes: Changes(conn, unit)}
}

// Until calls check now and after each change of the unit's properties
// until it reports done or an error, or ctx ends (whose error it returns).
func (w *Watch) Until(ctx context.Context, check func() (done bool, err error)) error {
	poll := safetyPoll
	if w.safety != 0 {
		poll = w.safety
	}
	if w.changes == nil {
		poll = fallbackPoll
	}
	timer := time.NewTimer(poll)
	defer timer.Stop()
	for {
		done, err := check()
		if done || err != nil {
			return err
		}
		timer.Reset(poll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.changes:
		case <-timer.C:
		}
	}
}

// Changes subscribes conn to systemd's signals and returns a channel that
// receives a value after each change of unit's properties; several
// changes may come as one. nil means the subscription failed and the
// caller must poll.
func Changes(conn *sd.Conn, unit string) <-chan struct{} {
	updates := make(chan *sd.PropertiesUpdate, 256)
	conn.SetPropertiesSubscriber(updates, make(chan error, 1))
	if err := conn.Subscribe(); err != nil {
		return nil
	}
	changes := make(chan struct{}, 1)
	go func() {
		for u := range updates {
			if u.UnitName != unit {
				continue
			}
			select {
			case changes <- struct{}{}:
			default: // one pending wake-up is enough
			}
		}
	}()
	return changes
}
