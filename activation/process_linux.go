package activation

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultPath is the PATH of a container whose image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// processEnv returns the environment the entrypoint gets: built fresh from
// the spec (never the shim's own, which carries systemd's variables), with
// PATH and HOME filled in when missing, and the socket-activation
// variables for the passed sockets. listenPID is the pid the entrypoint
// has in the container's pid namespace.
func processEnv(spec []string, user User, sockets []string, listenPID int) []string {
	env := make([]string, 0, len(spec)+5)
	var hasPath, hasHome bool
	for _, kv := range spec {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES":
			continue // ours to set
		case "PATH":
			hasPath = true
		case "HOME":
			hasHome = true
		}
		env = append(env, kv)
	}
	if !hasPath {
		env = append(env, "PATH="+defaultPath)
	}
	if !hasHome {
		env = append(env, "HOME="+user.Home)
	}
	if len(sockets) > 0 {
		env = append(env,
			fmt.Sprintf("LISTEN_FDS=%d", len(sockets)),
			fmt.Sprintf("LISTEN_PID=%d", listenPID),
			"LISTEN_FDNAMES="+strings.Join(sockets, ":"))
	}
	return env
}

// lookupUser resolves the spec's user against the image's own passwd and
// group files, read inside the root (which is "/" by now).
func lookupUser(root int, u specs.User) (User, error) {
	if u.Username == "" {
		return User{UID: u.UID, GID: u.GID, AdditionalGIDs: u.AdditionalGids, Home: "/"}, nil
	}
	passwd := openDatabase(root, "/etc/passwd")
	group := openDatabase(root, "/etc/group")
	defer passwd.Close()
	defer group.Close()
	user, err := ResolveUser(u.Username, passwd.reader(), group.reader())
	if err != nil {
		return User{}, err
	}
	user.AdditionalGIDs = append(user.AdditionalGIDs, u.AdditionalGids...)
	return user, nil
}

// database is an image file that may be missing.
type database struct{ f *os.File }

func openDatabase(root int, name string) database {
	fd, err := openInRoot(root, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK)
	if err != nil {
		return database{}
	}
	var st unix.Stat_t
	// A FIFO or device in place of /etc/passwd would block or worse.
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return database{}
	}
	return database{os.NewFile(uintptr(fd), name)}
}

// reader is the file, or nil (an untyped nil io.Reader, which
// ResolveUser takes for "no such file") when the image has none.
func (d database) reader() io.Reader {
	if d.f == nil {
		return nil
	}
	return d.f
}

func (d database) Close() {
	if d.f != nil {
		d.f.Close()
	}
}

// lookPath finds the entrypoint like execvp, in the container's PATH,
// resolving only inside the root; it returns a path the kernel resolves
// the same way, since the root is "/" and nothing else runs in it yet.
func lookPath(root int, file string, env []string) (string, error) {
	check := func(p string) error {
		fd, err := openInRoot(root, p, unix.O_PATH)
		if err != nil {
			return statusError{ExitNotFound, err}
		}
		defer unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return statusError{ExitCannotRun, err}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
			return statusError{ExitCannotRun, fmt.Errorf("%s is not an executable file", p)}
		}
		return nil
	}
	if strings.Contains(file, "/") {
		if err := check(file); err != nil {
			return "", fmt.Errorf("entrypoint %s: %w", file, err)
		}
		return file, nil
	}
	searchPath := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			searchPath = v
		}
	}
	for _, dir := range strings.Split(searchPath, ":") {
		if dir == "" {
			dir = "."
		}
		p := path.Join(dir, file)
		if check(p) == nil {
			return p, nil
		}
	}
	return "", statusError{ExitNotFound, fmt.Errorf("entrypoint %q: not found in PATH %s inside the image", file, searchPath)}
}

// switchUser sets groups, gid and uid of the calling thread only (the one
// that execs). PR_SET_KEEPCAPS keeps the permitted set across the uid
// change so setCapabilities can set what a non-root user was granted.
func switchUser(u User) error {
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("keep capabilities: %w", err)
	}
	groups := u.AdditionalGIDs
	var gp unsafe.Pointer
	if len(groups) > 0 {
		gp = unsafe.Pointer(&groups[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(gp), 0); e != 0 {
		return fmt.Errorf("setgroups: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("setresgid %d: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("setresuid %d: %w", u.UID, e)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("reset keep capabilities: %w", err)
	}
	return nil
}

// loadSeccomp installs the BPF program on the calling thread. It is the
// last thing before exec, so that the setup itself is not filtered.
func loadSeccomp(program []byte) error {
	if len(program) == 0 {
		return nil
	}
	if len(program)%8 != 0 {
		return errors.New("seccomp program is not a whole number of BPF instructions")
	}
	prog := unix.SockFprog{
		Len:    uint16(len(program) / 8),
		Filter: (*unix.SockFilter)(unsafe.Pointer(&program[0])),
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return fmt.Errorf("load seccomp filter: %w", e)
	}
	return nil
}

// defaultIgnoredSignals gives back their default action to the signals
// this process inherited as ignored, which exec would pass on to the
// entrypoint: whatever the shim's caller ignored (make ignores two
// real-time signals, a shell's background job SIGINT and SIGQUIT). The
// thread start's child resets every signal the same way, so the
// entrypoint starts alike either way.
func defaultIgnoredSignals() error {
	// The kernel's struct sigaction, as the thread start's child has it.
	type sigaction struct {
		handler  uintptr
		flags    uint64
		restorer uintptr
		mask     uint64
	}
	const sigIgn = 1
	for sig := 1; sig <= 64; sig++ {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			continue
		}
		var old sigaction
		if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 || old.handler != sigIgn {
			continue
		}
		var dfl sigaction // SIG_DFL
		if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0); e != 0 {
			return fmt.Errorf("reset the action of signal %d: %w", sig, e)
		}
	}
	return nil
}

// applyRlimits sets the spec's resource limits on the process.
func applyRlimits(limits []specs.POSIXRlimit) error {
	for _, l := range limits {
		res, ok := rlimitNames[l.Type]
		if !ok {
			return fmt.Errorf("unknown rlimit %s", l.Type)
		}
		if err := unix.Setrlimit(res, &unix.Rlimit{Cur: l.Soft, Max: l.Hard}); err != nil {
			return fmt.Errorf("set %s: %w", l.Type, err)
		}
	}
	return nil
}

var rlimitNames = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
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
