// Package cliverbs tests dockah top, stats and system df/prune in a real
// systemd: processes read from a running container's cgroup, resource
// counters under both cgroup layouts, and the disk usage and pruning of
// the image store. Its ports are 18800-18899.
package cliverbs
