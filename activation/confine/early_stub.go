//go:build !cgo

package confine

// Without cgo there is no constructor: the steps that must cover every
// thread cannot be taken, and Shim and Forwarder refuse to go on.
func earlyShim() error      { return errNotEarly }
func earlyForwarder() error { return errNotEarly }
