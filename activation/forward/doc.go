// Package forward relays the connections and datagrams of activated
// sockets into a container's network namespace, for images that listen
// on a port of their own instead of taking the socket from systemd
// (nginx, postgres, memcached...). It runs in the forwarder, a process of
// its own that activation/confine confines (Options.Joined) while the
// container runs: it waits until the application listens, so that no
// connection made during the start is lost, then relays each stream
// connection with splice on a few epoll loops (relay_linux.go) and each
// datagram client through a socket of its own, and stops the unit after
// an idle timeout if asked to.
//
// Boundary: it creates no namespace and starts no process; it only joins
// the network namespace it is given (Options.NetNS, or that of the
// container's init) on threads of its own, or none when the process is
// in it already. Under the forwarder's seccomp filter it opens no file
// and makes only AF_INET and AF_INET6 sockets. It imports nothing of ours:
// the container reaches it as a pid and a namespace file.
package forward
