package main

import (
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hostFS is the file system the generator reads the definitions from: the
// host's, below root. It is os.DirFS without the cost of package os, which
// puts every file it opens through the network poller (two fcntl and an
// epoll_ctl that fails, for a regular file) and doubles the system calls
// of a generator that opens a few thousand small files on every
// daemon-reload.
type hostFS struct{ root string }

var (
	_ fs.ReadDirFS  = hostFS{}
	_ fs.ReadLinkFS = hostFS{}
)

func (h hostFS) path(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return strings.TrimSuffix(h.root, "/") + "/" + name, nil
}

// Open opens a file for reading.
func (h hostFS) Open(name string) (fs.File, error) {
	p, err := h.path("open", name)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &hostFile{fsys: h, fd: fd, name: name}, nil
}

// ReadDir lists a directory, sorted by name.
func (h hostFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := h.path("readdir", name)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	defer unix.Close(fd)
	return h.readDirFD(fd, name)
}

// readDirFD lists the open directory fd, sorted by name.
func (h hostFS) readDirFD(fd int, name string) ([]fs.DirEntry, error) {
	var entries []fs.DirEntry
	// Fresh memory costs a page fault per page: reuse the buffers.
	bufp := direntBuffers.Get().(*[]byte)
	defer direntBuffers.Put(bufp)
	buf := *bufp
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
		}
		if n <= 0 {
			break
		}
		dir := name
		if dir == "." {
			dir = ""
		}
		entries = parseDirents(h, dir, buf[:n], entries)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

var direntBuffers = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

// parseDirents appends the entries of a getdents64 buffer, but . and ..
func parseDirents(h hostFS, dir string, buf []byte, entries []fs.DirEntry) []fs.DirEntry {
	const header = int(unsafe.Offsetof(unix.Dirent{}.Name))
	for len(buf) >= header {
		d := (*unix.Dirent)(unsafe.Pointer(&buf[0]))
		reclen := int(d.Reclen)
		if reclen < header || reclen > len(buf) {
			break
		}
		nameBytes := buf[header:reclen]
		if i := slices.Index(nameBytes, 0); i >= 0 {
			nameBytes = nameBytes[:i]
		}
		name := string(nameBytes)
		buf = buf[reclen:]
		if name == "." || name == ".." {
			continue
		}
		entries = append(entries, &hostDirEntry{fsys: h, path: path.Join(dir, name), name: name, typ: direntType(d.Type)})
	}
	return entries
}

func direntType(t uint8) fs.FileMode {
	switch t {
	case unix.DT_DIR:
		return fs.ModeDir
	case unix.DT_LNK:
		return fs.ModeSymlink
	case unix.DT_REG:
		return 0
	}
	return fs.ModeIrregular // unknown: Type() asks lstat
}

// ReadLink returns the target of a symbolic link.
func (h hostFS) ReadLink(name string) (string, error) {
	p, err := h.path("readlink", name)
	if err != nil {
		return "", err
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlink(p, buf)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return string(buf[:n]), nil
}

// Lstat describes a file without following a last symbolic link.
func (h hostFS) Lstat(name string) (fs.FileInfo, error) {
	p, err := h.path("lstat", name)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	return newFileInfo(name, &st), nil
}

// hostFile is an open file or directory.
type hostFile struct {
	fsys hostFS
	fd   int
	name string
	dir  []fs.DirEntry // what ReadDir has left to return
	read bool          // ReadDir has listed the directory
}

// ReadDir returns the next n entries of a directory (all when n <= 0).
func (f *hostFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !f.read {
		entries, err := f.fsys.readDirFD(f.fd, f.name)
		if err != nil {
			return nil, err
		}
		f.dir, f.read = entries, true
	}
	if n <= 0 {
		all := f.dir
		f.dir = nil
		return all, nil
	}
	if len(f.dir) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(f.dir))
	part := f.dir[:n]
	f.dir = f.dir[n:]
	return part, nil
}

func (f *hostFile) Read(b []byte) (int, error) {
	for {
		n, err := unix.Read(f.fd, b)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, &fs.PathError{Op: "read", Path: f.name, Err: err}
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *hostFile) Stat() (fs.FileInfo, error) {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: f.name, Err: err}
	}
	return newFileInfo(f.name, &st), nil
}

func (f *hostFile) Close() error {
	if f.fd < 0 {
		return fs.ErrClosed
	}
	err := unix.Close(f.fd)
	f.fd = -1
	return err
}

// hostDirEntry is an entry of ReadDir; Info asks lstat.
type hostDirEntry struct {
	fsys hostFS
	path string
	name string
	typ  fs.FileMode
}

func (e *hostDirEntry) Name() string { return e.name }
func (e *hostDirEntry) IsDir() bool  { return e.Type().IsDir() }

func (e *hostDirEntry) Type() fs.FileMode {
	if e.typ == fs.ModeIrregular {
		if info, err := e.Info(); err == nil {
			e.typ = info.Mode().Type()
		}
	}
	return e.typ
}

func (e *hostDirEntry) Info() (fs.FileInfo, error) { return e.fsys.Lstat(e.path) }

// fileInfo is fs.FileInfo from a stat.
type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
	mod  time.Time
}

func newFileInfo(name string, st *unix.Stat_t) fileInfo {
	mode := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFREG:
	default:
		mode |= fs.ModeIrregular
	}
	i := strings.LastIndexByte(name, '/')
	return fileInfo{name: name[i+1:], size: st.Size, mode: mode, mod: time.Unix(st.Mtim.Unix())}
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return i.mode }
func (i fileInfo) ModTime() time.Time { return i.mod }
func (i fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }
