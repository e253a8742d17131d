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
	TearDownOnSignal(func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "box: "+format+"\n", args...)
	})
	code := m.Run()
	closeShared()
	return code
}

// TearDownOnSignal makes SIGINT, SIGTERM and SIGHUP tear down the boxes
// of this process, then exit with status 130, for a program that boots
// one (the benchmarks too). The box may still be booting, with no handle
// on it yet: boxes are reaped by their owner's pid (ReapOwn).
func TearDownOnSignal(logf func(format string, args ...any)) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-signals
		logf("%v: tearing the box down", sig)
		if err := ReapOwn(); err != nil {
			logf("teardown: %v", err)
		}
		os.Exit(130)
	}()
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
