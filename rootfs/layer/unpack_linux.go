package layer

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// unpacker holds the state of one Unpack.
type unpacker struct {
	t       *tree
	opts    Options
	lim     Limits
	rec     *recorder
	root    bool // running as root: ownership and trusted.* xattrs apply
	res     Result
	dirs    []dirMeta
	dirIdx  map[string]int
	dirty   bool // something was removed: cached directory fds may be stale
	buf     []byte
	opaqueX string
	skipped map[string]bool // device nodes left out, for hard links to them
}

// Unpack reads the layer r (a tar, plain, gzip or zstd) into dir, which
// must exist and should be empty. It returns the layer's diff ID; the
// caller compares it with the one expected. On error dir holds a partial
// tree for the caller to remove.
func Unpack(dir string, r io.Reader, opts Options) (Result, error) {
	name := opts.Name
	if name == "" {
		name = "(unnamed)"
	}
	res, err := unpack(dir, r, opts)
	if err != nil {
		return Result{}, fmt.Errorf("layer %s: %w", name, err)
	}
	return res, nil
}

func unpack(dir string, r io.Reader, opts Options) (Result, error) {
	zr, _, err := Decompress(r)
	if err != nil {
		return Result{}, err
	}
	defer zr.Close()
	t, err := openTree(dir)
	if err != nil {
		return Result{}, err
	}
	defer t.close()
	u := &unpacker{
		t: t, opts: opts, lim: opts.Limits.withDefaults(),
		root: os.Geteuid() == 0, dirIdx: map[string]int{}, buf: make([]byte, 1<<20),
		opaqueX: "trusted.overlay.opaque",
	}
	if !u.root {
		// Unprivileged overlayfs (the userxattr mount option) reads
		// user.overlay.*; trusted.* needs CAP_SYS_ADMIN.
		u.opaqueX = "user.overlay.opaque"
	}
	u.rec = &recorder{r: zr, h: sha256.New(), limit: u.lim.MaxTarSize, split: opts.Split, progress: opts.Progress}
	tr := tar.NewReader(u.rec)
	for {
		u.rec.payload = false
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Result{}, fmt.Errorf("read tar: %w", err)
		}
		err = unsafe("more than %d entries", u.lim.MaxEntries)
		if u.res.Entries++; u.res.Entries <= u.lim.MaxEntries {
			err = u.entry(tr, hdr)
		}
		if err != nil {
			return Result{}, fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	// Whatever follows the end of the tar is part of the diff ID too.
	u.rec.payload = false
	if _, err := io.CopyBuffer(io.Discard, u.rec, u.buf); err != nil {
		return Result{}, fmt.Errorf("read tar: %w", err)
	}
	u.rec.flush()
	if err := u.finishDirs(); err != nil {
		return Result{}, err
	}
	u.res.DiffID = "sha256:" + hex.EncodeToString(u.rec.h.Sum(nil))
	u.res.TarSize = u.rec.n
	return u.res, nil
}

// cleanPath turns an entry name into a clean relative path, refusing what
// could leave the tree. "" is the tree's root.
func cleanPath(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", unsafe("absolute path")
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", unsafe("NUL in path")
	}
	parts := strings.Split(name, "/")
	out := parts[:0]
	for _, p := range parts {
		switch p {
		case "", ".":
			continue
		case "..":
			return "", unsafe("'..' in path")
		}
		out = append(out, p)
	}
	return strings.Join(out, "/"), nil
}

func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

func (u *unpacker) entry(tr *tar.Reader, hdr *tar.Header) error {
	if len(hdr.Name) > u.lim.MaxPathLen || len(hdr.Linkname) > u.lim.MaxPathLen {
		return unsafe("name or link target longer than %d bytes", u.lim.MaxPathLen)
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	if isSparse(hdr) {
		return fmt.Errorf("sparse files are not supported")
	}
	name, err := cleanPath(hdr.Name)
	if err != nil {
		return err
	}
	if u.dirty {
		u.t.forget()
		u.dirty = false
	}
	if name == "" {
		if hdr.Typeflag != tar.TypeDir {
			return unsafe("only a directory may name the layer's root")
		}
		u.deferDir("", hdr)
		return nil
	}
	parent, base := clean(path.Dir(name)), path.Base(name)
	dirfd, err := u.t.dir(parent, true)
	if err != nil {
		return err
	}
	if strings.HasPrefix(base, ".wh.") {
		return u.whiteout(dirfd, base)
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeCont:
		return u.file(tr, dirfd, base, name, hdr)
	case tar.TypeDir:
		return u.mkdir(dirfd, base, name, hdr)
	case tar.TypeSymlink:
		return u.symlink(dirfd, base, hdr)
	case tar.TypeLink:
		if target, err := cleanPath(hdr.Linkname); err == nil && u.skipped[target] {
			return u.skipDevice(dirfd, base, name)
		}
		return u.hardlink(dirfd, base, name, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return u.node(dirfd, base, hdr)
	}
	return unsafe("entry type %q is not supported", hdr.Typeflag)
}

func (u *unpacker) remove(dirfd int, base string, keepDir bool) (bool, error) {
	isDir, err := u.t.clear(dirfd, base, keepDir)
	if err != nil {
		return false, fmt.Errorf("replace %s: %w", base, err)
	}
	u.dirty = true
	return isDir, nil
}

func (u *unpacker) file(tr *tar.Reader, dirfd int, base, name string, hdr *tar.Header) error {
	if hdr.Size > u.lim.MaxFileSize {
		return unsafe("file of %d bytes, more than %d", hdr.Size, u.lim.MaxFileSize)
	}
	if _, err := u.remove(dirfd, base, false); err != nil {
		return err
	}
	fd, err := unix.Openat(dirfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	err = u.writeContent(fd, tr, name, hdr.Size)
	if err == nil {
		err = u.fileMeta(fd, dirfd, base, hdr)
	}
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = fmt.Errorf("write: %w", cerr)
	}
	u.res.Size += hdr.Size
	return err
}

func (u *unpacker) writeContent(fd int, tr *tar.Reader, name string, size int64) error {
	if size == 0 {
		return nil
	}
	u.rec.content(name, size)
	defer func() { u.rec.payload = false }()
	var done int64
	for done < size {
		want := min(int64(len(u.buf)), size-done)
		n, err := io.ReadFull(tr, u.buf[:want])
		if err != nil {
			return fmt.Errorf("read content: %w", err)
		}
		for b := u.buf[:n]; len(b) > 0; {
			w, err := unix.Write(fd, b)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return fmt.Errorf("write: %w", err)
			}
			b = b[w:]
		}
		done += int64(n)
	}
	return nil
}

// whiteout turns .wh.NAME into the 0:0 character device overlayfs reads
// as "NAME deleted", and .wh..wh..opq into the opaque xattr on the
// directory.
func (u *unpacker) whiteout(dirfd int, base string) error {
	if base == ".wh..wh..opq" {
		if err := unix.Fsetxattr(dirfd, u.opaqueX, []byte("y"), 0); err != nil {
			return fmt.Errorf("mark directory opaque: %w", err)
		}
		return nil
	}
	if strings.HasPrefix(base, ".wh..wh.") {
		return nil // aufs bookkeeping (.wh..wh.plnk and the like): nothing for overlayfs
	}
	target := strings.TrimPrefix(base, ".wh.")
	if target == "" || target == "." || target == ".." {
		return unsafe("whiteout of %q", target)
	}
	if _, err := u.remove(dirfd, target, false); err != nil {
		return err
	}
	if err := unix.Mknodat(dirfd, target, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("create whiteout: %w", err)
	}
	if u.root {
		if err := unix.Fchownat(dirfd, target, 0, 0, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("create whiteout: %w", err)
		}
	}
	return nil
}

func (u *unpacker) mkdir(dirfd int, base, name string, hdr *tar.Header) error {
	isDir, err := u.remove(dirfd, base, true)
	if err != nil {
		return err
	}
	if !isDir {
		if err := unix.Mkdirat(dirfd, base, 0o755); err != nil {
			return fmt.Errorf("create directory: %w", err)
		}
	}
	u.deferDir(name, hdr)
	return nil
}

func (u *unpacker) symlink(dirfd int, base string, hdr *tar.Header) error {
	if _, err := u.remove(dirfd, base, false); err != nil {
		return err
	}
	// The target is stored as it is and never followed here: the
	// container resolves it inside its own root.
	if err := unix.Symlinkat(hdr.Linkname, dirfd, base); err != nil {
		return fmt.Errorf("create symlink: %w", err)
	}
	return u.metaAt(dirfd, base, hdr, true)
}

func (u *unpacker) hardlink(dirfd int, base, name string, hdr *tar.Header) error {
	target, err := cleanPath(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("link target %q: %w", hdr.Linkname, err)
	}
	if target == "" || target == name {
		return unsafe("hard link to %q", hdr.Linkname)
	}
	if _, err := u.remove(dirfd, base, false); err != nil {
		return err
	}
	if u.dirty {
		u.t.forget()
		u.dirty = false
		if dirfd, err = u.t.dir(clean(path.Dir(name)), false); err != nil {
			return err
		}
	}
	// The source's directory is resolved like any other path, and linkat
	// without AT_SYMLINK_FOLLOW links a final symlink itself: the link
	// can only name something already inside this layer.
	srcDir, err := u.t.dir(clean(path.Dir(target)), false)
	if err != nil {
		return fmt.Errorf("link target %q: %w", hdr.Linkname, err)
	}
	if err := unix.Linkat(srcDir, path.Base(target), dirfd, base, 0); err != nil {
		return fmt.Errorf("link to %q: %w", hdr.Linkname, err)
	}
	return nil
}

// skipDevice leaves a device node (or a hard link to one) out of the tree:
// containers get a fresh /dev and a nodev root, so the nodes of a
// debootstrap root are useless, and a device node from an image is
// hostile. What the entry replaces in this layer goes; its header stays in
// the tar-split, so the layer is still saved byte for byte.
func (u *unpacker) skipDevice(dirfd int, base, name string) error {
	if _, err := u.remove(dirfd, base, false); err != nil {
		return err
	}
	if u.skipped == nil {
		u.skipped = map[string]bool{}
	}
	if c, err := cleanPath(name); err == nil {
		u.skipped[c] = true
	}
	u.res.SkippedDevices++
	return nil
}

func (u *unpacker) node(dirfd int, base string, hdr *tar.Header) error {
	mode := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode = unix.S_IFCHR
	case tar.TypeBlock:
		mode = unix.S_IFBLK
	}
	if mode != unix.S_IFIFO && !u.opts.AllowDevices {
		return u.skipDevice(dirfd, base, path.Clean(hdr.Name))
	}
	if _, err := u.remove(dirfd, base, false); err != nil {
		return err
	}
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
	if err := unix.Mknodat(dirfd, base, mode|0o600, dev); err != nil {
		return fmt.Errorf("create node: %w", err)
	}
	return u.metaAt(dirfd, base, hdr, false)
}
