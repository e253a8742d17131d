package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/opencontainers/go-digest"

	"github.com/dockah/dockah/rootfs/archive"
	"github.com/dockah/dockah/rootfs/layer"
)

// runArgv is the command line RUN runs: the exec form as given, the shell
// form (heredocs included, as BuildKit runs them) by the stage's shell.
func runArgv(img *Image, c *instructions.RunCommand) ([]string, error) {
	args := c.CmdLine
	if len(c.Files) > 0 {
		if len(args) != 1 || !c.PrependShell {
			return nil, fmt.Errorf("a heredoc needs the shell form of RUN")
		}
		if h := parser.MustParseHeredoc(args[0]); h != nil {
			data := c.Files[0].Data
			if c.Files[0].Chomp {
				data = parser.ChompHeredocContent(data)
			}
			if strings.HasPrefix(data, "#!") {
				return nil, fmt.Errorf("a heredoc with a #! line is not supported (run the interpreter on a heredoc instead: RUN python3 <<EOF)")
			}
			args = []string{data}
		} else {
			var sb strings.Builder
			sb.WriteString(args[0])
			for _, f := range c.Files {
				sb.WriteByte('\n')
				sb.WriteString(f.Data)
				sb.WriteString(f.Name)
			}
			args = []string{sb.String()}
		}
	}
	if c.PrependShell {
		return append(shellOf(img), strings.Join(args, " ")), nil
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("RUN with an empty command")
	}
	return append([]string(nil), args...), nil
}

// run runs a RUN in a container on st and makes its writable layer the
// step's layer.
func (b *builder) run(ctx context.Context, st *state, scope *argScope, c *instructions.RunCommand, code string, args []string) (*state, error) {
	argv, err := runArgv(&st.cfg, c)
	if err != nil {
		return nil, err
	}
	return b.cached(st, code, args, "", func() (*state, error) {
		name := containerName()
		remove := func() { _ = b.o.Store.RemoveContainer(name) }
		b.cleanups = append(b.cleanups, remove)
		defer remove()
		out := &tail{max: 64 << 10}
		var w io.Writer = out
		if !b.o.Quiet {
			w = io.MultiWriter(b.o.Out, out)
		}
		req := RunRequest{Image: st.id, Args: argv, Env: scope.runEnv(&st.cfg), Network: b.o.Network, Output: w}
		status, err := b.o.Runner.Run(ctx, name, req)
		if err != nil {
			return nil, fmt.Errorf("RUN: %w", err)
		}
		if status != 0 {
			return nil, runFailed(argv, status, out.String(), b.o.Quiet)
		}
		// A step's container has a user namespace of its own (the
		// default): its layer holds the range's IDs, committed as the
		// container's, as dockah commit does.
		r, err := b.o.Store.ContainerIDRange(name)
		if err != nil {
			return nil, err
		}
		info, err := archive.CommitLayer(b.o.Store, name, nil, layer.IDShift{UID: r.UID, GID: r.GID, Size: r.Size})
		if err != nil {
			return nil, err
		}
		return b.store(cloneImage(st.cfg), runHistory(args, argv), info.DiffID)
	})
}

// runFailed is the error of a command that failed: its status, and its
// output when it was not shown.
func runFailed(argv []string, status int, output string, quiet bool) error {
	msg := fmt.Sprintf("the command %q returned exit status %d", strings.Join(argv, " "), status)
	switch {
	case !quiet:
		msg += " (its output is above)"
	case output != "":
		msg += ":\n" + strings.TrimRight(output, "\n")
	}
	return fmt.Errorf("%s", msg)
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

func digestOf(d string) digest.Digest { return digest.Digest(d) }

// absDest is COPY's destination in the image: a relative one is below
// the working directory; a trailing "/" is kept.
func absDest(workdir, dest string) string {
	if path.IsAbs(dest) {
		return dest
	}
	if workdir == "" {
		workdir = "/"
	}
	p := path.Join(workdir, dest)
	if strings.HasSuffix(dest, "/") || dest == "." || dest == "./" {
		p += "/"
	}
	return p
}
