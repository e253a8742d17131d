package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/dockah/dockah/cmd/internal/launch"
	"github.com/dockah/dockah/policy"
	"github.com/spf13/cobra"
)

func newSystemSubidsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "subids",
		Short: `Record the pool of containers' IDs as the "containers" entry of /etc/subuid and /etc/subgid`,
		Long: `Add a "containers" entry to /etc/subuid and to /etc/subgid where it is
missing: the largest span of systemd's range for container IDs (524288 to
1879048191) that no entry of the file overlaps. It is the pool the shim
allocates containers' user namespace ranges from without the entry, so
ranges allocated before stay inside it; once written, useradd and
usermod, which skip the ranges these files give, never hand its IDs to a
user. Existing lines are kept byte for byte; the file is replaced with an
atomic rename, under the lock shadow's tools take (FILE.lock). An entry
that exists is left alone. Prints each file's entry.`,
		Example: `  dockah system subids`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, path := range []string{launch.SubUIDFile, launch.SubGIDFile} {
				ranges, added, err := ensureSubIDEntry(path)
				if err != nil {
					return err
				}
				what := "present"
				if added {
					what = "added"
				}
				for _, r := range ranges {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s:%d:%d (%s)\n", path, policy.SubIDOwner, r.Start, r.Size, what)
				}
			}
			return nil
		},
	}
}

// ensureSubIDEntry returns the "containers" ranges of the file at path,
// and adds the entry first if it has none (added true).
func ensureSubIDEntry(path string) ([]policy.IDRange, bool, error) {
	read := func() ([]byte, []policy.IDRange, error) {
		data, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		ranges, err := policy.ParseSubIDs(data, path, policy.SubIDOwner)
		return data, ranges, err
	}
	_, ranges, err := read()
	if err != nil || len(ranges) > 0 {
		return ranges, false, err
	}
	unlock, err := lockShadowFile(path)
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	data, ranges, err := read() // again, under the lock
	if err != nil || len(ranges) > 0 {
		return ranges, false, err
	}
	pool := policy.DefaultPoolFor(data)
	if len(pool) == 0 {
		return nil, false, fmt.Errorf("%s: its entries cover all of systemd's range for container IDs (524288 to 1879048191): add a %q entry yourself", path, policy.SubIDOwner)
	}
	if err := replaceFile(path, policy.WithSubIDEntry(data, policy.SubIDOwner, pool[0])); err != nil {
		return nil, false, err
	}
	return pool, true, nil
}

// lockShadowFile takes the lock shadow's tools (useradd, usermod) take
// before they change path: PATH.lock, made by linking a file holding our
// pid, so that exactly one process gets it. A lock whose process is gone
// is removed.
func lockShadowFile(path string) (func(), error) {
	lock := path + ".lock"
	tmp := path + "." + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	defer os.Remove(tmp)
	for attempt := 0; ; attempt++ {
		err := os.Link(tmp, lock)
		if err == nil {
			return func() { os.Remove(lock) }, nil
		}
		if !errors.Is(err, fs.ErrExist) || attempt > 0 {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		holder, _ := os.ReadFile(lock)
		pid, perr := strconv.Atoi(strings.TrimSpace(string(holder)))
		if perr == nil && pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH {
			os.Remove(lock) // its process is gone
			continue
		}
		return nil, fmt.Errorf("%s is locked by process %s (%s): try again once it is done", path, strings.TrimSpace(string(holder)), lock)
	}
}

// replaceFile writes data to path by an atomic rename, keeping the mode
// and owner of the file it replaces (0644, ours, for a new one).
func replaceFile(path string, data []byte) error {
	mode, uid, gid := fs.FileMode(0o644), os.Geteuid(), os.Getegid()
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(sys.Uid), int(sys.Gid)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".dockah-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil && (uid != os.Geteuid() || gid != os.Getegid()) {
		err = f.Chown(uid, gid)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
