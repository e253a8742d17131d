package activation

import (
	"fmt"

	"github.com/opencontainers/selinux/go-selinux"
)

// setExecLabel sets the label the entrypoint gets at exec, on the calling
// thread (the one that execs).
func setExecLabel(processLabel string) error {
	if processLabel == "" {
		return nil
	}
	if err := selinux.SetExecLabel(processLabel); err != nil {
		return fmt.Errorf("set SELinux exec label %s: %w", processLabel, err)
	}
	return nil
}
