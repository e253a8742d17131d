// Package forward tests socket activation of images that bind their own
// port: forwarded sockets, a container with both kinds of sockets, the
// idle timeout, an application that never listens, and dockah run.
package forward
