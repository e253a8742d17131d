package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// dockah is built twice from this package. The full build has every
// command. The lean build (the "lean" build tag, lean.go), which the
// Makefile installs as dockah, has only those of the start path: run,
// and the commands that operate on containers. It links none of the
// registry client, the image formats, the build, the inventory or
// Kubernetes YAML, so it starts in about two thirds of the time (their
// initialisation, a binary a quarter the size, fewer page faults), which
// is on the path of every dockah run. For any other command, and for a
// run whose image must first be pulled, it executes the full build with
// the same arguments: that costs the lean build's start once, on
// commands whose own work takes far longer.

// fullPath is where the full build is installed; the Makefile sets it.
var fullPath = "/usr/local/libexec/dockah/dockah-full"

// fullName is the full build's file name: beside the lean one in bin/,
// in LIBEXECDIR/dockah once installed.
const fullName = "dockah-full"

// errFullBuild is the lean build's word that the full build must do the
// command.
var errFullBuild = errors.New("this needs the full build of dockah")

// commandWord returns the first argument that is not a flag of root's
// own (--root DIR, --root=DIR, -q, --quiet), the command; "" when there
// is none or a flag it does not know comes first.
func commandWord(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--root":
			i++ // its value
		case strings.HasPrefix(a, "--root="), a == "-q", a == "--quiet":
		case strings.HasPrefix(a, "-"):
			return "" // --help, --, or a flag only the full build can judge
		default:
			return a
		}
	}
	return ""
}

// hasCommand reports whether root does the command word itself.
func hasCommand(root *cobra.Command, word string) bool {
	if word == "" {
		return false
	}
	for _, c := range root.Commands() {
		if c.Name() == word || slices.Contains(c.Aliases, word) {
			return true
		}
	}
	return false
}

// handOver executes the full build with args when this is the lean build
// and root does not have their command; it returns only if not.
func handOver(root *cobra.Command, args []string) {
	if leanBuild && !hasCommand(root, commandWord(args)) {
		execFull(args)
	}
}

// execFull replaces this process with the full build, run with args.
func execFull(args []string) {
	path := fullBinary()
	err := syscall.Exec(path, append([]string{os.Args[0]}, args...), os.Environ())
	fmt.Fprintf(os.Stderr, "dockah: run the full build %s: %v (make install puts it there)\n", path, err)
	os.Exit(exitRunFailed)
}

// fullBinary is the full build beside this program (bin/ of a checkout),
// or else the one installed.
func fullBinary() string {
	if self, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(self), fullName)
		if _, err := os.Stat(beside); err == nil {
			return beside
		}
	}
	return fullPath
}
