package box

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"

	"github.com/dockah/dockah/tests/testenv"
)

var shared struct {
	once sync.Once
	mu   sync.Mutex
	box  *Box
	err  error
}

// Main runs a test package's tests with one shared box, booted on first
// use by Shared and torn down when the tests end or the run is interrupted.
// Use it from TestMain: os.Exit(box.Main(m)).
func Main(m *testing.M) int {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-signals
		fmt.Fprintf(os.Stderr, "box: %v: tearing the box down\n", sig)
		// The box may still be booting, so Shared has no handle on it:
		// reap by ownership instead.
		if err := ReapOwn(); err != nil {
			fmt.Fprintf(os.Stderr, "box: teardown: %v\n", err)
		}
		os.Exit(130)
	}()
	code := m.Run()
	closeShared()
	return code
}

func closeShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.box != nil {
		if err := shared.box.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "box: teardown: %v\n", err)
		}
		shared.box = nil
	}
}

// Shared returns the package's box, booting it on first use. It skips the
// test (fails it under DOCKAH_TEST_STRICT=1) when the machine cannot boot
// one, and fails it when booting was attempted and went wrong.
func Shared(t testing.TB) *Box {
	t.Helper()
	if err := Preflight(); err != nil {
		testenv.Skip(t, err.Error())
	}
	shared.once.Do(func() {
		opts := SharedOptions
		opts.Log = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, format+"\n", args...)
		}
		b, err := Boot(opts)
		shared.mu.Lock()
		shared.box, shared.err = b, err
		shared.mu.Unlock()
	})
	if shared.err != nil {
		t.Fatalf("boot the systemd box: %v", shared.err)
	}
	return shared.box
}
