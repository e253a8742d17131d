// Package userns tests containers with a user namespace of their own
// ([security] userns = "auto") in a real systemd: root in the container
// is an unprivileged range of host IDs (its init's uid_map, its owner
// on the host); the range is stable across restarts, distinct between
// containers, shown by dockah inspect and freed by dockah rm; twenty
// containers of one image each get their own range and the store keeps
// one copy of its layers; named volumes and the writable layer behave
// (the volume keeps the container's IDs, the layer the range's, a commit
// the container's); a bind volume the file system cannot idmap is a
// clear error, and one with idmap = false keeps host root's files out
// of reach; dockah exec joins the user namespace; init = true gives
// dockah's init as pid 1. Ports 19000-19099 belong to it; its units are named uns-*.
package userns
