// Package e2e proves the test foundation end to end: the project installs
// into a real systemd booted in a box, and a socket-activated service there
// answers a connection from the test process and logs to the journal.
package e2e
