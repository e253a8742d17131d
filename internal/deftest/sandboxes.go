package deftest

// Sandboxes returns definitions that between them take every branch of the
// sandbox of the generated service (unitgen/hardening.go): the default;
// the host's network with capabilities that widen it; no seccomp filter
// and every capability; bind volumes under /home and /tmp; and capabilities
// that lift each of the other protections, no no_new_privileges, a named
// volume, a read-only bind volume and a writable one.
func Sandboxes() []*Definition {
	return []*Definition{
		New("a"),
		New("a").Container(`network = "host"`).
			Table("[security]", `capabilities_add = ["CAP_SYS_TIME", "CAP_NET_RAW"]`),
		New("a").Table("[security]", `seccomp = "unconfined"`, `capabilities_add = ["ALL"]`),
		New("a").Table("[[volume]]", `source = "/home/a"`, `target = "/a"`).
			Table("[[volume]]", `source = "/tmp/b"`, `target = "/b"`),
		New("a").
			Table("[security]", `capabilities_add = ["CAP_SYS_MODULE", "CAP_SYSLOG", "CAP_SYS_NICE", "CAP_SYS_PTRACE", "CAP_NET_ADMIN"]`,
				"no_new_privileges = false").
			Table("[[volume]]", `source = "data"`, `target = "/data"`).
			Table("[[volume]]", `source = "/srv/ro"`, `target = "/ro"`, "read_only = true").
			Table("[[volume]]", `source = "/srv/rw"`, `target = "/rw"`),
	}
}
