//go:build !lean

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/coreos/go-systemd/v22/journal"
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/cmd/internal/unitwatch"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/remote"
	"github.com/dockah/dockah/unitgen"
)

type autoUpdateOptions struct {
	registryFlags
	dryRun  bool
	format  outputFormat
	grace   time.Duration
	sysroot string
}

// What auto-update did for a container (updateResult.Action).
const (
	updateUnchanged  = "unchanged"   // it runs the newest image
	updatePending    = "pending"     // a new image is in place; the container starts on it next time
	updateUpdated    = "updated"     // restarted on the new image, and it came up
	updateRolledBack = "rolled-back" // the new image did not come up: the previous one is back
	updateFailed     = "failed"      // see Message
	updateWould      = "would-update"
)

// updateResult is one container's line of auto-update.
type updateResult struct {
	Container string `json:"container"`
	Unit      string `json:"unit"`
	Policy    string `json:"policy"`
	// Image is the image's name as the definition writes it.
	Image string `json:"image"`
	// From is the image the container ran on (or the name pointed at);
	// To the one it was moved to, or would be.
	From    string `json:"from"`
	To      string `json:"to"`
	Action  string `json:"action"`
	Message string `json:"message,omitempty"`
}

func newAutoUpdateCommand(opts *globalOptions) *cobra.Command {
	ao := &autoUpdateOptions{}
	cmd := &cobra.Command{
		Use:   "auto-update [--dry-run]",
		Short: "Move containers to newer images by their auto_update policy, and roll back those that fail",
		Long: `Update the containers whose definition says auto_update:

  "registry"  pull the image's name when its registry has another digest for
              it (as pull --policy newer), and move the container to it
  "local"     move the container to the image its name now points to in the
              store (after dockah build or image import)

A running container is restarted on the new image (its units reset as
dockah restart does). If it does not come up (the restart fails, it does
not report ready within its start timeout with notify = true, or it is not
running --grace later) the previous image is put back under the name and the
container restarted on it, and the journal says so. A container that is not
running is not started: a socket-activated container starts on the new image
at its next connection.

--dry-run changes nothing: it asks the registry for digests and says what
would be pulled and restarted. --format json lists every container with its
action: unchanged, pending (a new image is in place for its next start),
updated, rolled-back, failed, or would-update.

dockah-auto-update.timer (installed, not enabled) runs this daily:
systemctl enable --now dockah-auto-update.timer.`,
		Example: `  dockah auto-update --dry-run
  dockah auto-update --format json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runAutoUpdate(c, opts, ao)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&ao.dryRun, "dry-run", false, "say what would be updated; pull, tag and restart nothing")
	fl.DurationVar(&ao.grace, "grace", 10*time.Second, "how long a restarted container must stay running to count as up")
	ao.registryFlags.add(fl)
	addFormatFlag(cmd, &ao.format)
	addSysrootFlag(cmd, &ao.sysroot)
	return cmd
}

func runAutoUpdate(c *cobra.Command, opts *globalOptions, ao *autoUpdateOptions) error {
	ctx := c.Context()
	st, err := openStore(opts)
	if err != nil {
		return err
	}
	conn, err := openSystemd(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	defs, problems := containerDefinitions(ctx, conn, os.DirFS(ao.sysroot))
	warnProblems(c.ErrOrStderr(), problems)
	u := &updater{ctx: ctx, st: st, conn: conn, opts: ao, log: c.ErrOrStderr()}
	results := []updateResult{}
	failed := false
	for _, d := range defs {
		if d.IsTemplate() || d.Container.AutoUpdate == "" || d.Container.AutoUpdate == unitgen.AutoUpdateDisabled {
			continue
		}
		r := u.update(d)
		failed = failed || r.Action == updateFailed
		results = append(results, r)
	}
	if ao.format == formatJSON {
		err = writeJSONText(c.OutOrStdout(), results)
	} else {
		err = printUpdates(c.OutOrStdout(), results)
	}
	if err != nil {
		return err
	}
	if failed {
		return errors.New("some containers could not be updated")
	}
	return nil
}

type updater struct {
	ctx  context.Context
	st   *rootfs.Store
	conn *sdbus.Conn
	opts *autoUpdateOptions
	log  io.Writer
}

// update moves one container to its newer image, if any.
func (u *updater) update(d *unitgen.Definition) updateResult {
	r := updateResult{Container: d.Name, Unit: d.ServiceUnit(), Policy: d.Container.AutoUpdate.String(), Image: d.Container.Image}
	fail := func(err error) updateResult {
		r.Action, r.Message = updateFailed, err.Error()
		u.say(journal.PriErr, d.Name, fmt.Sprintf("auto-update of container %s failed: %v", d.Name, err))
		return r
	}
	running, err := u.running(r.Unit)
	if err != nil {
		return fail(err)
	}
	prev := u.imageID(r.Image)
	current, _ := u.st.ContainerImage(d.Name)
	if current == "" {
		current = prev
	}
	r.From = current
	target := prev
	if d.Container.AutoUpdate == unitgen.AutoUpdateRegistry {
		if target, err = u.newest(d, prev); err != nil {
			return fail(err)
		}
		if target == "" { // dry run: the registry has a newer one
			r.To, r.Action, r.Message = "", updateWould, "the registry has a newer image: pull it"
			if running {
				r.Message += " and restart the container"
			}
			return r
		}
	}
	r.To = target
	switch {
	case target == "":
		return fail(fmt.Errorf("image %s is not in the store", r.Image))
	case target == current:
		r.Action = updateUnchanged
	case !running:
		r.Action = updatePending
	case u.opts.dryRun:
		r.Action, r.Message = updateWould, "restart the container on the new image"
	default:
		return u.restart(d, r)
	}
	return r
}

// newest is the image the registry's name gives now: pulled when the
// registry has a newer one, "" on a dry run that would pull.
func (u *updater) newest(d *unitgen.Definition, prev string) (string, error) {
	ro, err := u.opts.options()
	if err != nil {
		return "", err
	}
	po := remote.PullOptions{Options: ro, Policy: remote.PullNewer}
	if u.opts.dryRun {
		newer, _, err := remote.Check(u.ctx, u.st, d.Container.Image, po)
		if err != nil || newer {
			return "", err
		}
		return prev, nil
	}
	p, err := remote.Pull(u.ctx, u.st, d.Container.Image, po)
	if err != nil {
		return "", err
	}
	if p.Fetched {
		u.say(journal.PriInfo, d.Name, fmt.Sprintf("container %s: pulled %s (%s) as image %s", d.Name, p.Reference, p.Digest, p.Image.ID))
	}
	return p.Image.ID, nil
}

// restart restarts a running container on the new image r.To and, if it
// does not come up, puts r.From back under the name and restarts it
// again.
func (u *updater) restart(d *unitgen.Definition, r updateResult) updateResult {
	err := u.restartAndWatch(d)
	if err == nil {
		r.Action = updateUpdated
		u.say(journal.PriNotice, d.Name, fmt.Sprintf("container %s: restarted on image %s (was %s)", d.Name, r.To, r.From))
		return r
	}
	r.Message = err.Error()
	name, _, lookupErr := u.st.LookupName(r.Image)
	if lookupErr != nil {
		r.Action = updateFailed
		r.Message += "; cannot roll back: " + lookupErr.Error()
		u.say(journal.PriErr, d.Name, fmt.Sprintf("container %s: image %s did not come up (%v), and cannot be rolled back: %v", d.Name, r.To, err, lookupErr))
		return r
	}
	if tagErr := u.st.Tag(r.From, name.String()); tagErr != nil {
		r.Action = updateFailed
		r.Message += "; roll back: " + tagErr.Error()
		return r
	}
	u.say(journal.PriWarning, d.Name, fmt.Sprintf("container %s: image %s did not come up (%v): rolled back, %s is image %s again", d.Name, r.To, err, name, r.From))
	if err := u.restartAndWatch(d); err != nil {
		r.Action = updateFailed
		r.Message += "; the previous image did not come up either: " + err.Error()
		u.say(journal.PriErr, d.Name, fmt.Sprintf("container %s: the previous image %s did not come up either: %v", d.Name, r.From, err))
		return r
	}
	r.Action = updateRolledBack
	return r
}

// restartAndWatch restarts d's service as dockah restart does and checks
// that it is still running --grace later.
func (u *updater) restartAndWatch(d *unitgen.Definition) error {
	unit := d.ServiceUnit()
	watch := unitwatch.New(u.conn, unit)
	if err := startContainer(u.ctx, u.conn, "restart", unitsOf(d), d.Name, true); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(u.ctx, u.opts.grace)
	defer cancel()
	var down error
	err := watch.Until(ctx, func() (bool, error) {
		active, sub, err := u.state(unit)
		if err != nil {
			return false, err
		}
		if active != "active" || sub != "running" && sub != "exited" {
			down = fmt.Errorf("%s is %s (%s) after the restart (see: dockah logs %s)", unit, active, sub, d.Name)
			return true, nil
		}
		return false, nil
	})
	if down != nil {
		return down
	}
	if errors.Is(err, context.DeadlineExceeded) && u.ctx.Err() == nil {
		return nil // up for the whole grace period
	}
	return err
}

func (u *updater) state(unit string) (active, sub string, err error) {
	list, err := u.conn.ListUnitsByNamesContext(u.ctx, []string{unit})
	if err != nil {
		return "", "", fmt.Errorf("ask systemd about %s: %w", unit, err)
	}
	if len(list) == 0 {
		return "", "", nil
	}
	return list[0].ActiveState, list[0].SubState, nil
}

func (u *updater) running(unit string) (bool, error) {
	active, _, err := u.state(unit)
	return containerStatus{State: active}.running(), err
}

// imageID is the ID ref names in the store, "" when none.
func (u *updater) imageID(ref string) string {
	img, err := u.st.Resolve(ref)
	if err != nil {
		return ""
	}
	return img.ID
}

// say writes a line on standard error and, unless standard error is the
// journal already (the timer's service), to the journal too.
func (u *updater) say(pri journal.Priority, container, msg string) {
	fmt.Fprintln(u.log, "dockah: "+msg)
	if os.Getenv("JOURNAL_STREAM") == "" && journal.Enabled() {
		_ = journal.Send(msg, pri, map[string]string{"SYSLOG_IDENTIFIER": "dockah-auto-update", "DOCKAH_CONTAINER": container})
	}
}

func printUpdates(w io.Writer, results []updateResult) error {
	tw := newTable(w, "CONTAINER", "POLICY", "IMAGE", "FROM", "TO", "ACTION")
	for _, r := range results {
		action := r.Action
		if r.Message != "" {
			action += ": " + r.Message
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Container, r.Policy, r.Image, shortDigest(r.From), shortDigest(r.To), strings.TrimSpace(action))
	}
	return tw.Flush()
}
