package policy

import "errors"

// ErrNotSupported reports that the host lacks what a policy needs: SELinux
// is disabled, or a kernel feature is missing. Callers branch on it with
// errors.Is and carry on without that layer, saying so once.
var ErrNotSupported = errors.New("not supported on this host")
