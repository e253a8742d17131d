package activation

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// loopbackUp brings up lo in the container's new network namespace, where
// it starts down. An ioctl is enough for one flag and cheaper than netlink.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	return nil
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

// joinNetwork calls join with the network namespace of the process pid,
// a setup stage that has not changed its credentials yet (so that the
// shim may open its namespace without CAP_SYS_PTRACE).
func joinNetwork(pid int, join func(netns int) error) error {
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the container's network namespace: %w", err)
	}
	defer unix.Close(fd)
	return join(fd)
}

// joinNetworkAsync runs join with a copy of the namespace fd ns on
// another goroutine, and returns what waits for its result.
func joinNetworkAsync(ns int, join func(netns int) error) (wait func() error) {
	fd, err := unix.FcntlInt(uintptr(ns), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return func() error { return fmt.Errorf("copy the container's network namespace fd: %w", err) }
	}
	done := make(chan error, 1)
	go func() {
		defer unix.Close(fd)
		done <- join(fd)
	}()
	return func() error { return <-done }
}
