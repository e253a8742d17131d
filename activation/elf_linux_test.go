package activation

import (
	"os/exec"
	"testing"
)

// TestIsDynamic reads the program headers of binaries of both kinds.
func TestIsDynamic(t *testing.T) {
	for path, want := range map[string]bool{"/bin/sh": true, "/bin/ls": true} {
		if got, err := IsDynamic(path); err != nil || got != want {
			t.Errorf("IsDynamic(%s) = %v, %v; want %v", path, got, err, want)
		}
	}
	if busybox, err := exec.LookPath("busybox"); err == nil {
		if got, err := IsDynamic(busybox); err != nil || got {
			t.Errorf("IsDynamic(%s) = %v, %v; want static", busybox, got, err)
		}
	}
	for _, bad := range []string{"/etc/hostname", "/dev/null"} {
		if _, err := IsDynamic(bad); err == nil {
			t.Errorf("IsDynamic(%s): no error", bad)
		}
	}
}
