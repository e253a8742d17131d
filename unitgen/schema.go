package unitgen

import (
	"strconv"
)

// The schema is table-driven: each table is a list of fields, so that the
// keys a table accepts, the "did you mean" hints and the documentation
// test all come from one place.

// topFields are the top-level tables of a definition.
var topFields = withPrefix("", []field[Definition]{
	{"container", func(c *converter, n *node, key string, d *Definition) {
		walk(c, n, key, containerFields, &d.Container)
	}},
	{"socket", func(c *converter, n *node, key string, d *Definition) {
		d.Sockets = tableList(c, n, key, socketFields, []string{"listen"}, Socket{Type: SocketStream})
		checkSockets(c, n, key, d.Sockets)
	}},
	{"volume", func(c *converter, n *node, key string, d *Definition) {
		d.Volumes = tableList(c, n, key, volumeFields, []string{"source", "target"}, Volume{Relabel: RelabelNone, Copy: true})
		checkVolumes(c, n, key, d.Volumes)
	}},
	{"tmpfs", func(c *converter, n *node, key string, d *Definition) {
		d.Tmpfs = tableList(c, n, key, tmpfsFields, []string{"target"}, Tmpfs{})
	}},
	{"resources", func(c *converter, n *node, key string, d *Definition) {
		walk(c, n, key, resourceFields, &d.Resources)
	}},
	{"security", func(c *converter, n *node, key string, d *Definition) {
		walk(c, n, key, securityFields, &d.Security)
		checkUserNS(c, n, key, &d.Security)
	}},
	{"service", func(c *converter, n *node, key string, d *Definition) {
		walk(c, n, key, serviceFields, &d.Service)
	}},
	{"systemd", func(c *converter, n *node, key string, d *Definition) {
		walk(c, n, key, systemdFields, &d.Systemd)
	}},
})

// tableList converts an array of tables, each element starting from zero
// and needing the keys in required.
func tableList[T any](c *converter, n *node, key string, fields []field[T], required []string, zero T) []T {
	if !n.array {
		c.fail(n, key, "an array of tables: [["+key+"]]", "expected [[%s]] tables, got %s", key, describe(n))
		return nil
	}
	out := make([]T, 0, len(n.list))
	for _, e := range n.list {
		v := zero
		walk(c, e, key, fields, &v)
		if e.table != nil {
			for _, r := range required {
				if e.table[r] == nil {
					c.fail(e, joinPath(key, r), "", "missing in this [[%s]]", key)
				}
			}
		}
		out = append(out, v)
	}
	return out
}

// homeTables maps each key to the one table that has it, for the hint on
// a misplaced key; keys of several tables are left out.
var homeTables = func() map[string]string {
	seen := map[string]string{}
	add := func(table string, keys []string) {
		for _, k := range keys {
			if _, dup := seen[k]; dup {
				seen[k] = ""
			} else {
				seen[k] = table
			}
		}
	}
	add("container", fieldKeys(containerFields))
	add("[socket]", fieldKeys(socketFields))
	add("[volume]", fieldKeys(volumeFields))
	add("[tmpfs]", fieldKeys(tmpfsFields))
	add("resources", fieldKeys(resourceFields))
	add("security", fieldKeys(securityFields))
	add("service", fieldKeys(serviceFields))
	return seen
}()

// homeTable returns the table key belongs in, or "" when it belongs in
// none or in several.
func homeTable(key string) string { return homeTables[key] }

var containerFields = withPrefix("container", []field[Container]{
	{"image", func(c *converter, n *node, key string, out *Container) {
		out.Image, _ = c.checked(n, key, acceptImage, checkImage)
	}},
	{"pull", func(c *converter, n *node, key string, out *Container) {
		if s, ok := c.oneOf(n, key, pullPolicies...); ok {
			out.Pull = PullPolicy(s)
		}
	}},
	{"auto_update", func(c *converter, n *node, key string, out *Container) {
		if s, ok := c.oneOf(n, key, autoUpdatePolicies...); ok {
			out.AutoUpdate = AutoUpdatePolicy(s)
		}
	}},
	{"entrypoint", func(c *converter, n *node, key string, out *Container) {
		out.Entrypoint = c.argv(n, key)
	}},
	{"command", func(c *converter, n *node, key string, out *Container) {
		out.Command = c.argv(n, key)
	}},
	{"environment", func(c *converter, n *node, key string, out *Container) {
		out.Environment = c.stringTable(n, key, acceptEnvName, checkEnvName)
	}},
	{"labels", func(c *converter, n *node, key string, out *Container) {
		out.Labels = c.stringTable(n, key, acceptLabelName, checkLabelName)
	}},
	{"environment_files", func(c *converter, n *node, key string, out *Container) {
		out.EnvironmentFiles, _ = c.strings(n, key, "absolute paths", c.checker(key, "an absolute path", checkAbsPath))
	}},
	{"working_dir", func(c *converter, n *node, key string, out *Container) {
		out.WorkingDir = c.containerPath(n, key)
	}},
	{"user", func(c *converter, n *node, key string, out *Container) {
		out.User, _ = c.checked(n, key, acceptUser, checkUser)
	}},
	{"hostname", func(c *converter, n *node, key string, out *Container) {
		out.Hostname, _ = c.checked(n, key, acceptHostname, checkHostname)
	}},
	{"read_only", func(c *converter, n *node, key string, out *Container) { out.ReadOnly, _ = c.boolean(n, key) }},
	{"ephemeral", func(c *converter, n *node, key string, out *Container) { out.Ephemeral, _ = c.boolean(n, key) }},
	{"network", func(c *converter, n *node, key string, out *Container) {
		out.Network, _ = c.checked(n, key, acceptNetwork, checkNetwork)
	}},
	{"networks", func(c *converter, n *node, key string, out *Container) {
		out.Networks, _ = c.strings(n, key, "network names", c.checker(key, acceptNetworkName, checkNetworkName))
	}},
	{"ip", func(c *converter, n *node, key string, out *Container) {
		if !n.array {
			if s, ok := c.checked(n, key, acceptIP, checkIP); ok {
				out.IP = []string{s}
			}
			return
		}
		out.IP, _ = c.strings(n, key, "IP addresses", c.checker(key, acceptIP, checkIP))
	}},
	{"aliases", func(c *converter, n *node, key string, out *Container) {
		out.Aliases, _ = c.strings(n, key, "host names", c.checker(key, acceptHostname, checkHostname))
	}},
	{"notify", func(c *converter, n *node, key string, out *Container) { out.Notify, _ = c.boolean(n, key) }},
	{"init", func(c *converter, n *node, key string, out *Container) { out.Init, _ = c.boolean(n, key) }},
})

// checked returns a string value that check accepts.
func (c *converter) checked(n *node, key, accepted string, check func(string) string) (string, bool) {
	s, ok := c.line(n, key)
	if !ok {
		return "", false
	}
	return c.checker(key, accepted, check)(n, s)
}

// checker adapts a check function to the element checks of strings.
func (c *converter) checker(key, accepted string, check func(string) string) func(*node, string) (string, bool) {
	return func(n *node, s string) (string, bool) {
		if msg := check(c.probe(s)); msg != "" {
			c.fail(n, key, accepted, "%s %s", quote(s), msg)
			return "", false
		}
		return s, true
	}
}

const acceptContainerPath = `an absolute path without ".."`

// containerPath returns an absolute path inside the container, cleaned.
func (c *converter) containerPath(n *node, key string) string {
	s, ok := c.checked(n, key, acceptContainerPath, checkAbsPath)
	if !ok {
		return ""
	}
	return cleanPath(s)
}

// argv returns an argument vector; an empty array is Set with no Args.
func (c *converter) argv(n *node, key string) Argv {
	if !n.array {
		c.fail(n, key, `an array of strings, e.g. ["/usr/sbin/nginx", "-g", "daemon off;"]`, "expected an array of strings, got %s", describe(n))
		return Argv{}
	}
	args := make([]string, 0, len(n.list))
	for _, e := range n.list {
		s, _ := c.str(e, key)
		args = append(args, s)
	}
	return Argv{Set: true, Args: args}
}

// stringTable returns a table of strings whose names check accepts, such
// as the environment; integers and booleans are taken as their decimal or
// true/false text.
func (c *converter) stringTable(n *node, key, acceptName string, check func(string) string) map[string]string {
	if n.table == nil {
		c.fail(n, key, `a table of strings, e.g. { TZ = "UTC" }`, "expected a table, got %s", describe(n))
		return nil
	}
	env := make(map[string]string, len(n.table))
	for name, v := range n.table {
		k := joinPath(key, name)
		if msg := check(name); msg != "" {
			c.fail(v, k, acceptName, "%s %s", quote(name), msg)
			continue
		}
		switch x := v.value.(type) {
		case int64:
			env[name] = strconv.FormatInt(x, 10)
		case bool:
			env[name] = strconv.FormatBool(x)
		case string:
			if s, ok := c.str(v, k); ok {
				env[name] = s
			}
		default:
			c.fail(v, k, "a string, an integer or a boolean", "expected a value, got %s", describe(v))
		}
	}
	return env
}
