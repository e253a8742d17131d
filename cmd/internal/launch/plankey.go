package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/policy"
)

// A start plan is valid while everything it was computed from is
// unchanged. That is three kinds of thing, all checked at each start
// before the plan is used:
//
//   - the shim: its executable (a new build or install is a new file, or
//     new times and size), and planFormat;
//   - the host: its boot (the kernel, its CPUs and whether SELinux is on
//     cannot change without one) and the shim's capability bounding set
//     (a unit's drop-in may change it);
//   - the files Prepare read: every definition file and drop-in directory
//     the loader looked at, found or not (a drop-in added changes its
//     directory, a definition added higher in the search path appears
//     where none was), environment files, a seccomp profile file, the
//     store's reference directories (a retag renames a file into one) and
//     the image's record. Each is remembered by its stat: device, inode,
//     mode, size, modification and change times. The change time cannot
//     be set by anyone, so an edit is seen even when it keeps the size and
//     sets the modification time back.
//
// A file's times come from a coarse clock (a tick, or a second on some
// file systems): an edit within the same tick as the one a plan was
// computed from could keep every field of the stat. So a plan is only
// written when every file it depends on is older than racyMargin at the
// time its inputs were read; an edit after that time gets a later time
// (git's "racily clean" index entries, avoided the same way).

// planFormat is the version of the plan's layout and meaning; a plan of
// another format is recomputed.
const planFormat = 3 // 2: the definition's userns; 3: its uid_map and gid_map

// racyMargin is how old every input must be for its plan to be written:
// more than a tick of the kernel's coarse clock, and than the one-second
// times of file systems that keep no finer ones.
const racyMargin = 2 * time.Second

// planKey is what a plan was computed from.
type planKey struct {
	Format   int
	Shim     fileSig
	BootID   string
	Bounding uint64
	Inputs   []input
}

// input is one file, directory or absent path Prepare looked at.
type input struct {
	// Path is in Options.Definitions when FS is set, a host path otherwise.
	Path string
	FS   bool
	// Link: the path itself (lstat), not what a symlink there points at.
	Link bool
	Sig  fileSig
}

// fileSig is what a stat says of a file that an edit changes.
type fileSig struct {
	Missing bool
	Mode    uint32
	Size    int64
	Mtime   int64 // nanoseconds since the epoch
	Ctime   int64
	Dev     uint64
	Ino     uint64
}

// sigOf makes the signature of a stat's result. A file system without
// inodes (fstest.MapFS) gives mode, size and modification time only.
func sigOf(info fs.FileInfo, err error) (fileSig, error) {
	if errors.Is(err, fs.ErrNotExist) {
		return fileSig{Missing: true}, nil
	}
	if err != nil {
		return fileSig{}, err
	}
	s := fileSig{Mode: uint32(info.Mode()), Size: info.Size(), Mtime: info.ModTime().UnixNano()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		s.Ctime = st.Ctim.Nano()
		s.Dev, s.Ino = st.Dev, st.Ino
		s.Size = st.Size
	}
	return s, nil
}

// newerThan reports whether the file changed at or after t.
func (s fileSig) newerThan(t time.Time) bool {
	if s.Missing {
		return false
	}
	n := t.UnixNano()
	return s.Mtime >= n || s.Ctime >= n
}

// recorder collects the inputs of one computation.
type recorder struct {
	inputs []input
	seen   map[input]bool // by path, FS and Link (Sig zero)
	// err is set when a path could not be looked at for another reason
	// than its absence: then no plan is written.
	err error
}

func (r *recorder) add(path string, inFS, link bool, info fs.FileInfo, statErr error) {
	if r == nil {
		return
	}
	id := input{Path: path, FS: inFS, Link: link}
	if r.seen == nil {
		r.seen = map[input]bool{}
	}
	if r.seen[id] {
		return
	}
	r.seen[id] = true
	sig, err := sigOf(info, statErr)
	if err != nil {
		if r.err == nil {
			r.err = fmt.Errorf("%s: %w", path, err)
		}
		return
	}
	id.Sig = sig
	r.inputs = append(r.inputs, id)
}

// stat records a host path, as os.Stat sees it.
func (r *recorder) stat(path string) {
	if r == nil {
		return
	}
	info, err := os.Stat(path)
	r.add(path, false, false, info, err)
}

// recordingFS is the definitions' file system, recording what the loader
// looks at. Each stat is taken before the content is read, so that an
// edit racing the read makes the recorded signature older than the
// content: the plan then fails its next check instead of hiding the edit.
type recordingFS struct {
	fsys fs.FS
	rec  *recorder
}

func (r recordingFS) Open(name string) (fs.File, error) {
	f, err := r.fsys.Open(name)
	if err != nil {
		r.rec.add(name, true, false, nil, err)
		return nil, err
	}
	info, err := f.Stat()
	r.rec.add(name, true, false, info, err)
	return f, nil
}

func (r recordingFS) Stat(name string) (fs.FileInfo, error) {
	info, err := fs.Stat(r.fsys, name)
	r.rec.add(name, true, false, info, err)
	return info, err
}

func (r recordingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	info, err := fs.Stat(r.fsys, name)
	r.rec.add(name, true, false, info, err)
	return fs.ReadDir(r.fsys, name)
}

func (r recordingFS) Lstat(name string) (fs.FileInfo, error) {
	info, err := fs.Lstat(r.fsys, name)
	r.rec.add(name, true, true, info, err)
	return info, err
}

func (r recordingFS) ReadLink(name string) (string, error) {
	info, err := fs.Lstat(r.fsys, name)
	r.rec.add(name, true, true, info, err)
	return fs.ReadLink(r.fsys, name)
}

// hostFacts are the parts of the key that belong to the shim and the host.
type hostFacts struct {
	shim     fileSig
	bootID   string
	bounding uint64
}

// factSources are where the host facts are read; tests point them
// elsewhere.
var factSources = struct {
	exe, bootID string
	bounding    func() policy.CapSet
}{"/proc/self/exe", "/proc/sys/kernel/random/boot_id", ownBoundingSet}

// readHostFacts reads them: one stat, one small read, a prctl per
// capability.
func readHostFacts() (hostFacts, error) {
	info, err := os.Stat(factSources.exe)
	shim, err := sigOf(info, err)
	if err != nil {
		return hostFacts{}, fmt.Errorf("the shim's executable: %w", err)
	}
	boot, err := readBootID(factSources.bootID)
	if err != nil {
		return hostFacts{}, err
	}
	return hostFacts{shim: shim, bootID: boot, bounding: uint64(factSources.bounding())}, nil
}

func readBootID(path string) (string, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("boot id: %w", err)
	}
	defer unix.Close(fd)
	var buf [64]byte
	n, err := unix.Read(fd, buf[:])
	if err != nil || n == 0 {
		return "", fmt.Errorf("boot id: %v", err)
	}
	return strings.TrimSpace(string(buf[:n])), nil
}

// ownBoundingSet is what the shim can grant: its own bounding set (a host
// or a sandbox may withhold capabilities from everything it runs), one
// prctl per capability dockah knows; one the kernel does not know is
// not in the set.
func ownBoundingSet() policy.CapSet {
	var set policy.CapSet
	all := policy.AllCaps()
	for c := 0; c < 64; c++ {
		if all&(1<<c) == 0 {
			continue
		}
		if on, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err == nil && on == 1 {
			set |= 1 << c
		}
	}
	return set
}

// key makes the key of a computation that started at start, or says why
// its plan must not be written.
func (r *recorder) key(h hostFacts, start time.Time) (planKey, error) {
	if r.err != nil {
		return planKey{}, r.err
	}
	for _, in := range r.inputs {
		if in.Sig.newerThan(start.Add(-racyMargin)) {
			return planKey{}, fmt.Errorf("%s changed less than %s before the start", in.Path, racyMargin)
		}
	}
	return planKey{Format: planFormat, Shim: h.shim, BootID: h.bootID, Bounding: h.bounding, Inputs: r.inputs}, nil
}

// check reports why k is not the key of a computation now, or nil when
// it is: definitions are looked at in fsys.
func (k planKey) check(h hostFacts, fsys fs.FS) error {
	switch {
	case k.Format != planFormat:
		return fmt.Errorf("plan format %d, want %d", k.Format, planFormat)
	case k.Bounding != h.bounding:
		return errors.New("the shim's bounding set changed")
	case k.BootID != h.bootID:
		return errors.New("the host booted since")
	case k.Shim != h.shim:
		return errors.New("the shim's executable changed")
	}
	for _, in := range k.Inputs {
		var info fs.FileInfo
		var err error
		switch {
		case in.FS && in.Link:
			info, err = fs.Lstat(fsys, in.Path)
		case in.FS:
			info, err = fs.Stat(fsys, in.Path)
		default:
			info, err = os.Stat(in.Path)
		}
		sig, err := sigOf(info, err)
		if err != nil || sig != in.Sig {
			if in.FS {
				return fmt.Errorf("/%s changed", in.Path)
			}
			return fmt.Errorf("%s changed", in.Path)
		}
	}
	return nil
}
