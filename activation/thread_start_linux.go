package activation

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// The thread start builds a container without a setup stage process: a
// locked thread of the shim unshares the container's namespaces, builds
// and enters its root, and clones the container's pid 1 (C, in
// spawn_linux.go), which mounts /proc, takes the user and the policy and
// execs the entrypoint. It saves what a stage costs: a clone and exec of
// another binary, the Go runtime starting once more, and the
// configuration passed as JSON. /proc is the one part that must wait for
// the child: a procfs shows the pid namespace of the process mounting it,
// and a new pid namespace has no process until its pid 1 exists.

// stageProcessEnv set to 1 makes every start use the setup stage process,
// to compare the two or to rule the thread start out.
const stageProcessEnv = "DOCKAH_STAGE_PROCESS"

// canStartOnThread reports whether cfg can start from a thread: the cgo
// build, stdio that are files (or the shim's), no init (but with a user
// namespace, whose pid 1 becomes the init), new mount and pid namespaces, and nothing mounted under /proc but the
// procfs itself.
func canStartOnThread(cfg *Config, opts StartOptions) bool {
	if !spawnAvailable || os.Getenv(stageProcessEnv) == "1" {
		return false
	}
	if cfg.Init && cfg.UserNS == nil {
		// A container with a user namespace gets the init from its
		// pid 1 (become_init in spawn_linux.go); the others from the
		// setup stage.
		return false
	}
	for _, std := range []any{opts.Stdin, opts.Stdout, opts.Stderr} {
		if _, isFile := std.(*os.File); std != nil && !isFile {
			return false // copied by a goroutine: exec.Cmd's job
		}
	}
	spec := cfg.Spec
	if spec == nil || spec.Process == nil {
		return false
	}
	flags := cloneFlags(spec)
	if flags&unix.CLONE_NEWNS == 0 || flags&unix.CLONE_NEWPID == 0 {
		return false
	}
	procfs := 0
	for _, m := range spec.Mounts {
		if !underProc(m.Destination) {
			continue
		}
		if m.Destination != "/proc" || m.Type != "proc" {
			return false
		}
		procfs++
	}
	return procfs == 1
}

// underProc reports whether p is /proc or below it.
func underProc(p string) bool { return p == "/proc" || strings.HasPrefix(p, "/proc/") }

type threadResult struct {
	c   *Container
	err error
}

// pidfdChecked makes Go's one-time check of pidfd support, which forks a
// child that exits at once (os.checkPidfd), happen here, on a thread of
// the host's pid namespace: made first by the building thread's
// os.FindProcess, after its unshare, it would be the container's pid 2.
var pidfdChecked = sync.OnceFunc(func() {
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Release()
	}
})

// startOnThread is Start by the thread start.
func startOnThread(cfg *Config, opts StartOptions) (*Container, error) {
	pidfdChecked()
	done := make(chan threadResult, 1)
	go buildOnOwnThread(cfg, opts, done)
	r := <-done
	return r.c, r.err
}

// buildOnOwnThread builds the container on a thread that ends with it.
func buildOnOwnThread(cfg *Config, opts StartOptions, done chan<- threadResult) {
	// Never unlocked: when this goroutine ends, Go ends the thread, and
	// with it the thread's hold on the namespaces and the root.
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		// The main thread, which Go never ends and whose namespaces and
		// root /proc/self shows as the whole process's: hand the work
		// to another thread, holding this one meanwhile so that the
		// work cannot land here.
		inner := make(chan threadResult, 1)
		go buildOnOwnThread(cfg, opts, inner)
		done <- <-inner
		runtime.UnlockOSThread()
		return
	}
	c, err := buildOnThread(cfg, opts)
	done <- threadResult{c, err}
}

func buildOnThread(cfg *Config, opts StartOptions) (*Container, error) {
	// Read while the host's /proc is still there.
	last, err := lastCap()
	if err != nil {
		return nil, err
	}
	flags := cloneFlags(cfg.Spec)
	var ns *usernsBuild
	if cfg.UserNS != nil {
		ns = &usernsBuild{m: cfg.UserNS}
		// Closed once the container's pid 1 has exec'd or failed.
		defer ns.close()
		err := userNamespaceHelper(cfg.UserNS, flags, func(pid int) error {
			var err error
			ns.userns, err = joinHelperNamespaces(pid, flags)
			return err
		})
		if err != nil {
			return nil, err
		}
	} else if err := unix.Unshare(int(flags)); err != nil {
		return nil, fmt.Errorf("create container namespaces: %w", err)
	}
	// The thread has a file system context of its own now (a new mount
	// namespace implies it), so the umask is the thread's.
	unix.Umask(0)
	var netns *os.File
	if flags&unix.CLONE_NEWNET != 0 {
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("open the container's network namespace: %w", err)
		}
		netns = os.NewFile(uintptr(fd), "netns")
		if opts.NetNSCreated != nil {
			opts.NetNSCreated(netns)
		}
		if opts.Network != nil {
			// The network is set up while the root is built; the
			// entrypoint waits for it before BeforeExec.
			wait, before := joinNetworkAsync(fd, opts.Network), opts.BeforeExec
			opts.BeforeExec = func() error {
				if err := wait(); err != nil {
					return err
				}
				if before != nil {
					return before()
				}
				return nil
			}
		}
	}
	c, err := spawnOnThread(cfg, opts, last, ns)
	if err != nil {
		if netns != nil {
			netns.Close()
		}
		return nil, err
	}
	c.NetNS = netns
	return c, nil
}

func spawnOnThread(cfg *Config, opts StartOptions, last int, ns *usernsBuild) (*Container, error) {
	stdio := [3]*os.File{}
	stdin := 0
	if f, ok := opts.Stdin.(*os.File); ok {
		stdio[0], stdin = f, int(f.Fd())
	}
	if f, ok := opts.Stdout.(*os.File); ok {
		stdio[1] = f
	}
	if f, ok := opts.Stderr.(*os.File); ok {
		stdio[2] = f
	}
	root, err := buildRoot(cfg, underProc, stdin, ns)
	if err != nil {
		return nil, err
	}
	defer unix.Close(root)
	if err := setUpUTSAndNetwork(cfg); err != nil {
		return nil, err
	}
	// Pid 1 in its namespace, or 2 under dockah's init.
	entryPid := 1
	if cfg.Init {
		entryPid = 2
	}
	user, argv0, env, err := resolveProcess(cfg, root, entryPid)
	if err != nil {
		return nil, err
	}
	procMount, err := procMountOptions(cfg)
	if err != nil {
		return nil, err
	}
	var masks, readOnly []string
	if l := cfg.Spec.Linux; l != nil {
		masks, readOnly = keep(l.MaskedPaths, underProc), keep(l.ReadonlyPaths, underProc)
	}
	Trace("thread: root built")
	pid, report, goAhead, release, err := spawnChild(cfg, stdio, opts.Sockets, procMount, masks, readOnly, user, last, argv0, env, opts.Sibling, ns)
	if err != nil {
		return nil, err
	}
	defer report.Close()
	defer goAhead.Close()
	// Every return below comes after the child has exec'd or exited
	// (the end of report, or c.fail, which waits for its death).
	defer release()
	Trace("thread: spawned")
	c := &Container{Pid: pid}
	if p, err := os.FindProcess(pid); err == nil {
		c.proc = p
	}
	if opts.Started != nil {
		// It must not touch files: this thread's root is the container's.
		opts.Started(pid)
	}
	// The child writes msgExec when it is set up and waits for the
	// go-ahead; an error instead if anything fails. The pipe closes at
	// exec (O_CLOEXEC) or exit.
	first := make([]byte, 1)
	n, _ := report.Read(first)
	if n == 1 && first[0] == msgExec {
		Trace("thread: child set up")
		if opts.BeforeExec != nil {
			// Not on this thread, whose root is the container's.
			done := make(chan error, 1)
			go func() { done <- opts.BeforeExec() }()
			if err := <-done; err != nil {
				return nil, c.fail(err)
			}
		}
		if _, err := goAhead.Write([]byte{'G'}); err != nil {
			return nil, c.fail(fmt.Errorf("let the container run: %w", err))
		}
	}
	rest, err := io.ReadAll(io.LimitReader(report, 64<<10))
	if err != nil {
		return nil, c.fail(fmt.Errorf("read setup result: %w", err))
	}
	if err := c.interpret(childReport(append(first[:n], rest...))); err != nil {
		return nil, err
	}
	return c, nil
}

// childReport turns the child's "E<step>\0<errno>" into the setup stage's
// "E<step>: <error>".
func childReport(reply []byte) []byte {
	i := bytes.IndexByte(reply, msgError)
	if i < 0 {
		return reply
	}
	step, num, found := bytes.Cut(reply[i+1:], []byte{0})
	if !found {
		return reply
	}
	errno, err := strconv.Atoi(string(num))
	if err != nil {
		return reply
	}
	return append(append(reply[:i:i], msgError), fmt.Sprintf("%s: %v", step, unix.Errno(errno))...)
}

// procMountOptions returns how the spec mounts /proc.
func procMountOptions(cfg *Config) (mountOptions, error) {
	for _, m := range cfg.Spec.Mounts {
		if m.Destination != "/proc" {
			continue
		}
		opts, err := parseMountOptions(keep(m.Options, func(o string) bool { return o != OptionalMount }))
		if err != nil {
			return mountOptions{}, fmt.Errorf("mount proc on /proc: %w", err)
		}
		if opts.bind || opts.propagation != 0 {
			return mountOptions{}, errors.New("mount proc on /proc: only flags and data are supported")
		}
		return opts, nil
	}
	return mountOptions{}, errors.New("no proc mount on /proc")
}
