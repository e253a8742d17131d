package unitgen

import (
	"strings"
	"testing"

	"github.com/dockah/dockah/internal/deftest"
)

func TestSignalNumber(t *testing.T) {
	for name, want := range map[string]int{"SIGHUP": 1, "SIGKILL": 9, "SIGTERM": 15, "SIGQUIT": 3, "SIGSYS": 31, "SIGRTMIN+3": 37, "SIGRTMAX-2": 62, "SIGNOPE": 0} {
		if got := signalNumber(name); got != want {
			t.Errorf("signalNumber(%s) = %d, want %d", name, got, want)
		}
	}
}

// TestStopping: Docker's 10 s unless the definition says, and an end by
// the stop signal (128+N, or the signal itself when it is not SIGTERM,
// which systemd counts as clean anyway) is a success.
func TestStopping(t *testing.T) {
	for _, tc := range []struct {
		service string
		want    []string
	}{
		{"", []string{"TimeoutStopSec=10s\n", "SuccessExitStatus=143\n"}},
		{`stop_timeout = "30s"`, []string{"TimeoutStopSec=30s\n", "SuccessExitStatus=143\n"}},
		{`stop_timeout = "0"`, []string{"TimeoutStopSec=infinity\n"}},
		{`stop_signal = "QUIT"`, []string{"KillSignal=SIGQUIT\n", "SuccessExitStatus=131 SIGQUIT\n"}},
		{`stop_signal = "SIGRTMIN+3"`, []string{"SuccessExitStatus=165 SIGRTMIN+3\n"}},
	} {
		def, err := Parse("web", File{Path: "/etc/dockah/containers/web.toml",
			Data: deftest.New("x").Table("[service]", tc.service).Bytes()})
		if err != nil {
			t.Fatal(err)
		}
		out, err := Render(def, Options{ShimPath: "/usr/libexec/dockah/dockah-activate"})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.Units[0].Text, w) {
				t.Errorf("[service] %q: the unit has no %q:\n%s", tc.service, w, out.Units[0].Text)
			}
		}
	}
}
