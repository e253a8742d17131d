package network

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// StateDir is the directory of the networks' state in a store.
func StateDir(store string) string { return filepath.Join(store, "networks") }

// Locked is a network's state, read under its exclusive lock.
type Locked struct {
	State *State
	path  string
	lock  *os.File
}

// OpenState locks the state of the network name in store and reads it. A
// state of another boot keeps its subnet and leases, with every holder
// cleared. Close (after Save, if it changed) releases the lock.
func OpenState(store, name string) (*Locked, error) {
	dir := StateDir(store)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("network state: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("network state: %w", err)
	}
	// Every start and stop of a container on the network takes it, so
	// that concurrent starts never hand out one address twice.
	for {
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("lock network %s: %w", name, err)
	}
	l := &Locked{State: &State{}, path: filepath.Join(dir, name+".json"), lock: lock}
	st, err := ReadState(l.path)
	if err != nil {
		l.Close()
		return nil, err
	}
	l.State = st
	if boot := BootID(); st.BootID != boot {
		for _, lease := range st.Leases {
			lease.Holder = Holder{}
		}
		st.BootID = boot
	}
	return l, nil
}

// ReadState reads a state file without locking (the resolver, the CLI):
// a state is only ever replaced whole, by rename. A missing file is an
// empty state; a damaged one is an error.
func ReadState(path string) (*State, error) {
	st := &State{}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("network state: %w", err)
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("network state %s: %w", path, err)
	}
	return st, nil
}

// Save replaces the state file: written to a temporary name and renamed,
// so that readers see the old state or the new one. It is not synced: the
// state is a record of running containers, which a power loss ends too,
// and a lost lease only costs a container its address, which the hash of
// its name gives back in most cases.
func (l *Locked) Save() error {
	data, err := json.MarshalIndent(l.State, "", "  ")
	if err != nil {
		return err
	}
	tmp := l.path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("network state: %w", err)
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return fmt.Errorf("network state: %w", err)
	}
	return nil
}

// Close releases the lock.
func (l *Locked) Close() error { return l.lock.Close() }

// BootID returns the kernel's boot id, or "" when it cannot be read.
func BootID() string {
	data, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return string(bytes.TrimSpace(data))
}

// Self returns the Holder of the calling process.
func Self() Holder {
	pid := os.Getpid()
	return Holder{Pid: pid, Start: startTime(pid)}
}

// startTime returns a process's start time (field 22 of /proc/PID/stat),
// or 0 when it has none.
func startTime(pid int) uint64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold blanks and parentheses: count
	// from the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(fields[19], 10, 64)
	return v
}

// holderAlive reports whether the process h still runs.
func holderAlive(h Holder) bool {
	return h.Pid > 0 && startTime(h.Pid) == h.Start && h.Start != 0
}

// StateFiles lists the networks that have a state in store.
func StateFiles(store string) []string {
	entries, _ := os.ReadDir(StateDir(store))
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, n)
		}
	}
	return names
}
