package activation

import (
	"fmt"
	"os"
	"time"
)

// tracing is set by DOCKAH_TRACE=1 in the shim's environment (a drop-in's
// Environment=): every step of a start then writes one line with the
// wall clock in microseconds to stderr, the journal, so the time of a
// start can be taken apart across the shim and its stages.
var tracing = os.Getenv("DOCKAH_TRACE") == "1"

// Tracing reports whether DOCKAH_TRACE=1: a program that starts another
// one of ours (dockah run starts the shim) passes it on.
func Tracing() bool { return tracing }

// Trace records that step is done, when tracing.
func Trace(step string) {
	if tracing {
		fmt.Fprintf(os.Stderr, "dockah-trace %d pid=%d %s\n", time.Now().UnixMicro(), os.Getpid(), step)
	}
}
