package box

import (
	"fmt"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// SharedOptions are the options of the box Shared boots: a test package
// whose box needs a network of its own sets PrivateNetwork in its
// TestMain, before box.Main.
var SharedOptions Options

// withNetworkArgs adds --private-network to nspawn's arguments (before
// -b and what follows) for a box with a network namespace of its own:
// bridges, veths and firewall rules made in it never touch the host's.
func (b *Box) withNetworkArgs(args []string) []string {
	if !b.privateNetwork {
		return args
	}
	for i, a := range args {
		if a == "-b" {
			return append(append(append([]string{}, args[:i]...), "--private-network"), args[i:]...)
		}
	}
	return append(args, "--private-network")
}

// Outside is a network namespace a test makes to be the world beyond a
// box with a private network: a veth joins it to the box, and its
// servers are what containers reach "on the Internet". Nothing of it is
// in the host's network namespace, not even for a moment: the veth is
// made inside it, with its peer created directly in the box's namespace.
type Outside struct {
	holder *exec.Cmd // a process that keeps the namespace, killed by Close
	ns     int       // an fd of the namespace
}

// Pid returns a process in the outside namespace (for nsenter -t).
func (o *Outside) Pid() int { return o.holder.Process.Pid }

// NewOutside makes the outside namespace and a veth between it and the
// box's namespace: "outside0" with outsideCIDR there, "uplink0" with
// boxCIDR in the box, both up; the box gets a default route through
// gateway (the outside's address).
func (b *Box) NewOutside(outsideCIDR, boxCIDR, gateway string) (*Outside, error) {
	if !b.privateNetwork {
		return nil, fmt.Errorf("the box shares the host's network: boot it with PrivateNetwork")
	}
	holder := exec.Command("sleep", "infinity")
	holder.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := holder.Start(); err != nil {
		return nil, fmt.Errorf("make the outside namespace: %w", err)
	}
	o := &Outside{holder: holder, ns: -1}
	fd, err := unix.Open("/proc/"+strconv.Itoa(holder.Process.Pid)+"/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		o.Close()
		return nil, err
	}
	o.ns = fd
	out := strconv.Itoa(o.Pid())
	steps := [][]string{
		{"nsenter", "-t", out, "-n", "ip", "link", "set", "lo", "up"},
		{"nsenter", "-t", out, "-n", "ip", "link", "add", "outside0", "type", "veth", "peer", "name", "uplink0", "netns", strconv.Itoa(b.pid1)},
		{"nsenter", "-t", out, "-n", "ip", "addr", "add", outsideCIDR, "dev", "outside0"},
		{"nsenter", "-t", out, "-n", "ip", "link", "set", "outside0", "up"},
	}
	for _, s := range steps {
		if output, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			o.Close()
			return nil, fmt.Errorf("%v: %w: %s", s, err, output)
		}
	}
	for _, s := range [][]string{
		{"ip", "addr", "add", boxCIDR, "dev", "uplink0"},
		{"ip", "link", "set", "uplink0", "up"},
		{"ip", "route", "add", "default", "via", gateway},
	} {
		if _, err := b.Run(s...); err != nil {
			o.Close()
			return nil, err
		}
	}
	return o, nil
}

// Run runs a command in the outside namespace (its network only).
func (o *Outside) Run(args ...string) (string, error) {
	cmd := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(o.Pid()), "-n"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%v in the outside namespace: %w: %s", args, err, out)
	}
	return string(out), nil
}

// NS returns an fd of the outside namespace, for a test that makes
// sockets there (setns on a locked thread).
func (o *Outside) NS() int { return o.ns }

// Close ends the namespace's holder; the namespace goes with the last
// socket made in it.
func (o *Outside) Close() {
	if o.ns >= 0 {
		unix.Close(o.ns)
		o.ns = -1
	}
	if o.holder != nil && o.holder.Process != nil {
		_ = o.holder.Process.Kill()
		_ = o.holder.Wait()
		o.holder = nil
	}
}
