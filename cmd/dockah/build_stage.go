//go:build !lean

package main

import "github.com/dockah/dockah/activation"

// The build's containers start on a thread of this process; the few
// that cannot (an SELinux label, DOCKAH_STAGE_PROCESS=1) take the setup
// stage, which re-executes this binary when dockah-stage is not beside
// it. Such a process is a stage, not the CLI: it is dispatched before
// main, as dockah-activate's main does first.
func init() {
	if activation.IsStage() {
		activation.RunStage()
	}
	if activation.IsInit() {
		activation.RunInit()
	}
}
