// Package unitwatch tells a client of systemd's D-Bus API when a unit's
// properties change, so that it can wait for a state (a container's end,
// its READY=1) on systemd's signals instead of polling.
package unitwatch

import (
	sd "github.com/coreos/go-systemd/v22/dbus"
)

// Changes subscribes conn to systemd's signals and returns a channel that
// receives a value after each change of unit's properties; several
// changes may come as one. Subscribe before the change can happen (before
// starting the unit). go-systemd drops signals for a reader that falls
// behind, so a waiter still re-reads the state now and then; nil means
// the subscription failed and the caller must poll.
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
