package network

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/tests/testenv"
)

// childEnv makes the test binary run a privileged test in a network
// namespace of its own, so that nothing touches the machine's network.
const childEnv = "DOCKAH_NETWORK_TEST_CHILD"

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		child := map[string]func() error{"setup": setupChild}[name]
		if child == nil {
			fmt.Fprintf(os.Stderr, "unknown test child %q\n", name)
			os.Exit(2)
		}
		if err := child(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild runs the child name in new network and mount namespaces.
func runChild(t *testing.T, name string) {
	t.Helper()
	testenv.RequireRoot(t)
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET | unix.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child %s: %v\n%s", name, err, out)
	}
}

// TestSetup joins two containers to a network in a namespace of the
// test's own, checks that one reaches the other and that the firewall
// table and forwarding are in place, and that leaving removes the veths,
// then the bridge and the table with the last container.
func TestSetup(t *testing.T) { runChild(t, "setup") }

func setupChild() error {
	if err := exec.Command("ip", "link", "set", "lo", "up").Run(); err != nil {
		return err
	}
	store, err := os.MkdirTemp("", "dockah-net-test")
	if err != nil {
		return err
	}
	defer os.RemoveAll(store)
	n := &Network{Name: "t", DNS: true, Bridge: BridgeName("t")}
	var nsfds []int
	var leases []*Lease
	for _, c := range []string{"a", "b"} {
		atts, err := Join(store, []*Network{n}, Request{Container: c, Holder: Self()})
		if err != nil {
			return err
		}
		ns, err := newNetNS()
		if err != nil {
			return err
		}
		if err := Attach(atts, ns); err != nil {
			return err
		}
		nsfds, leases = append(nsfds, ns), append(leases, atts[0].Lease)
	}
	if leases[0].Addr == leases[1].Addr || !leases[0].Addr.Is4() {
		return fmt.Errorf("addresses %s and %s", leases[0].Addr, leases[1].Addr)
	}
	if !FirewallPresent("t") {
		return fmt.Errorf("no firewall table")
	}
	if data, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); string(data) != "1\n" {
		return fmt.Errorf("ip_forward = %q", data)
	}
	// b listens in its namespace; a connects from its own.
	l, err := inNetNS(nsfds[1], func() (net.Listener, error) { return net.Listen("tcp", leases[1].Addr.String()+":7") })
	if err != nil {
		return err
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Write([]byte("ok"))
			c.Close()
		}
	}()
	conn, err := inNetNS(nsfds[0], func() (net.Conn, error) {
		return net.DialTimeout("tcp", netip.AddrPortFrom(leases[1].Addr, 7).String(), 3*time.Second)
	})
	if err != nil {
		return fmt.Errorf("a to b: %w", err)
	}
	buf := make([]byte, 2)
	if _, err := conn.Read(buf); err != nil || string(buf) != "ok" {
		return fmt.Errorf("read from b: %q %v", buf, err)
	}
	conn.Close()
	// Stopping a: its veth and lease go, the bridge stays for b.
	unix.Close(nsfds[0])
	if err := Leave(store, "a"); err != nil {
		return err
	}
	if _, err := net.InterfaceByName(VethName(leases[0].Addr)); err == nil {
		return fmt.Errorf("a's veth is left")
	}
	if _, err := net.InterfaceByName(n.Bridge); err != nil {
		return fmt.Errorf("bridge gone with b still on it: %w", err)
	}
	// b is killed (its namespace goes) and its teardown runs.
	l.Close()
	unix.Close(nsfds[1])
	if err := Leave(store, "b"); err != nil {
		return err
	}
	if _, err := net.InterfaceByName(n.Bridge); err == nil {
		return fmt.Errorf("bridge left after the last container")
	}
	if FirewallPresent("t") {
		return fmt.Errorf("firewall table left after the last container")
	}
	st, err := ReadState(StateDir(store) + "/t.json")
	if err != nil || st.ActiveCount() != 0 || len(st.Leases) != 2 {
		return fmt.Errorf("state after: %+v %v", st, err)
	}
	return nil
}

// newNetNS makes a network namespace, as the shim's thread does, and
// returns an fd of it.
func newNetNS() (int, error) {
	type result struct {
		fd  int
		err error
	}
	done := make(chan result)
	go func() {
		// Never unlocked: the thread ends with the goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- result{-1, err}
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
		}
		done <- result{fd, err}
	}()
	r := <-done
	return r.fd, r.err
}

// inNetNS runs f on a thread in the namespace fd.
func inNetNS[T any](fd int, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			var zero T
			done <- result{zero, err}
			return
		}
		v, err := f()
		done <- result{v, err}
	}()
	r := <-done
	return r.v, r.err
}
