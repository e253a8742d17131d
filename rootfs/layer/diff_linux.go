package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Diff writes the overlayfs upper directory upper as an OCI layer tar on
// w: a 0:0 character device becomes a .wh.NAME whiteout, a directory with
// the opaque xattr gets a .wh..wh..opq entry, overlayfs's own xattrs are
// dropped. Upper dirs written with redirect_dir or metacopy (whose
// meaning lies in the lower layers) are refused. Entries come in name
// order and mtimes are whole seconds, so the same tree gives the same tar.
func Diff(w io.Writer, upper string) error { return DiffShifted(w, upper, IDShift{}) }

// IDShift is the range of host IDs a container with a user namespace
// wrote its writable layer with: host UID+n is the container's n (and
// GID+n likewise), for n below Size. The zero value shifts nothing.
type IDShift struct {
	UID, GID, Size uint32
}

// unshift returns the container's ID for host ID id of a range starting
// at base: IDs outside the range (a whiteout overlayfs made, a file of
// the layer from before the container had a range) are kept.
func (s IDShift) unshift(id, base uint32) int {
	if s.Size > 0 && id >= base && uint64(id) < uint64(base)+uint64(s.Size) {
		return int(id - base)
	}
	return int(id)
}

// DiffShifted is Diff of an upper directory written through a user
// namespace: owners are written as the container knew them, so that the
// layer is the same as one committed from a container in the host's user
// namespace.
func DiffShifted(w io.Writer, upper string, shift IDShift) error {
	tw := tar.NewWriter(w)
	links := map[[2]uint64]string{} // (dev, ino) -> first path, for hardlinks
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil || rel == "." {
			return err
		}
		if err := diffEntry(tw, p, filepath.ToSlash(rel), links, shift); err != nil {
			return fmt.Errorf("diff %s: %w", rel, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func diffEntry(tw *tar.Writer, p, rel string, links map[[2]uint64]string, shift IDShift) error {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return err
	}
	xattrs, err := readXattrs(p)
	if err != nil {
		return err
	}
	for _, bad := range []string{"redirect", "metacopy"} {
		if _, ok := xattrs["trusted.overlay."+bad]; ok {
			return fmt.Errorf("overlayfs %s xattr: mount without redirect_dir and metacopy to commit", bad)
		}
	}
	mtime := time.Unix(st.Mtim.Sec, 0).UTC()
	hdr := &tar.Header{Name: rel, Mode: int64(st.Mode & 0o7777), Uid: shift.unshift(st.Uid, shift.UID), Gid: shift.unshift(st.Gid, shift.GID), ModTime: mtime, Format: tar.FormatPAX}
	dir, base := filepath.Split(rel)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		if st.Rdev == 0 { // an overlayfs whiteout
			return tw.WriteHeader(&tar.Header{Name: dir + ".wh." + base, Typeflag: tar.TypeReg, ModTime: mtime, Format: tar.FormatPAX})
		}
		hdr.Typeflag, hdr.Devmajor, hdr.Devminor = tar.TypeChar, int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFBLK:
		hdr.Typeflag, hdr.Devmajor, hdr.Devminor = tar.TypeBlock, int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	case unix.S_IFLNK:
		hdr.Typeflag = tar.TypeSymlink
		if hdr.Linkname, err = os.Readlink(p); err != nil {
			return err
		}
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
	case unix.S_IFREG:
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := links[key]; ok && st.Nlink > 1 {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
			break
		}
		links[key] = rel
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
	default:
		return fmt.Errorf("file type %o cannot go in a layer", st.Mode&unix.S_IFMT)
	}
	opaque := false
	for name, value := range xattrs {
		if name == "trusted.overlay.opaque" || name == "user.overlay.opaque" {
			opaque = value == "y"
		}
		if strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.") {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords[paxXattr+name] = value
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
		if err := copyFile(tw, p, hdr.Size); err != nil {
			return err
		}
	}
	if opaque && hdr.Typeflag == tar.TypeDir {
		return tw.WriteHeader(&tar.Header{Name: rel + "/.wh..wh..opq", Typeflag: tar.TypeReg, ModTime: mtime, Format: tar.FormatPAX})
	}
	return nil
}

func copyFile(w io.Writer, p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err == nil && n != size {
		err = fmt.Errorf("file shrank while committing (%d of %d bytes)", n, size)
	}
	return err
}

// readXattrs returns p's extended attributes (not following symlinks).
func readXattrs(p string) (map[string]string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if errors.Is(err, unix.ERANGE) {
		if n, err = unix.Llistxattr(p, nil); err == nil {
			buf = make([]byte, n)
			n, err = unix.Llistxattr(p, buf)
		}
	}
	if errors.Is(err, unix.ENOTSUP) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list xattrs: %w", err)
	}
	out := map[string]string{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		val := make([]byte, 64<<10)
		m, err := unix.Lgetxattr(p, name, val)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read xattr %s: %w", name, err)
		}
		out[name] = string(val[:m])
	}
	return out, nil
}
