package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/dockah/dockah/unitgen"
)

// enableDropIn is the drop-in `dockah enable` and `dockah disable` own,
// in /etc/dockah/containers/NAME.toml.d/.
const enableDropIn = "50-dockah-enable.toml"

type enableOptions struct {
	target   string
	now      bool
	noReload bool
	sysroot  string
}

func newEnableCommand(_ *globalOptions) *cobra.Command {
	return newBootCommand(true, "enable NAME...", "Start containers at boot",
		`Make each container start at boot. Generated units cannot be enabled with
systemctl enable, so this writes the drop-in
/etc/dockah/containers/NAME.toml.d/`+enableDropIn+` adding the target to
[service] wanted_by, and reloads systemd so that the generator links the
units:

  a container with sockets gets sockets.target: its socket units listen
    from boot on and the service starts on the first connection;
  a container without sockets gets multi-user.target: its service starts
    at boot.

A container whose definition already sets wanted_by keeps what it says
(disable, then enable, brings it back); --target adds another target.

The definition stays the source of truth: what the drop-in says can be
read, edited or removed like any drop-in.`,
		`  dockah enable web
  dockah enable --now worker
  dockah enable --target graphical.target kiosk`)
}

func newDisableCommand(_ *globalOptions) *cobra.Command {
	return newBootCommand(false, "disable NAME...", "Stop starting containers at boot",
		`Make each container no longer start at boot: remove dockah's drop-in
/etc/dockah/containers/NAME.toml.d/`+enableDropIn+`, or, when the definition
itself sets wanted_by, write that drop-in with wanted_by = [] instead;
then reload systemd.`,
		`  dockah disable web
  dockah disable --now web`)
}

func newBootCommand(enable bool, use, short, long, example string) *cobra.Command {
	opts := &enableOptions{}
	cmd := containersCommand(use, short, long, example, func(c *cobra.Command, names []string) error {
		return runBoot(c, opts, enable, names)
	})
	f := cmd.Flags()
	if enable {
		f.StringVar(&opts.target, "target", "", "add the `UNIT` (usually a target) that starts the container (default: what the definition says, else sockets.target for a container with sockets and multi-user.target for one without)")
		f.BoolVar(&opts.now, "now", false, "also start the container (its sockets, if it has any) now")
	} else {
		f.BoolVar(&opts.now, "now", false, "also stop the container now")
	}
	f.BoolVar(&opts.noReload, "no-reload", false, "do not reload systemd (the change applies at the next daemon-reload)")
	addSysrootFlag(cmd, &opts.sysroot)
	return cmd
}

func runBoot(c *cobra.Command, opts *enableOptions, enable bool, names []string) error {
	if enable && opts.target == "" && c.Flags().Changed("target") {
		return errors.New(`--target "": not a unit name (accepted: e.g. multi-user.target, or no --target)`)
	}
	var defs []*unitgen.Definition
	for _, name := range names {
		def, err := setStartAtBoot(opts.sysroot, name, opts.target, enable)
		if err != nil {
			return err
		}
		defs = append(defs, def)
	}
	if opts.noReload {
		return nil
	}
	ctx := c.Context()
	conn, err := openSystemd(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.ReloadContext(ctx); err != nil {
		return fmt.Errorf("reload systemd: %w", err)
	}
	if !opts.now {
		return nil
	}
	verb := "stop"
	if enable {
		verb = "start"
	}
	var errs []error
	for _, def := range defs {
		for _, unit := range bootUnits(def, enable) {
			if err := runJob(ctx, conn, verb, unit, true); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return summarize(c.ErrOrStderr(), verb, len(defs), errs)
}

// bootUnits are what --now starts (what the boot links start: the
// sockets of a container that has them) or stops (the service first).
func bootUnits(def *unitgen.Definition, start bool) []string {
	var sockets []string
	for _, s := range def.SocketUnits() {
		sockets = append(sockets, s.Unit)
	}
	if start && len(sockets) > 0 {
		return sockets
	}
	if start {
		return []string{def.ServiceUnit()}
	}
	return append([]string{def.ServiceUnit()}, sockets...)
}

// unitNamePattern is what a wanted_by target may look like.
var unitNamePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9:_.@\\-]+\.[a-z]+$`) })

// setStartAtBoot writes or removes dockah's drop-in of the container name
// below root so that its wanted_by includes target (enable) or is empty
// (disable), and returns the definition as it is now. The drop-in is
// removed when the definition without it already says what is wanted.
// Enabling with no target keeps a wanted_by that is not empty, brings
// back the definition's own when a disable emptied it, and otherwise
// takes bootTarget.
func setStartAtBoot(root, name, target string, enable bool) (*unitgen.Definition, error) {
	if enable && target != "" && !unitNamePattern().MatchString(target) {
		return nil, fmt.Errorf("--target %q: not a unit name (accepted: e.g. multi-user.target)", target)
	}
	dropIn := path.Join(unitgen.SearchPath()[0], name+".toml.d", enableDropIn)
	fsys := os.DirFS(root)
	base, err := unitgen.LoadUnit(withoutFile{fsys, dropIn}, name)
	if err != nil {
		return nil, err
	}
	want := []string{}
	if enable {
		// Added to what it is now: enabling for a second target keeps
		// the first.
		now, err := unitgen.LoadUnit(fsys, name)
		if err != nil {
			return nil, err
		}
		want = append(want, now.Service.WantedBy...)
		// With no target, a container already started at boot stays
		// as it is, and one that our drop-in disabled gets the
		// definition's own wanted_by back rather than the default.
		if target == "" && len(want) == 0 {
			want = append(want, base.Service.WantedBy...)
			if len(want) == 0 {
				target = bootTarget(now)
			}
		}
		if target != "" && !slices.Contains(want, target) {
			want = append(want, target)
		}
	}
	host := filepath.Join(root, filepath.FromSlash(dropIn))
	if slices.Equal(want, base.Service.WantedBy) {
		err = os.Remove(host)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	} else {
		err = writeDropIn(host, enableDropInText(name, want, enable))
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", bootVerb(enable), name, err)
	}
	def, err := unitgen.LoadUnit(fsys, name)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(def.Service.WantedBy, want) {
		return nil, fmt.Errorf("%s: a drop-in after %s sets wanted_by = %q: edit it (drop-ins: %s)", name, enableDropIn, def.Service.WantedBy, strings.Join(def.DropIns, ", "))
	}
	return def, nil
}

// bootTarget is the target a container starts at boot with when nothing
// names one: sockets.target for a container with sockets, whose socket
// units the generator then links (the service starts on the first
// connection), multi-user.target for one without, whose service it links.
func bootTarget(def *unitgen.Definition) string {
	if len(def.SocketUnits()) > 0 {
		return "sockets.target"
	}
	return "multi-user.target"
}

// enableDropInText is the drop-in that sets wanted_by.
func enableDropInText(name string, wantedBy []string, enable bool) string {
	quoted := make([]string, len(wantedBy))
	for i, t := range wantedBy {
		quoted[i] = strconv.Quote(t)
	}
	return fmt.Sprintf("# Written by \"dockah %s %s\"; \"dockah enable|disable\" rewrite or remove it.\n[service]\nwanted_by = [%s]\n",
		bootVerb(enable), name, strings.Join(quoted, ", "))
}

func bootVerb(enable bool) string {
	if enable {
		return "enable"
	}
	return "disable"
}

// writeDropIn writes a drop-in atomically (image save's writeFileAtomic),
// creating its directory.
func writeDropIn(name, text string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(name, func(f *os.File) error {
		_, err := f.WriteString(text)
		return err
	})
}

// withoutFile is a file system with one file hidden: the definition as
// it would be without dockah's drop-in.
type withoutFile struct {
	fs.FS
	hidden string
}

func (w withoutFile) notExist(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

func (w withoutFile) Open(name string) (fs.File, error) {
	if name == w.hidden {
		return nil, w.notExist("open", name)
	}
	return w.FS.Open(name)
}

func (w withoutFile) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(w.FS, name)
	return slices.DeleteFunc(entries, func(e fs.DirEntry) bool { return path.Join(name, e.Name()) == w.hidden }), err
}

func (w withoutFile) Lstat(name string) (fs.FileInfo, error) {
	if name == w.hidden {
		return nil, w.notExist("lstat", name)
	}
	return fs.Lstat(w.FS, name)
}

func (w withoutFile) ReadLink(name string) (string, error) {
	if name == w.hidden {
		return "", w.notExist("readlink", name)
	}
	return fs.ReadLink(w.FS, name)
}
