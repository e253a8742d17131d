package activation

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// stageEnv carries the fd of the sync socket to the setup stage; its
// presence is what makes the shim binary run as the setup stage.
const stageEnv = "_DOCKAH_STAGE"

// Messages on the sync socket from the setup stage to the shim.
const (
	msgExec  = 'X' // setup done, exec follows; EOF after it means exec succeeded
	msgError = 'E' // followed by a one-line error
)

// ExitSetupFailed is the exit status of a container whose setup failed
// before its entrypoint ran. It is not one systemd treats as clean, so
// Restart=on-failure applies.
const ExitSetupFailed = 125

func init() {
	// The setup stage runs on the main thread: the init re-executes
	// itself from it, and the app stage's parent-death signal is tied to
	// the thread that started it.
	if IsStage() {
		runtime.LockOSThread()
	}
}

// IsStage reports whether this process was started as the setup stage of
// a container. main calls it first thing and, if so, RunStage.
func IsStage() bool { return os.Getenv(stageEnv) != "" }

// RunStage is the setup stage: it runs inside the container's new
// namespaces as its pid 1, builds the root, applies the policy and execs
// the entrypoint. It only returns through exit.
func RunStage() {
	// Credentials, the seccomp filter and no_new_privs are per thread:
	// everything from here to exec happens on this one.
	runtime.LockOSThread()
	fd, err := strconv.Atoi(os.Getenv(stageEnv))
	if err != nil || fd < 3 {
		fmt.Fprintf(os.Stderr, "dockah-activate: bad %s\n", stageEnv)
		os.Exit(ExitSetupFailed)
	}
	os.Unsetenv(stageEnv)
	Trace("stage: running")
	sync := os.NewFile(uintptr(fd), "sync")
	switch {
	case os.Getenv(appStageEnv) != "":
		err = runAppStage(sync)
	case os.Getenv(execStageEnv) != "":
		err = runExecStage(sync)
	default:
		var cfg *Config
		cfg, err = readConfig(sync)
		Trace("stage: config read")
		if err == nil {
			err = setupAndExec(cfg, sync)
		}
	}
	// Only failures get here.
	report(sync, err)
	os.Exit(ExitSetupFailed)
}

func report(sync *os.File, err error) {
	msg := []byte{msgError}
	msg = append(msg, err.Error()...)
	_, _ = sync.Write(msg)
}

func setupAndExec(cfg *Config, sync *os.File) error {
	// Modes below are exact; the entrypoint gets the usual 022 back.
	unix.Umask(0)
	if err := ownSession(); err != nil {
		return err
	}
	var init *initSetup
	if cfg.Init {
		var err error
		if init, err = startAppStage(cfg, sync); err != nil {
			return err
		}
		if err := init.waitLoaded(); err != nil {
			return err
		}
		if err := init.pinSelf(); err != nil {
			return err
		}
	}
	root, err := buildRoot(cfg, nil, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	if err := setUpUTSAndNetwork(cfg); err != nil {
		return err
	}
	if init != nil {
		// The app stage reports to the shim from now on.
		sync.Close()
		return becomeInit(cfg, init)
	}
	return execEntrypoint(cfg, root, sync)
}

// ownSession puts the container in a session of its own, as Docker does,
// and makes its terminal, if it has one, the session's controlling
// terminal: the shim's exit, which ends the shim's session, must not hang
// up the container.
func ownSession() error {
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("new session: %w", err)
	}
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err != nil {
		return nil
	}
	// 1: take the terminal over from the shim's session.
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 1); err != nil {
		return fmt.Errorf("take the terminal: %w", err)
	}
	return nil
}

// buildRoot mounts the root and everything in it, pivots into it and
// returns an O_PATH fd of the new "/". Mounts, masks and read-only paths
// at destinations later says yes to are left out, for the caller to do
// after pivot_root (the /proc of a pid namespace whose pid 1 does not
// exist yet).
// stdin is the fd the container's stdin comes from, for /dev/console.
func buildRoot(cfg *Config, later func(dest string) bool, stdin int) (int, error) {
	s, err := mountScratch(cfg)
	if err != nil {
		return -1, err
	}
	Trace("stage: overlay mounted")
	root, err := unix.Open(s.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open root: %w", err)
	}
	defer unix.Close(root)
	if err := mountAll(root, keep(cfg.Spec.Mounts, func(m specs.Mount) bool { return later == nil || !later(m.Destination) })); err != nil {
		return -1, err
	}
	Trace("stage: mounts done")
	if err := populateDev(root); err != nil {
		return -1, err
	}
	if err := bindConsole(root, stdin); err != nil {
		return -1, err
	}
	if err := bindFiles(root, s, cfg.Files); err != nil {
		return -1, err
	}
	if l := cfg.Spec.Linux; l != nil {
		now := func(p string) bool { return later == nil || !later(p) }
		if err := maskPaths(root, keep(l.MaskedPaths, now)); err != nil {
			return -1, err
		}
		if err := readOnlyPaths(root, keep(l.ReadonlyPaths, now)); err != nil {
			return -1, err
		}
	}
	Trace("stage: masks done")
	if err := s.sealRoot(); err != nil {
		return -1, err
	}
	if err := pivotRoot(root); err != nil {
		return -1, err
	}
	Trace("stage: pivoted")
	newRoot, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open new root: %w", err)
	}
	return newRoot, nil
}

// keep returns the elements of list for which ok is true.
func keep[T any](list []T, ok func(T) bool) []T {
	var kept []T
	for _, v := range list {
		if ok(v) {
			kept = append(kept, v)
		}
	}
	return kept
}

// execEntrypoint switches to the container's user and policy and execs
// its entrypoint. root is "/" of the container.
func execEntrypoint(cfg *Config, root int, sync *os.File) error {
	proc := cfg.Spec.Process
	if err := applyRlimits(proc.Rlimits); err != nil {
		return err
	}
	argv0, env, err := becomeContainerProcess(cfg, root, os.Getpid())
	if err != nil {
		return err
	}
	// Every fd beyond stdio and the passed sockets is closed at exec,
	// whoever opened it.
	if err := unix.CloseRange(uint(3+len(cfg.Sockets)), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close fds: %w", err)
	}
	unix.Umask(0o022)
	// The shim's death must not kill the container once it runs.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
		return err
	}
	Trace("stage: exec")
	if err := reportExec(sync); err != nil {
		return fmt.Errorf("report to the shim: %w", err)
	}
	if proc.NoNewPrivileges {
		if err := loadSeccomp(cfg.Seccomp); err != nil {
			return err
		}
	}
	err = syscall.Exec(argv0, proc.Args, env)
	return fmt.Errorf("exec %s: %w", argv0, err)
}

// setUpUTSAndNetwork sets the host name and brings up the loopback
// interface of the container's new namespaces, which the caller is in.
func setUpUTSAndNetwork(cfg *Config) error {
	if h := cfg.Spec.Hostname; h != "" {
		if err := unix.Sethostname([]byte(h)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	if cfg.LoopbackUp {
		return loopbackUp()
	}
	return nil
}

// becomeContainerProcess resolves the entrypoint (resolveProcess) and
// gives the calling thread the container's user and policy, except the
// seccomp filter under no_new_privs, which the caller loads last.
func becomeContainerProcess(cfg *Config, root, pid int) (argv0 string, env []string, err error) {
	user, argv0, env, err := resolveProcess(cfg, root, pid)
	if err != nil {
		return "", nil, err
	}
	return argv0, env, dropPrivileges(cfg, user)
}

// resolveProcess resolves the entrypoint's user, path and environment
// (with LISTEN_PID = pid, the entrypoint's pid in the container) and
// enters its working directory. root is "/" of the container.
func resolveProcess(cfg *Config, root, pid int) (user User, argv0 string, env []string, err error) {
	proc := cfg.Spec.Process
	if len(proc.Args) == 0 {
		return User{}, "", nil, fmt.Errorf("no entrypoint or command: the image sets none and the definition gives none")
	}
	if user, err = lookupUser(root, proc.User); err != nil {
		return User{}, "", nil, err
	}
	env = processEnv(proc.Env, user, cfg.Sockets, pid)
	if argv0, err = lookPath(root, proc.Args[0], env); err != nil {
		return User{}, "", nil, err
	}
	if err := enterWorkdir(root, proc.Cwd); err != nil {
		return User{}, "", nil, err
	}
	return user, argv0, env, nil
}

// reportExec tells the shim that the entrypoint is about to be exec'd and
// hands it the container's network namespace with the message, while the
// process is still root: reaching it later through /proc/PID/ns/net of a
// container running as another user would take CAP_SYS_PTRACE, which the
// generated unit does not grant the shim.
func reportExec(sync *os.File) error {
	ns, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		_, err = sync.Write([]byte{msgExec})
		return err
	}
	defer unix.Close(ns)
	return unix.Sendmsg(int(sync.Fd()), []byte{msgExec}, unix.UnixRights(ns), nil, 0)
}

// dropPrivileges applies the capability sets, the user and no_new_privs.
// Without no_new_privs the kernel only accepts a seccomp filter from a
// thread with CAP_SYS_ADMIN, so the filter is loaded before the rest.
func dropPrivileges(cfg *Config, user User) error {
	proc := cfg.Spec.Process
	if !proc.NoNewPrivileges {
		if err := loadSeccomp(cfg.Seccomp); err != nil {
			return err
		}
	}
	last, err := lastCap()
	if err != nil {
		return err
	}
	if err := dropBounding(cfg.Capabilities.Bounding, last); err != nil {
		return err
	}
	if err := switchUser(user); err != nil {
		return err
	}
	sets := cfg.Capabilities
	if user.UID != 0 {
		sets = cfg.UserCapabilities
	}
	if err := setCapabilities(sets, last); err != nil {
		return err
	}
	if err := setExecLabel(proc.SelinuxLabel); err != nil {
		return err
	}
	if proc.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	return nil
}

// enterWorkdir changes into the working directory, resolved inside the
// root and created when missing, as Docker does.
func enterWorkdir(root int, dir string) error {
	if dir == "" {
		dir = "/"
	}
	fd, err := mkdirAllInRoot(root, dir, 0o755)
	if err != nil {
		return fmt.Errorf("working directory %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Fchdir(fd); err != nil {
		return fmt.Errorf("working directory %s: %w", dir, err)
	}
	return nil
}
