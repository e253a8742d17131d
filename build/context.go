package build

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// IgnoreFiles are the files of the context that list what COPY and ADD
// leave out, the first found wins: Podman's before Docker's.
var IgnoreFiles = []string{".containerignore", ".dockerignore"}

// Context is the build context: a directory COPY and ADD read from, and
// nothing outside it.
type Context struct {
	// Dir is the context directory.
	Dir  string
	root *os.Root
	fsys fs.ReadLinkFS
	// ignore matches what the ignore file excludes; nil when none.
	ignore *patternmatcher.PatternMatcher
	// IgnoreFile is the ignore file that was read, "" when none.
	IgnoreFile string
}

// OpenContext opens the context directory dir and reads its ignore file.
func OpenContext(dir string) (*Context, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	c := &Context{Dir: dir, root: root, fsys: root.FS().(fs.ReadLinkFS)}
	for _, name := range IgnoreFiles {
		f, err := root.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("build context: %w", err)
		}
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err == nil {
			c.ignore, err = patternmatcher.New(patterns)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c.IgnoreFile = name
		break
	}
	return c, nil
}

// Close closes the context directory.
func (c *Context) Close() error { return c.root.Close() }

// Ignored reports whether the ignore file excludes rel, a path relative
// to the context (as Docker: a pattern matching a parent excludes the
// path too, unless a later ! pattern brings it back).
func (c *Context) Ignored(rel string) (bool, error) {
	if c.ignore == nil || rel == "." {
		return false, nil
	}
	return c.ignore.MatchesOrParentMatches(rel)
}

// hasExceptions says whether the ignore file has ! patterns: an excluded
// directory must then still be walked for what they bring back.
func (c *Context) hasExceptions() bool { return c.ignore != nil && c.ignore.Exclusions() }

// ErrOutsideContext is wrapped by errors of paths that would leave the
// context by "..": they are resolved inside it instead, so this is only
// reported for what cannot be (a symlink loop).
var errLinkLoop = errors.New("too many levels of symbolic links")

// maxLinks is the kernel's limit on the symlinks one lookup follows.
const maxLinks = 40

// ResolveInRoot resolves p, a path of the context (absolute paths and
// ".." stay inside it), following every symlink inside the root as if
// the context were "/", as Docker resolves COPY's sources. It returns
// the path relative to the root ("." for the root itself), which names
// no symlink but, unless follow, the last element. A missing element is
// fs.ErrNotExist.
func ResolveInRoot(fsys fs.ReadLinkFS, p string, follow bool) (string, error) {
	var done []string // resolved, each a directory of the root
	todo := splitPath(p)
	links := 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if name == ".." {
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := path.Join(append(done, name)...)
		info, err := fsys.Lstat(cur)
		if err != nil {
			return "", err
		}
		if info.Mode()&fs.ModeSymlink != 0 && (follow || len(todo) > 0) {
			if links++; links > maxLinks {
				return "", &fs.PathError{Op: "resolve", Path: p, Err: errLinkLoop}
			}
			target, err := fsys.ReadLink(cur)
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(target, "/") {
				done = nil
			}
			todo = append(splitPath(target), todo...)
			continue
		}
		if !info.IsDir() && len(todo) > 0 {
			return "", &fs.PathError{Op: "resolve", Path: p, Err: errNotDir}
		}
		done = append(done, name)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

var errNotDir = errors.New("not a directory")

// splitPath returns the elements of p, without empty ones and ".".
func splitPath(p string) []string {
	var out []string
	for _, e := range strings.Split(p, "/") {
		if e != "" && e != "." {
			out = append(out, e)
		}
	}
	return out
}

// hasGlob reports whether a COPY source is a pattern.
func hasGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// Match returns the paths of the context that a COPY source names: the
// path resolved inside the context, or for a pattern every path it
// matches (path.Match, as Docker), leaving out what the ignore file
// excludes. A source that names nothing, or only excluded files, is an
// error.
func (c *Context) Match(src string) ([]string, error) {
	clean := path.Clean("/" + src)[1:]
	if clean == "" {
		clean = "."
	}
	if !hasGlob(clean) {
		rel, err := ResolveInRoot(c.fsys, clean, true)
		if err == nil {
			var ignored bool
			if ignored, err = c.Ignored(rel); err == nil && ignored {
				err = fs.ErrNotExist
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: not found in the build context or excluded by %s: %w", src, c.ignoreName(), err)
		}
		return []string{rel}, nil
	}
	var out []string
	err := fs.WalkDir(c.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		ignored, err := c.Ignored(p)
		if err != nil {
			return err
		}
		ok, err := path.Match(clean, p)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		if ok && !ignored {
			out = append(out, p)
		}
		if d.IsDir() && ok {
			return fs.SkipDir
		}
		if d.IsDir() && ignored && !c.hasExceptions() {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no file of the build context matches (or all are excluded by %s)", src, c.ignoreName())
	}
	return out, nil
}

func (c *Context) ignoreName() string {
	if c.IgnoreFile == "" {
		return ".containerignore or .dockerignore"
	}
	return c.IgnoreFile
}

// open opens rel, a path ResolveInRoot returned, for reading: os.Root
// refuses anything that would leave the context, whatever changed since.
func (c *Context) open(rel string) (io.ReadCloser, error) { return c.root.Open(rel) }

// lstat looks at rel without following a symlink there.
func (c *Context) lstat(rel string) (fs.FileInfo, error) { return c.root.Lstat(rel) }

// readDir lists the directory rel.
func (c *Context) readDir(rel string) ([]fs.DirEntry, error) { return fs.ReadDir(c.fsys, rel) }

// readLink reads the symlink rel.
func (c *Context) readLink(rel string) (string, error) { return c.fsys.ReadLink(rel) }
