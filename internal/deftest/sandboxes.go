package deftest

// Sandboxes returns definitions that between them take every branch of the
// sandbox of the generated service (unitgen/hardening.go) and of the one
// the shim builds around itself (unitgen/shimsandbox.go): the default;
// the host's network with capabilities that widen it; no seccomp filter
// and every capability; bind volumes under /home and /tmp; and capabilities
// that lift each of the other protections, no no_new_privileges, a named
// volume, a read-only bind volume and a writable one. Each comes twice:
// with the shim's own sandbox (the default) and with systemd's
// (unit_sandbox = "systemd").
func Sandboxes() []*Definition {
	var defs []*Definition
	for _, systemd := range []bool{false, true} {
		// security is the [security] table of keys, with the unit
		// sandbox of this round.
		security := func(d *Definition, keys ...string) *Definition {
			if systemd {
				keys = append(keys, `unit_sandbox = "systemd"`)
			}
			if len(keys) == 0 {
				return d
			}
			return d.Table("[security]", keys...)
		}
		defs = append(defs,
			security(New("a")),
			security(New("a").Container(`network = "host"`),
				`capabilities_add = ["CAP_SYS_TIME", "CAP_NET_RAW"]`),
			security(New("a"), `seccomp = "unconfined"`, `capabilities_add = ["ALL"]`),
			security(New("a").Table("[[volume]]", `source = "/home/a"`, `target = "/a"`).
				Table("[[volume]]", `source = "/tmp/b"`, `target = "/b"`)),
			security(New("a").
				Table("[[volume]]", `source = "data"`, `target = "/data"`).
				Table("[[volume]]", `source = "/srv/ro"`, `target = "/ro"`, "read_only = true").
				Table("[[volume]]", `source = "/srv/rw"`, `target = "/rw"`),
				`capabilities_add = ["CAP_SYS_MODULE", "CAP_SYSLOG", "CAP_SYS_NICE", "CAP_SYS_PTRACE", "CAP_NET_ADMIN"]`,
				"no_new_privileges = false"),
		)
	}
	return defs
}
