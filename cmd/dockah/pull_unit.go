//go:build !lean

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/dockah/dockah/rootfs/archive"
	"github.com/dockah/dockah/rootfs/remote"
	"github.com/dockah/dockah/unitgen"
	"github.com/spf13/cobra"
)

// pullExtension is how long each sign of progress extends the pull unit's
// start timeout (EXTEND_TIMEOUT_USEC): a pull that keeps receiving bytes
// is never killed, one that stalls this long is.
const pullExtension = 60 * time.Second

// runPullForContainer is dockah-pull@NAME.service: it pulls the image of
// container NAME as its definition's pull key says, before systemd starts
// the container, so that the pull counts against neither the container's
// start timeout nor its restarts. Progress extends the unit's timeout; a
// failure is one line in the journal and a failed unit.
func runPullForContainer(c *cobra.Command, opts *globalOptions, f *pullFlags) error {
	def, err := unitgen.LoadUnit(os.DirFS("/"), f.forContainer)
	if err != nil {
		return err
	}
	f.policy = fmt.Sprint(def.Container.Pull)
	ref := def.Container.Image
	st, err := openStore(opts)
	if err != nil {
		return err
	}
	stamp := filepath.Join(st.Root(), "present", filepath.Base(def.PresentStamp()))
	if err := os.MkdirAll(filepath.Dir(stamp), 0o700); err != nil {
		return fmt.Errorf("container %s: %w", f.forContainer, err)
	}
	if failedRecently(stamp + ".failed") {
		// A socket with a waiting connection starts the container again
		// at once after a failed pull; the failure above in this unit's
		// journal stands until systemd's start limit ends the loop.
		return exitStatusError{status: 1}
	}
	n := &timeoutExtender{}
	po, err := f.pullOptions(n.progress)
	if err != nil {
		return fmt.Errorf("container %s: pull = %q: %w", f.forContainer, f.policy, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := remote.Pull(ctx, st, ref, po)
	if err != nil {
		os.WriteFile(stamp+".failed", nil, 0o600)
		return fmt.Errorf("container %s (pull = %q): %w", f.forContainer, f.policy, err)
	}
	os.Remove(stamp + ".failed")
	if def.Container.Pull == unitgen.PullMissing {
		// The generated drop-in skips this unit while the stamp exists.
		if err := os.WriteFile(stamp, []byte(p.Image.ID+"\n"), 0o600); err != nil {
			return fmt.Errorf("container %s: %w", f.forContainer, err)
		}
	}
	if p.Fetched {
		fmt.Fprintf(c.ErrOrStderr(), "container %s: pulled %s (%s) as image %s\n", f.forContainer, p.Reference, p.Digest, p.Image.ID)
	} else {
		fmt.Fprintf(c.ErrOrStderr(), "container %s: image %s is in the store (pull = %q)\n", f.forContainer, ref, f.policy)
	}
	daemon.SdNotify(false, daemon.SdNotifyReady)
	return nil
}

// failedRecently reports whether the pull of this container failed less
// than a few seconds ago.
func failedRecently(marker string) bool {
	fi, err := os.Stat(marker)
	return err == nil && time.Since(fi.ModTime()) < 10*time.Second
}

// timeoutExtender sends EXTEND_TIMEOUT_USEC when a pull makes progress,
// at most every few seconds.
type timeoutExtender struct {
	mu   sync.Mutex
	last time.Time
}

func (t *timeoutExtender) progress(archive.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if time.Since(t.last) < 2*time.Second {
		return
	}
	t.last = time.Now()
	daemon.SdNotify(false, fmt.Sprintf("EXTEND_TIMEOUT_USEC=%d", pullExtension.Microseconds()))
}
