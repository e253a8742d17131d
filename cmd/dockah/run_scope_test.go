package main

import (
	"os/exec"
	"testing"
	"time"
)

// exitedAlready tells an ended child from a running one and leaves the
// ended one to Wait, with its status.
func TestExitedAlready(t *testing.T) {
	running := exec.Command("sleep", "10")
	if err := running.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = running.Process.Kill(); _ = running.Wait() }()
	if exitedAlready(running.Process.Pid) {
		t.Error("a running child: exited")
	}
	ended := exec.Command("sh", "-c", "exit 7")
	if err := ended.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !exitedAlready(ended.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatal("an ended child: not exited after 5 s")
		}
		time.Sleep(time.Millisecond)
	}
	if err := ended.Wait(); ended.ProcessState == nil || ended.ProcessState.ExitCode() != 7 {
		t.Errorf("Wait after exitedAlready: %v, want exit status 7", err)
	}
}
