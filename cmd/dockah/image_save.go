//go:build !lean

package main

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/dockah/dockah/rootfs/archive"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func newImageSaveCommand(opts *globalOptions) *cobra.Command {
	var output, format string
	cmd := &cobra.Command{
		Use:   "save IMAGE... [-o FILE]",
		Short: "Save images as an OCI layout or docker-archive tar",
		Long: `Save images to FILE as a tar: an OCI image layout (--format oci, the
default) or a docker-archive (--format docker-archive, what docker load
reads). Layers are written uncompressed with the digests they were imported
with, so importing FILE again gives the same image IDs.

Without -o, or with -o - or -o /dev/stdout, the archive goes to standard
output, which must not be a terminal. A regular FILE is written beside
itself and renamed into place once complete; anything else (a pipe, a
device, /dev/fd/N) is written in place.`,
		Example: `  dockah image save nginx:1.25 -o nginx-oci.tar
  dockah image save --format docker-archive web:stable -o web.tar && docker load < web.tar
  dockah image save web:stable | ssh host dockah image import -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := openStore(opts)
			if err != nil {
				return err
			}
			return writeArchive(c.OutOrStdout(), output, func(w io.Writer) error {
				return archive.Save(st, args, w, archive.Format(format))
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write, - for standard output (default: standard output)")
	cmd.Flags().StringVar(&format, "format", string(archive.FormatOCI), "oci or docker-archive")
	return cmd
}

// stdoutPaths are the paths that mean the command's own standard output
// (as do no -o and -o -). It is written as it is: opening /proc/self/fd/1
// again would fail for a socket (a service's stdout) and start at offset
// 0 of a file.
var stdoutPaths = map[string]bool{"/dev/stdout": true, "/dev/fd/1": true, "/proc/self/fd/1": true}

// fdPath matches the names of open file descriptors: what they lead to is
// written in place, never replaced by a rename.
var fdPath = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^/(dev/(stdout|stderr|fd/[0-9]+)|proc/(self|thread-self|[0-9]+)/fd/[0-9]+)$`)
})

// writeArchive writes what fill produces to the place -o output names:
// stdout, a file written in place, or a regular file replaced atomically.
func writeArchive(stdout io.Writer, output string, fill func(io.Writer) error) error {
	if output == "" || output == "-" || stdoutPaths[filepath.Clean(output)] {
		if err := refuseTerminal(stdout); err != nil {
			return err
		}
		return writeBuffered(stdout, fill)
	}
	info, err := os.Stat(output)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	switch {
	case err == nil && !info.Mode().IsRegular():
		return writeInPlace(output, os.O_WRONLY, fill)
	case err == nil && fdPath().MatchString(filepath.Clean(output)):
		// A shell's "2>>log" must not lose the log: append, as the
		// descriptor itself would.
		return writeInPlace(output, os.O_WRONLY|os.O_APPEND, fill)
	}
	return writeFileAtomic(output, func(f *os.File) error { return writeBuffered(f, fill) })
}

// writeInPlace opens an existing file that is not to be replaced (a pipe,
// a device, an open descriptor's file) and writes to it.
func writeInPlace(path string, flag int, fill func(io.Writer) error) error {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := refuseTerminal(f); err != nil {
		return err
	}
	if err := writeBuffered(f, fill); err != nil {
		return err
	}
	return f.Close()
}

// writeBuffered gathers the many small writes of a tar (headers,
// padding) into large ones.
func writeBuffered(w io.Writer, fill func(io.Writer) error) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	if err := fill(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// refuseTerminal keeps an archive's bytes off a terminal, as docker save
// does.
func refuseTerminal(w io.Writer) error {
	if isTerminal(w) {
		return errors.New("refusing to write an archive to a terminal; use -o FILE")
	}
	return nil
}

// isTerminal reports whether v (a reader or a writer) is a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
