//go:build !cgo || stage

package activation

import (
	"errors"
	"os"
	"os/exec"
)

// spawnAvailable is false where the C part of the thread start is not
// built (the cgo-free stage binary); Start then uses the setup stage.
const spawnAvailable = false

func spawnChild(*Config, [3]*os.File, []*os.File, mountOptions, []string, []string, User, int, string, []string, bool, *usernsBuild) (int, *os.File, *os.File, func(), error) {
	return 0, nil, nil, nil, errors.New("this binary starts containers through the setup stage only")
}

func userNamespaceHelper(*IDMapping, uintptr, func(int) error) error {
	return errors.New("this binary cannot create user namespaces (built without cgo)")
}

// trampolineAvailable is false: this binary has no exec trampoline (the
// C constructor of exec_userns_linux.go).
const trampolineAvailable = false

func trampolineCommand(*exec.Cmd, *os.File, *os.File, *Config, User) error {
	return errors.New("this binary cannot exec into a container with a user namespace (built without cgo)")
}
