//go:build linux && !amd64 && !arm64

package confine

import (
	"errors"

	"golang.org/x/sys/unix"
)

// The forwarder's filter is written for amd64 and arm64 only: elsewhere
// the forwarder does not start, rather than run unfiltered.

func forwarderFilter(int) ([]unix.SockFilter, error) {
	return nil, errors.New("the forwarder's seccomp filter is not written for this architecture")
}

func loadFilter([]unix.SockFilter) error { return errors.ErrUnsupported }
