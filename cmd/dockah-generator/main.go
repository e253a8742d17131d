// Command dockah-generator is the systemd generator that turns container
// definitions into NAME.service and NAME.socket units.
//
// systemd runs it at boot and on every daemon-reload as
// "dockah-generator NORMAL EARLY LATE". It reads only the definition
// directories, writes only into NORMAL, and never fails the boot: each
// problem is logged on a line of its own (to /dev/kmsg, or to the journal
// where there is no /dev/kmsg, and to stderr), the bad definition gets a
// service that fails and shows the problem, and the good ones generate.
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"

	"github.com/dockah/dockah/unitgen"
	"golang.org/x/sys/unix"
)

// shimPath is the activation shim every NAME.service runs; the Makefile
// sets it with -X main.shimPath=$(LIBEXECDIR)/dockah/dockah-activate.
var shimPath = "/usr/local/libexec/dockah/dockah-activate"

const usage = `usage: dockah-generator NORMAL_DIR [EARLY_DIR LATE_DIR]

systemd runs this generator at boot and on daemon-reload. It reads container
definitions from /etc/dockah/containers, /run/dockah/containers and
/usr/lib/dockah/containers and writes NAME.service and NAME.socket units, and
the .wants/ links of wanted_by, into NORMAL_DIR. It never fails the boot: a
bad definition is reported (kmsg or journal, and stderr) and gets a service
that fails showing the problem; the others still generate.

To see what it would write: dockah generate --dry-run
`

func main() {
	os.Exit(run(os.Args[1:], hostFS{root: "/"}, os.Stdout, openLogger(os.Stderr)))
}

// run generates the units of the definitions in root into the directory
// args[0] and returns the exit status.
func run(args []string, root fs.FS, stdout io.Writer, log *logger) int {
	defer log.Close()
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if len(args) != 1 && len(args) != 3 {
		fmt.Fprint(log.stderr, usage)
		return 2
	}
	out, err := unitgen.Generate(root, unitgen.Options{ShimPath: shimPath})
	log.problems(err)
	if out == nil {
		return 1
	}
	// The slice of dockah run's scopes, with their device access list
	// (unitgen.ContainerSlice): defined whenever the generators ran.
	out.Units = append(out.Units, unitgen.SliceUnit())
	if err := write(args[0], out); err != nil {
		log.line("", "", fmt.Sprintf("write units: %v", err))
		return 1
	}
	return 0
}

// write writes the units and links into dir, which systemd empties before
// it runs the generators. It calls the system directly: through package
// os, every file would also go through the network poller.
func write(dir string, out *unitgen.Output) error {
	// A file at a time costs a few system calls: keep every CPU busy.
	workers := min(runtime.GOMAXPROCS(0), len(out.Units)/64+1)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(out.Units) && errs[w] == nil; i += workers {
				errs[w] = writeFile(dir+"/"+out.Units[i].Name, out.Units[i].Text)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	made := map[string]bool{}
	for _, l := range out.Links {
		if parent := path.Dir(l.Path); parent != "." && !made[parent] {
			if err := unix.Mkdir(dir+"/"+parent, 0o755); err != nil && err != unix.EEXIST {
				return &fs.PathError{Op: "mkdir", Path: dir + "/" + parent, Err: err}
			}
			made[parent] = true
		}
		if err := unix.Symlink(l.Target, dir+"/"+l.Path); err != nil {
			return &fs.PathError{Op: "symlink", Path: dir + "/" + l.Path, Err: err}
		}
	}
	return nil
}

// writeFile creates a file with text in it.
func writeFile(p, text string) error {
	if strings.Contains(path.Base(path.Dir(p)), ".service.d") {
		// A drop-in: its directory is the only one the generator makes.
		if err := unix.Mkdir(path.Dir(p), 0o755); err != nil && err != unix.EEXIST {
			return &fs.PathError{Op: "mkdir", Path: path.Dir(p), Err: err}
		}
	}
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return &fs.PathError{Op: "open", Path: p, Err: err}
	}
	for data := []byte(text); len(data) > 0; {
		n, err := unix.Write(fd, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(fd)
			return &fs.PathError{Op: "write", Path: p, Err: err}
		}
		data = data[n:]
	}
	if err := unix.Close(fd); err != nil {
		return &fs.PathError{Op: "close", Path: p, Err: err}
	}
	return nil
}
