package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// MCSRegistry is the host's record of which container holds which MCS
// level. dockah has no daemon and one shim per container, so the
// uniqueness the SELinux library keeps inside one process is not enough:
// the record is a small JSON file, and every change happens under an
// exclusive flock(2) of a lock file beside it, then lands with an atomic
// rename. Any number of processes may allocate at once.
//
// A level is never handed out if its categories could reach another
// container's files or be reached by them: a new pair must neither be a
// subset of any recorded level's categories nor contain one. Levels
// without categories (s0, used by shared volumes) are ignored.
type MCSRegistry struct {
	dir string
	// intn picks a random number in [0, n); tests replace it.
	intn func(n int) int
}

// registryFile is the record on disk.
type registryFile struct {
	Version    int                      `json:"version"`
	Containers map[string]registryEntry `json:"containers"`
}

type registryEntry struct {
	Level string `json:"level"`
	// Explicit marks a level the definition chose (selinux_level).
	Explicit bool `json:"explicit,omitempty"`
}

const (
	registryName    = "mcs.json"
	registryLock    = "mcs.lock"
	registryVersion = 1
	maxRegistrySize = 16 << 20
	randomTries     = 64
)

// OpenMCSRegistry opens (creating, 0700) the registry in dir; the shim
// passes <store>/selinux/mcs.
func OpenMCSRegistry(dir string) (*MCSRegistry, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open mcs registry: %w", err)
	}
	return &MCSRegistry{dir: dir, intn: rand.IntN}, nil
}

// Allocate returns the container's level: the one it already holds, or a
// new free pair s0:cX,cY (X < Y) chosen at random. A level the container
// held because its definition chose it is replaced by a pair.
func (r *MCSRegistry) Allocate(name string) (string, error) {
	var out string
	err := r.update(name, func(f *registryFile) error {
		if e, ok := f.Containers[name]; ok && !e.Explicit {
			out = e.Level
			return nil
		}
		taken, err := f.categories(name)
		if err != nil {
			return err
		}
		x, y, ok := r.freePair(taken)
		if !ok {
			return fmt.Errorf("allocate mcs level for %s: no free category pair among %d containers", name, len(f.Containers))
		}
		out = pairLevel(x, y)
		f.Containers[name] = registryEntry{Level: out}
		return nil
	})
	return out, err
}

// Reserve records a level the definition chose, as is. It fails when the
// level overlaps a pair the registry allocated to another container
// (that container never agreed to share); explicit levels may overlap
// each other, since sharing is then what the definitions say.
func (r *MCSRegistry) Reserve(name, lvl string) (string, error) {
	want, err := parseLevel(lvl)
	if err != nil {
		return "", err
	}
	cats := want.lowC
	for i := range cats {
		cats[i] |= want.highC[i]
	}
	err = r.update(name, func(f *registryFile) error {
		for other, e := range f.Containers {
			if other == name || e.Explicit {
				continue
			}
			l, err := parseLevel(e.Level)
			if err != nil {
				return fmt.Errorf("mcs registry: %s: %w", other, err)
			}
			if overlaps(cats, l.highC) {
				return fmt.Errorf("selinux_level %s: overlaps %s of container %s, which dockah allocated; choose other categories", lvl, e.Level, other)
			}
		}
		f.Containers[name] = registryEntry{Level: lvl, Explicit: true}
		return nil
	})
	if err != nil {
		return "", err
	}
	return lvl, nil
}

// Release frees the container's level. Releasing an unknown name is not
// an error.
func (r *MCSRegistry) Release(name string) error {
	return r.update(name, func(f *registryFile) error {
		delete(f.Containers, name)
		return nil
	})
}

// Lookup returns the level the container holds, if any (for inspect).
func (r *MCSRegistry) Lookup(name string) (string, bool, error) {
	all, err := r.List()
	lvl, ok := all[name]
	return lvl, ok, err
}

// List returns every container's level.
func (r *MCSRegistry) List() (map[string]string, error) {
	out := map[string]string{}
	err := r.locked(unix.LOCK_SH, func() error {
		f, err := r.load()
		for name, e := range f.Containers {
			out[name] = e.Level
		}
		return err
	})
	return out, err
}

// overlaps reports whether one category set can reach the other.
func overlaps(a, b catSet) bool {
	if a.empty() || b.empty() {
		return false
	}
	return a.subsetOf(b) || b.subsetOf(a)
}

// categories returns the category sets held by everyone but name.
func (f *registryFile) categories(name string) ([]catSet, error) {
	var out []catSet
	for other, e := range f.Containers {
		if other == name {
			continue
		}
		l, err := parseLevel(e.Level)
		if err != nil {
			return nil, fmt.Errorf("mcs registry: %s: %w", other, err)
		}
		cats := l.highC // the high level is what the process can reach
		for i := range cats {
			cats[i] |= l.lowC[i]
		}
		if !cats.empty() {
			out = append(out, cats)
		}
	}
	return out, nil
}

// freePair picks a random pair that overlaps no taken set, falling back
// to a scan from a random start so that a nearly full host still finds
// the last pairs.
func (r *MCSRegistry) freePair(taken []catSet) (x, y int, ok bool) {
	free := func(x, y int) bool {
		var p catSet
		p.add(x)
		p.add(y)
		for _, t := range taken {
			if overlaps(p, t) {
				return false
			}
		}
		return true
	}
	for range randomTries {
		x, y := r.intn(mcsCategories), r.intn(mcsCategories)
		if x > y {
			x, y = y, x
		}
		if x != y && free(x, y) {
			return x, y, true
		}
	}
	start := r.intn(mcsCategories)
	for i := range mcsCategories {
		x := (start + i) % mcsCategories
		for y := x + 1; y < mcsCategories; y++ {
			if free(x, y) {
				return x, y, true
			}
		}
	}
	return 0, 0, false
}

// update runs change on the record under the exclusive lock and saves it.
func (r *MCSRegistry) update(name string, change func(*registryFile) error) error {
	if err := checkContainerName(name); err != nil {
		return err
	}
	return r.locked(unix.LOCK_EX, func() error {
		f, err := r.load()
		if err != nil {
			return err
		}
		if err := change(&f); err != nil {
			return err
		}
		return r.save(f)
	})
}

// locked runs fn holding a flock of the registry's lock file (withFlock).
func (r *MCSRegistry) locked(how int, fn func() error) error {
	return withFlock(filepath.Join(r.dir, registryLock), how, "mcs registry", fn)
}

// load reads the record; a missing file is an empty record, a damaged
// one an error (starting afresh could hand out a pair twice).
func (r *MCSRegistry) load() (registryFile, error) {
	f := registryFile{Version: registryVersion, Containers: map[string]registryEntry{}}
	data, err := os.ReadFile(filepath.Join(r.dir, registryName))
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("read mcs registry: %w", err)
	}
	if len(data) > maxRegistrySize {
		return f, fmt.Errorf("read mcs registry: larger than %d bytes", maxRegistrySize)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("read mcs registry %s: %w", filepath.Join(r.dir, registryName), err)
	}
	if f.Version != registryVersion {
		return f, fmt.Errorf("read mcs registry: version %d, want %d", f.Version, registryVersion)
	}
	if f.Containers == nil {
		f.Containers = map[string]registryEntry{}
	}
	return f, nil
}

func (r *MCSRegistry) save(f registryFile) error {
	data, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		return fmt.Errorf("write mcs registry: %w", err)
	}
	if err := writeFileAtomic(r.dir, filepath.Join(r.dir, registryName), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write mcs registry: %w", err)
	}
	return nil
}

// checkContainerName accepts any printable name a unit could carry.
func checkContainerName(name string) error {
	if name == "" || len(name) > 256 || !utf8.ValidString(name) {
		return fmt.Errorf("mcs registry: bad container name %q", name)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("mcs registry: bad container name %q", name)
		}
	}
	return nil
}
