package main

import (
	"path/filepath"

	"github.com/dockah/dockah/tests/box"
)

// defaultResults is where the results go without -out.
const defaultResults = "bench/results"

// resultsDir is where a run's results go unless -out says otherwise:
// bench/results for the host's systemd, bench/results/OS for another tree
// (DOCKAH_BOX_OS=debian13), so that each systemd version keeps its own
// report, chart and dated copies.
func resultsDir(out string, o box.OS) string {
	switch {
	case out != "":
		return out
	case o == box.Host:
		return defaultResults
	default:
		return filepath.Join(defaultResults, string(o))
	}
}

// boxTree says, for the report, which systemd the box runs.
func boxTree(o box.OS) string {
	if o == box.Host {
		return "the host's systemd booted by systemd-nspawn in a copy-on-write view of /"
	}
	return "the systemd of " + string(o) + ", from a tree that tests/box builds with mmdebstrap, booted by the host's systemd-nspawn in a copy-on-write view of that tree"
}
