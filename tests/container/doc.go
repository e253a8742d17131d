// Package container tests the activation shim in a real systemd: a
// socket-activated container of the hello image, started by its first
// connection, isolated, logged, restarted and stopped without leftovers;
// and its start plan, read by the second start and recomputed after an
// edit, a drop-in, a retag or a commit (plan_test.go).
package container
