package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// The compiled-program cache.
//
// Compiling the default profile costs milliseconds and the shim starts on
// every connection, so the shim reads the program from a small file keyed
// by everything the program depends on: the resolved profile (which
// already reflects the capability set, the architectures and the kernel),
// libseccomp's version, the architecture dockah runs on, and the format
// below. A file is written once, atomically, and checked on every read; a
// file that fails a check is compiled again and replaced.
//
// File layout, little-endian, 80-byte header then the program:
//
//	magic   [8]byte  "DKSECBPF"
//	version uint32   cacheVersion
//	count   uint32   instructions
//	key     [32]byte the cache key, also the file name
//	sum     [32]byte SHA-256 of the program bytes
//	program [count*8]byte struct sock_filter[count]

const (
	cacheMagic   = "DKSECBPF"
	cacheVersion = 1
	cacheHeader  = 8 + 4 + 4 + 32 + 32
	cacheSuffix  = ".bpf"
)

// CachedBPF is Cached for a profile and a container's bounding set. On a
// hit it never builds the resolved profile: the key is hashed straight
// from the rules that apply.
func CachedBPF(dir string, p *SeccompProfile, bounding CapSet) (prog Program, hit bool, err error) {
	if p.unconfined {
		return nil, false, nil
	}
	return cached(dir, p.cacheKey(bounding), func() *specs.LinuxSeccomp { return p.Resolve(bounding) })
}

// Cached returns the program for s, from dir when it holds a valid copy
// (hit) and otherwise compiled and stored there. dir is created (0700)
// when missing; the shim passes <store>/cache/seccomp. A nil s (no
// filter) returns a nil program.
//
// When the program compiled but could not be stored, Cached returns the
// program together with the error: the container can start, slowly, and
// the caller should log why.
func Cached(dir string, s *specs.LinuxSeccomp) (prog Program, hit bool, err error) {
	if s == nil {
		return nil, false, nil
	}
	return cached(dir, CacheKey(s), func() *specs.LinuxSeccomp { return s })
}

func cached(dir string, key [32]byte, resolve func() *specs.LinuxSeccomp) (Program, bool, error) {
	path := filepath.Join(dir, hex.EncodeToString(key[:])+cacheSuffix)
	if prog, err := readCached(path, key); err == nil {
		return prog, true, nil
	}
	prog, err := Compile(resolve())
	if err != nil {
		return nil, false, err
	}
	if err := writeCached(dir, path, key, prog); err != nil {
		return prog, false, fmt.Errorf("store compiled seccomp program: %w", err)
	}
	return prog, false, nil
}

// readCached reads and checks one cache file.
func readCached(path string, key [32]byte) (Program, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < cacheHeader || st.Size() > cacheHeader+8*maxInsns {
		return nil, fmt.Errorf("cache file of %d bytes", st.Size())
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return decodeCached(data, key)
}

// decodeCached checks a cache file's bytes and returns its program.
func decodeCached(data []byte, key [32]byte) (Program, error) {
	if len(data) < cacheHeader || string(data[:8]) != cacheMagic {
		return nil, errors.New("not a dockah seccomp cache file")
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != cacheVersion {
		return nil, fmt.Errorf("cache format %d, want %d", v, cacheVersion)
	}
	prog := Program(data[cacheHeader:])
	if err := prog.check(); err != nil {
		return nil, err
	}
	if n := binary.LittleEndian.Uint32(data[12:]); int(n) != prog.Len() {
		return nil, fmt.Errorf("header says %d instructions, file holds %d", n, prog.Len())
	}
	if !bytes.Equal(data[16:48], key[:]) {
		return nil, errors.New("cache file holds another profile")
	}
	if sum := sha256.Sum256(prog); !bytes.Equal(data[48:80], sum[:]) {
		return nil, errors.New("checksum mismatch")
	}
	return prog, nil
}

// encodeCached builds a cache file's bytes.
func encodeCached(key [32]byte, prog Program) []byte {
	out := make([]byte, cacheHeader, cacheHeader+len(prog))
	copy(out, cacheMagic)
	binary.LittleEndian.PutUint32(out[8:], cacheVersion)
	binary.LittleEndian.PutUint32(out[12:], uint32(prog.Len()))
	copy(out[16:48], key[:])
	sum := sha256.Sum256(prog)
	copy(out[48:80], sum[:])
	return append(out, prog...)
}

// writeCached stores a program atomically: temp file, fsync, rename,
// fsync of the directory. Concurrent writers of one key race harmlessly:
// both write the same bytes and the last rename wins.
func writeCached(dir, path string, key [32]byte, prog Program) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return writeFileAtomic(dir, path, encodeCached(key, prog), 0o600)
}

// writeFileAtomic replaces path with data so that a crash leaves either
// the old file or the new one.
func writeFileAtomic(dir, path string, data []byte, perm fs.FileMode) error {
	return writeFile(dir, path, data, perm, true)
}

// writeFileRenamed is writeFileAtomic without the syncs: readers see the
// old file or the new one, but a crash may leave neither, or an empty
// one. For what does not outlive a boot.
func writeFileRenamed(dir, path string, data []byte, perm fs.FileMode) error {
	return writeFile(dir, path, data, perm, false)
}

func writeFile(dir, path string, data []byte, perm fs.FileMode, durable bool) (err error) {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if durable {
		if err = tmp.Sync(); err != nil {
			return err
		}
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if !durable {
		return nil
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
