package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/dockah/dockah/rootfs/layer"
	"github.com/dockah/dockah/rootfs/merged"
)

// copyOp is one COPY or ADD, its words expanded.
type copyOp struct {
	instr   string   // "COPY" or "ADD"
	sources []string // as written
	dest    string   // absolute in the image; a trailing "/" says a directory
	chown   *owner
	chmod   *fs.FileMode
	unpack  bool // ADD: local tar archives are unpacked at dest
	now     time.Time
}

// copyResult says what a copy wrote.
type copyResult struct {
	// kind is "file", "dir" or "multi", for the history line.
	kind string
	// content is the digest of what was copied (names, modes, owners
	// and contents of the copied files, not their times, nor the
	// directories above them), for the cache key and the history line.
	content string
}

// copier writes a COPY's layer: the directories of the image on the way
// to the destination as the image has them, then the copied files.
type copier struct {
	tw      *tar.Writer
	content hash.Hash
	written map[string]bool
	op      copyOp
}

// writeCopy writes the layer tar of op to w. parent is the image copied
// into (where the destination is resolved), src where the files come
// from.
func writeCopy(w io.Writer, parent *merged.View, src tree, op copyOp) (copyResult, error) {
	c := &copier{tw: tar.NewWriter(w), content: sha256.New(), written: map[string]bool{}, op: op}
	var items []string
	glob := false
	for _, s := range op.sources {
		if isURL(s) {
			return copyResult{}, fmt.Errorf("%s %s: sources from URLs are not supported (download it into the context)", op.instr, s)
		}
		glob = glob || hasGlob(s)
		found, err := src.match(s)
		if err != nil {
			return copyResult{}, err
		}
		items = append(items, found...)
	}
	multi := len(items) > 1 || glob
	if multi && !strings.HasSuffix(op.dest, "/") {
		return copyResult{}, fmt.Errorf("%s with more than one source file: the destination must be a directory and end with a /", op.instr)
	}
	res := copyResult{kind: "multi"}
	for _, it := range items {
		n, err := src.stat(it)
		if err != nil {
			return copyResult{}, err
		}
		kind, err := c.item(parent, src, n, multi)
		if err != nil {
			return copyResult{}, err
		}
		if !multi {
			res.kind = kind
		}
	}
	if err := c.tw.Close(); err != nil {
		return copyResult{}, err
	}
	res.content = hex.EncodeToString(c.content.Sum(nil))
	return res, nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "git@")
}

// item copies one source path: a directory's content into the
// destination, a file to it or into it, an archive (ADD) unpacked into it.
func (c *copier) item(parent *merged.View, src tree, n node, multi bool) (string, error) {
	dest := c.op.dest
	switch {
	case n.mode.IsDir():
		base, err := c.destDir(parent, dest)
		if err != nil {
			return "", err
		}
		return "dir", c.tree(src, n.rel, base)
	case c.op.unpack:
		ok, err := c.unpackArchive(parent, n, dest)
		if ok || err != nil {
			return "file", err
		}
	}
	dir, name := dest, path.Base(n.rel)
	if !strings.HasSuffix(dest, "/") && !multi {
		if e, ok, err := parent.Lookup(dest, true); err != nil {
			return "", err
		} else if !ok || !e.IsDir() {
			dir, name = path.Dir(dest), path.Base(dest)
		}
	}
	base, err := c.destDir(parent, dir)
	if err != nil {
		return "", err
	}
	return "file", c.file(n, path.Join(base, name))
}

// destDir resolves dir inside the image and writes the directories on the
// way: the image's own with their metadata, the missing ones made (owned
// as --chown says, root otherwise). It returns the resolved path,
// relative to the image's root.
func (c *copier) destDir(parent *merged.View, dir string) (string, error) {
	w, err := parent.WalkParents(dir)
	if err != nil {
		return "", err
	}
	if w.Last != nil && len(w.Rest) > 0 {
		return "", fmt.Errorf("%s to %s: %s is not a directory in the image", c.op.instr, dir, w.Last.Path)
	}
	base := ""
	for _, d := range w.Dirs {
		base = d.Path[1:]
		if c.written[base] {
			continue
		}
		c.written[base] = true
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: base + "/", Mode: int64(d.Stat.Mode & 0o7777),
			Uid: int(d.Stat.Uid), Gid: int(d.Stat.Gid), ModTime: time.Unix(d.Stat.Mtim.Sec, 0), Format: tar.FormatPAX}
		if err := c.tw.WriteHeader(hdr); err != nil {
			return "", err
		}
	}
	for _, name := range w.Rest {
		base = path.Join(base, name)
		if c.written[base] {
			continue
		}
		c.written[base] = true
		uid, gid := 0, 0
		if c.op.chown != nil {
			uid, gid = c.op.chown.uid, c.op.chown.gid
		}
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: base + "/", Mode: 0o755, Uid: uid, Gid: gid,
			ModTime: c.op.now, Format: tar.FormatPAX}
		if err := c.tw.WriteHeader(hdr); err != nil {
			return "", err
		}
	}
	return base, nil
}

// tree copies the content of the directory rel of src below base.
func (c *copier) tree(src tree, rel, base string) error {
	children, err := src.list(rel)
	if err != nil {
		return err
	}
	for _, n := range children {
		target := path.Join(base, path.Base(n.rel))
		if n.mode.IsDir() {
			if n.mode&modeExcluded == 0 {
				if err := c.file(n, target); err != nil {
					return err
				}
			}
			if err := c.tree(src, n.rel, target); err != nil {
				return err
			}
			continue
		}
		if err := c.file(n, target); err != nil {
			return err
		}
	}
	return nil
}

// file writes one node at target (relative to the image's root).
func (c *copier) file(n node, target string) error {
	hdr := &tar.Header{Name: target, ModTime: n.mtime.Truncate(time.Second), Uid: n.uid, Gid: n.gid, Format: tar.FormatPAX}
	hdr.Mode = int64(n.mode.Perm())
	if n.mode&fs.ModeSetuid != 0 {
		hdr.Mode |= 0o4000
	}
	if n.mode&fs.ModeSetgid != 0 {
		hdr.Mode |= 0o2000
	}
	if n.mode&fs.ModeSticky != 0 {
		hdr.Mode |= 0o1000
	}
	switch {
	case n.mode.IsDir():
		hdr.Typeflag, hdr.Name = tar.TypeDir, target+"/"
		c.written[target] = true
	case n.mode&fs.ModeSymlink != 0:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, n.link
	case n.mode.IsRegular():
		hdr.Typeflag, hdr.Size = tar.TypeReg, n.size
	case n.mode&fs.ModeNamedPipe != 0:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil // sockets and devices are not copied
	}
	if c.op.chown != nil {
		hdr.Uid, hdr.Gid = c.op.chown.uid, c.op.chown.gid
	}
	if c.op.chmod != nil && hdr.Typeflag != tar.TypeSymlink {
		hdr.Mode = int64(*c.op.chmod)
	}
	c.digest(hdr)
	if err := c.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	f, err := n.open()
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := io.Copy(io.MultiWriter(c.tw, c.content), io.LimitReader(f, hdr.Size))
	if err == nil && m != hdr.Size {
		err = fmt.Errorf("%s changed while it was copied (%d of %d bytes)", n.rel, m, hdr.Size)
	}
	return err
}

// digest adds an entry's name, type, mode, owner, size and link to the
// content digest; its contents follow. Times are left out, as in
// Docker's and BuildKit's cache: a checkout or a touch that changes no
// byte finds the step in the cache.
func (c *copier) digest(hdr *tar.Header) {
	fmt.Fprintf(c.content, "%s\x00%c\x00%o\x00%d:%d\x00%d\x00%s\x00", hdr.Name, hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid, hdr.Size, hdr.Linkname)
}

// unpackArchive unpacks n into dest if it is a tar archive (plain, gzip
// or zstd), as ADD does with local archives; ok is false for any other
// file, which ADD copies as it is.
func (c *copier) unpackArchive(parent *merged.View, n node, dest string) (bool, error) {
	if !n.mode.IsRegular() {
		return false, nil
	}
	f, err := n.open()
	if err != nil {
		return false, err
	}
	defer f.Close()
	raw := bufio.NewReader(f)
	head, _ := raw.Peek(6)
	if bytes.HasPrefix(head, []byte("BZh")) || bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}) {
		return false, fmt.Errorf("ADD %s: bzip2 and xz archives are not supported (accepted: tar, tar.gz, tar.zst)", n.rel)
	}
	r, _, err := layer.Decompress(raw)
	if err != nil {
		return false, nil // not an archive of a kind we know: copied as is
	}
	defer r.Close()
	br := bufio.NewReaderSize(r, 1024)
	block, err := br.Peek(512)
	if err != nil || string(block[257:262]) != "ustar" {
		return false, nil
	}
	base, err := c.destDir(parent, dest)
	if err != nil {
		return true, err
	}
	fmt.Fprintf(c.content, "archive\x00%s\x00", n.rel)
	tr := tar.NewReader(br)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return true, fmt.Errorf("ADD %s: %w", n.rel, err)
		}
		if err := c.archiveEntry(tr, hdr, base); err != nil {
			return true, fmt.Errorf("ADD %s: %s: %w", n.rel, hdr.Name, err)
		}
	}
}

// archiveEntry writes one entry of an ADDed archive below base. Names
// are cleaned to stay below it (an absolute name or ".." cannot leave
// the destination); whiteouts are left out.
func (c *copier) archiveEntry(tr *tar.Reader, hdr *tar.Header, base string) error {
	name := inside(hdr.Name)
	if name == "" || strings.HasPrefix(path.Base(name), ".wh.") {
		return nil
	}
	out := *hdr
	out.Name = path.Join(base, name)
	out.Format = tar.FormatPAX
	out.Uname, out.Gname = "", ""
	switch hdr.Typeflag {
	case tar.TypeDir:
		out.Name += "/"
	case tar.TypeLink:
		out.Linkname = path.Join(base, inside(hdr.Linkname))
	case tar.TypeReg, tar.TypeSymlink, tar.TypeFifo:
	default:
		return nil // devices and tar extensions of other kinds
	}
	c.digest(&out)
	if err := c.tw.WriteHeader(&out); err != nil {
		return err
	}
	if out.Typeflag == tar.TypeReg {
		if _, err := io.Copy(io.MultiWriter(c.tw, c.content), tr); err != nil {
			return err
		}
	}
	return nil
}

// inside cleans an archive member's name into a path relative to the
// destination that cannot leave it.
func inside(name string) string { return strings.TrimPrefix(path.Clean("/"+name), "/") }

// owner is --chown's user and group.
type owner struct{ uid, gid int }

// parseChown reads --chown=USER[:GROUP]: numbers, or names looked up in
// the image's /etc/passwd and /etc/group. A user without a group takes
// the user's number as the group's too, as Docker does.
func parseChown(spec string, passwd, group func() (io.ReadCloser, error)) (*owner, error) {
	if spec == "" {
		return nil, nil
	}
	user, grp, hasGroup := strings.Cut(spec, ":")
	uid, err := lookupID(user, passwd, 2)
	if err != nil {
		return nil, fmt.Errorf("--chown=%s: user %s: %w", spec, user, err)
	}
	gid := uid
	if hasGroup {
		if gid, err = lookupID(grp, group, 2); err != nil {
			return nil, fmt.Errorf("--chown=%s: group %s: %w", spec, grp, err)
		}
	}
	return &owner{uid: uid, gid: gid}, nil
}

// lookupID is a number, or the field idField of the line of db whose
// first field is name.
func lookupID(name string, db func() (io.ReadCloser, error), idField int) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	f, err := db()
	if err != nil {
		return 0, fmt.Errorf("not a number, and the image has no database of names: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 4<<20))
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) > idField && fields[0] == name {
			return strconv.Atoi(fields[idField])
		}
	}
	return 0, errors.New("no such name in the image")
}

// parseChmod reads --chmod=OCTAL.
func parseChmod(spec string) (*fs.FileMode, error) {
	if spec == "" {
		return nil, nil
	}
	n, err := strconv.ParseUint(spec, 8, 32)
	if err != nil || n > 0o7777 {
		return nil, fmt.Errorf("--chmod=%s: want octal permission bits such as 0755", spec)
	}
	m := fs.FileMode(n)
	return &m, nil
}
