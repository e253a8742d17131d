// Package run tests dockah run as a docker or podman user types it: the
// flags of docker run's common examples, podman's exit statuses, detached
// containers and the verbs that act on them (ps -a, exec, inspect, stop,
// kill, start, rm), names that stay taken until removed, and output that
// reaches the terminal. Ports 18500-18599 belong to this package.
package run
