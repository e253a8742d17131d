package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Limits of the child that reads an rpm database.
const (
	rpmMaxMemory = 2 << 30   // address space
	rpmMaxCPU    = 60        // seconds
	rpmMaxOutput = 512 << 20 // bytes of JSON
)

// rpmResult is what the child writes.
type rpmResult struct {
	Packages []RPMPackage `json:"packages"`
	Error    string       `json:"error,omitempty"`
}

// IsolatedRPM returns an RPMReader that reads each database in a child
// process: argv with the database's path appended, a program that calls
// ServeRPM with that path (the dockah command runs itself,
// "dockah image read-rpmdb PATH"). A child that crashes, runs out of
// its memory or CPU time, outlives ctx or writes more than 512 MiB is an
// error of that database alone.
func IsolatedRPM(argv ...string) RPMReader {
	return func(ctx context.Context, p string) ([]RPMPackage, error) {
		cmd := exec.CommandContext(ctx, argv[0], append(argv[1:len(argv):len(argv)], p)...)
		var stderr bytes.Buffer
		cmd.Stderr = &limitedWriter{w: &stderr, n: 64 << 10}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		cmd.WaitDelay = time.Second
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("read rpm database: %w", err)
		}
		out, readErr := io.ReadAll(io.LimitReader(stdout, rpmMaxOutput+1))
		waitErr := cmd.Wait()
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("read rpm database: gave up waiting for the reader: %w", ctx.Err())
		case len(out) > rpmMaxOutput:
			return nil, fmt.Errorf("read rpm database: more than %d bytes of packages", rpmMaxOutput)
		case readErr != nil:
			return nil, fmt.Errorf("read rpm database: %w", readErr)
		case waitErr != nil:
			msg := strings.TrimSpace(stderr.String())
			if i := strings.LastIndexByte(msg, '\n'); i >= 0 && !strings.HasPrefix(msg, "panic") {
				msg = msg[i+1:]
			}
			if j := strings.IndexByte(msg, '\n'); j >= 0 {
				msg = msg[:j] // the first line of a panic
			}
			return nil, fmt.Errorf("read rpm database: the reader failed (%v): %s", waitErr, truncate(msg, 200))
		}
		var res rpmResult
		if err := json.Unmarshal(out, &res); err != nil {
			return nil, fmt.Errorf("read rpm database: the reader's output: %w", err)
		}
		if res.Error != "" {
			return res.Packages, errors.New(res.Error)
		}
		return res.Packages, nil
	}
}

// ServeRPM is the child of IsolatedRPM: it limits its own memory and CPU
// time, reads the rpm database at p and writes the packages, or the
// error, to w as JSON.
func ServeRPM(p string, w io.Writer) error {
	for _, l := range []struct {
		res int
		max uint64
	}{{unix.RLIMIT_AS, rpmMaxMemory}, {unix.RLIMIT_CPU, rpmMaxCPU}, {unix.RLIMIT_CORE, 0}} {
		if err := unix.Setrlimit(l.res, &unix.Rlimit{Cur: l.max, Max: l.max}); err != nil {
			return fmt.Errorf("limit the rpm reader: %w", err)
		}
	}
	debug.SetMemoryLimit(rpmMaxMemory / 2)
	pkgs, err := ReadRPMDatabase(context.Background(), p)
	res := rpmResult{Packages: pkgs}
	if err != nil {
		res.Error = err.Error()
	}
	return json.NewEncoder(w).Encode(res)
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
