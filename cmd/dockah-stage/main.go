// Command dockah-stage is the part of the activation shim that runs inside
// a new container, the stages: the setup stage that builds the root and
// execs the entrypoint, the app stage and the container's init under
// init = true, and the exec stage of "dockah exec". dockah-activate and
// dockah start it (activation.StageBinary); it is the same code as the
// shim's own stage, built without the shim's definition, image store and
// policy code (-tags stage, no cgo), so the process that sits between the
// shim and the entrypoint starts fast and its sealed copy for exec is small.
//
// GOMAXPROCS is the number of CPUs, not read from the cgroup's CPU
// limit: Go reads /proc/self/mountinfo and the cgroup files for it at
// every start, which a short-lived process of the start path does not
// need (and it never changes it later).
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"fmt"
	"os"

	"github.com/dockah/dockah/activation"
)

func main() {
	if activation.IsStage() {
		activation.RunStage()
	}
	if activation.IsInit() {
		activation.RunInit()
	}
	fmt.Fprintln(os.Stderr, "dockah-stage: started by dockah-activate and dockah exec only")
	os.Exit(2)
}
