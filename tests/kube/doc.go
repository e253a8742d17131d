// Package kube tests `dockah kube play` and `dockah kube generate` in a
// systemd box with a network namespace of its own (a Pod of several
// containers is a network: a bridge and veths): Pods reached through the
// sockets of their Services with curl, --down leaving nothing, and a
// definition that goes to YAML and back serving the same answers.
// Host ports 19100-19199.
package kube
