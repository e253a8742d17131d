package main

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
)

// verdict is what an attempt proved.
type verdict string

const (
	blocked verdict = "blocked" // refused by a permission check
	allowed verdict = "allowed" // done, or refused only after the permission check
	absent  verdict = "absent"  // the kernel has no such file or syscall
	failed  verdict = "error"   // the probe could not tell
)

// outcome is a verdict with what the kernel said.
type outcome struct {
	verdict verdict
	detail  string
}

func blockedBy(format string, args ...any) outcome {
	return outcome{blocked, fmt.Sprintf(format, args...)}
}

func allowedBy(format string, args ...any) outcome {
	return outcome{allowed, fmt.Sprintf(format, args...)}
}

func failure(format string, args ...any) outcome {
	return outcome{failed, fmt.Sprintf(format, args...)}
}

// errnoName names an error by its errno ("EPERM"), or prints it.
func errnoName(err error) string {
	var e unix.Errno
	if errors.As(err, &e) {
		if name := unix.ErrnoName(e); name != "" {
			return name
		}
		return fmt.Sprintf("errno %d", int(e))
	}
	return err.Error()
}

// classify turns the result of a syscall into a verdict:
//
//   - success: allowed;
//   - EPERM or EACCES: blocked, by seccomp, a missing capability or the
//     kernel's own policy (a sysctl, lockdown);
//   - ENOSYS: absent: the syscall did not run (the kernel lacks it);
//   - an errno in past: allowed, because the kernel returns it only once
//     the permission check has passed (the arguments are deliberately
//     bad, so that success would be harmless);
//   - anything else: the probe cannot tell.
func classify(what string, err error, past ...unix.Errno) outcome {
	if err == nil {
		return allowedBy("%s: succeeded", what)
	}
	var e unix.Errno
	if !errors.As(err, &e) {
		return failure("%s: %v", what, err)
	}
	switch {
	case e == unix.EPERM || e == unix.EACCES:
		return blockedBy("%s: %s", what, errnoName(e))
	case e == unix.ENOSYS:
		return outcome{absent, fmt.Sprintf("%s: ENOSYS (not run: no such syscall in this kernel)", what)}
	case slices.Contains(past, e):
		return allowedBy("%s: %s, which the kernel returns only after its permission check", what, errnoName(e))
	}
	return failure("%s: unexpected %s", what, errnoName(e))
}

// syscallErr turns the errno of a raw syscall into an error (nil for 0).
func syscallErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
