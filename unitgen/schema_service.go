package unitgen

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

var resourceFields = withPrefix("resources", []field[Resources]{
	{"memory_max", func(c *converter, n *node, key string, out *Resources) { out.MemoryMax = c.size(n, key) }},
	{"memory_high", func(c *converter, n *node, key string, out *Resources) { out.MemoryHigh = c.size(n, key) }},
	{"memory_swap_max", func(c *converter, n *node, key string, out *Resources) { out.MemorySwapMax = c.size(n, key) }},
	{"cpu_quota", func(c *converter, n *node, key string, out *Resources) { out.CPUQuota = c.percent(n, key) }},
	{"cpu_weight", func(c *converter, n *node, key string, out *Resources) {
		v, _ := c.integer(n, key, 1, 10000)
		out.CPUWeight = int(v)
	}},
	{"tasks_max", func(c *converter, n *node, key string, out *Resources) {
		if s, ok := n.value.(string); ok && s == "infinity" {
			out.TasksMax = Unlimited
			return
		}
		if v, ok := n.value.(int64); ok && v >= 1 && v <= 1<<31 {
			out.TasksMax = uint64(v)
			return
		}
		c.fail(n, key, `a number of tasks from 1 to 2147483648, or "infinity"`, "expected a number of tasks, got %s", describe(n))
	}},
	{"io_weight", func(c *converter, n *node, key string, out *Resources) {
		v, _ := c.integer(n, key, 1, 10000)
		out.IOWeight = int(v)
	}},
})

// percent returns a CPU quota given as "50%" (of one CPU; "200%" is two).
func (c *converter) percent(n *node, key string) int {
	s, _ := n.value.(string)
	num, ok := strings.CutSuffix(s, "%")
	if ok && num != "" && len(num) <= 6 && allIn(num, digits) && num[0] != '0' {
		v := 0
		for _, d := range num {
			v = v*10 + int(d-'0')
		}
		return v
	}
	c.fail(n, key, `a percentage of one CPU, e.g. "50%" or "200%"`, "expected a percentage, got %s", describe(n))
	return 0
}

var securityFields = withPrefix("security", []field[Security]{
	{"capabilities_add", func(c *converter, n *node, key string, out *Security) {
		out.CapabilitiesAdd, _ = c.strings(n, key, "capability names", c.capability(key))
	}},
	{"capabilities_drop", func(c *converter, n *node, key string, out *Security) {
		out.CapabilitiesDrop, _ = c.strings(n, key, "capability names", c.capability(key))
	}},
	{"seccomp", func(c *converter, n *node, key string, out *Security) {
		out.Seccomp, _ = c.checked(n, key, `"default", "unconfined" or the absolute path of a profile (Docker/OCI JSON)`, func(s string) string {
			if s == SeccompDefault || s == SeccompUnconfined {
				return ""
			}
			return checkAbsPath(s)
		})
	}},
	{"selinux_type", func(c *converter, n *node, key string, out *Security) {
		out.SELinuxType, _ = c.checked(n, key, acceptSELinuxType, checkSELinuxType)
	}},
	{"selinux_level", func(c *converter, n *node, key string, out *Security) {
		out.SELinuxLevel, _ = c.checked(n, key, acceptSELinuxLevel, checkSELinuxLevel)
	}},
	{"no_new_privileges", func(c *converter, n *node, key string, out *Security) {
		out.NoNewPrivileges, _ = c.boolean(n, key)
	}},
	{"masked_paths", func(c *converter, n *node, key string, out *Security) {
		paths, _ := c.strings(n, key, "absolute paths", c.checker(key, acceptContainerPath, checkAbsPath))
		for i, p := range paths {
			if p != "" {
				paths[i] = cleanPath(p)
			}
		}
		out.MaskedPaths = paths
	}},
	{"unit_sandbox", func(c *converter, n *node, key string, out *Security) {
		out.UnitSandbox, _ = c.oneOf(n, key, UnitSandboxShim, UnitSandboxSystemd)
	}},
	{"userns", func(c *converter, n *node, key string, out *Security) {
		out.UserNS, _ = c.oneOf(n, key, UserNSAuto, UserNSHost)
	}},
	{"userns_size", func(c *converter, n *node, key string, out *Security) {
		if v, ok := c.integer(n, key, 1, MaxUserNSSize); ok {
			out.UserNSSize = uint32(v)
		}
	}},
	{"uid_map", func(c *converter, n *node, key string, out *Security) { out.UIDMap = c.idMap(n, key) }},
	{"gid_map", func(c *converter, n *node, key string, out *Security) { out.GIDMap = c.idMap(n, key) }},
})

const acceptIDMap = `"0 HOST SIZE" (container IDs 0 to SIZE-1 are host IDs HOST to HOST+SIZE-1; HOST at least 1, SIZE 1 to 1073741824, HOST+SIZE at most 4294967296)`

// idMap returns a uid_map or gid_map line, or nil.
func (c *converter) idMap(n *node, key string) *IDMap {
	s, ok := c.line(n, key)
	if !ok {
		return nil
	}
	m, msg := ParseIDMap(s)
	if msg != "" {
		c.fail(n, key, acceptIDMap, "%s %s", quote(s), msg)
		return nil
	}
	return &m
}

// ParseIDMap parses "0 HOST SIZE", the one line of a uid_map or gid_map
// dockah takes (as /proc/PID/uid_map and dockah inspect show it); msg
// says what is wrong, or is empty.
func ParseIDMap(s string) (IDMap, string) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return IDMap{}, "is not three numbers"
	}
	var v [3]uint64
	for i, x := range f {
		n, err := strconv.ParseUint(x, 10, 32)
		if err != nil {
			return IDMap{}, fmt.Sprintf("has %q, which is not a number from 0 to 4294967295", x)
		}
		v[i] = n
	}
	switch {
	case v[0] != 0:
		return IDMap{}, "does not start at container ID 0 (one line, from 0, is what dockah maps)"
	case v[1] == 0:
		return IDMap{}, "maps onto host root (host ID 0)"
	case v[2] == 0 || v[2] > MaxUserNSSize:
		return IDMap{}, fmt.Sprintf("has the size %d", v[2])
	case v[1]+v[2] > 1<<32:
		return IDMap{}, "reaches past host ID 4294967295"
	}
	return IDMap{Host: uint32(v[1]), Size: uint32(v[2])}, ""
}

// checkUserNS checks what depends on several keys of [security] (n):
// explicit maps need a user namespace of its own, gid_map needs uid_map
// and its size, and userns_size is theirs. It changes nothing: gid_map
// defaults to uid_map (Security.IDMaps), so that a drop-in that changes
// uid_map alone moves both.
func checkUserNS(c *converter, n *node, key string, s *Security) {
	at := func(k string) *node {
		if n.table != nil && n.table[k] != nil {
			return n.table[k]
		}
		return n
	}
	switch {
	case s.UIDMap == nil && s.GIDMap == nil:
	case s.UIDMap == nil:
		c.fail(at("gid_map"), key+".gid_map", "gid_map with uid_map", "gid_map is given without uid_map")
	case s.UserNS != UserNSAuto:
		c.fail(at("uid_map"), key+".uid_map", `uid_map with userns = "auto" (the default)`, "uid_map maps a user namespace of the container's own, and userns is %s", quote(s.UserNS))
	case s.GIDMap != nil && s.GIDMap.Size != s.UIDMap.Size:
		c.fail(at("gid_map"), key+".gid_map", "a gid_map of uid_map's size", "its size %d is not uid_map's %d", s.GIDMap.Size, s.UIDMap.Size)
	case n.table != nil && n.table["userns_size"] != nil && s.UserNSSize != s.UIDMap.Size:
		c.fail(at("userns_size"), key+".userns_size", "no userns_size with uid_map, or uid_map's size", "%d is not uid_map's size %d", s.UserNSSize, s.UIDMap.Size)
	}
}

// IDMaps returns the explicit maps of the definition (uid_map, and
// gid_map or uid_map's again), or false when the range is allocated.
func (s Security) IDMaps() (uid, gid IDMap, ok bool) {
	if s.UserNS != UserNSAuto || s.UIDMap == nil {
		return IDMap{}, IDMap{}, false
	}
	uid, gid = *s.UIDMap, *s.UIDMap
	if s.GIDMap != nil {
		gid = *s.GIDMap
	}
	return uid, gid, true
}

// capability returns the element check of a capability list: it
// canonicalises the name ("net_admin" is "CAP_NET_ADMIN").
func (c *converter) capability(key string) func(*node, string) (string, bool) {
	return func(n *node, s string) (string, bool) {
		name, hint := parseCapability(s)
		if name != "" {
			return name, true
		}
		msg := "is not a capability"
		if hint != "" {
			msg += "; did you mean " + hint + "?"
		}
		c.fail(n, key, acceptCapability, "%s %s", quote(s), msg)
		return "", false
	}
}

var serviceFields = withPrefix("service", []field[Service]{
	{"restart", func(c *converter, n *node, key string, out *Service) {
		out.Restart, _ = c.oneOf(n, key, restartPolicies...)
	}},
	{"idle_timeout", func(c *converter, n *node, key string, out *Service) {
		out.IdleTimeout = c.duration(n, key)
		if out.IdleTimeout == Infinity {
			out.IdleTimeout = 0
		}
	}},
	{"stop_signal", func(c *converter, n *node, key string, out *Service) {
		s, ok := c.str(n, key)
		if ok {
			if out.StopSignal, ok = parseSignal(s); !ok {
				c.fail(n, key, acceptSignal, "%s is not a signal", quote(s))
			}
		}
	}},
	{"start_timeout", func(c *converter, n *node, key string, out *Service) {
		if out.StartTimeout = c.duration(n, key); out.StartTimeout == 0 {
			out.StartTimeout = Infinity // as systemd: 0 disables the timeout
		}
	}},
	{"stop_timeout", func(c *converter, n *node, key string, out *Service) {
		if out.StopTimeout = c.duration(n, key); out.StopTimeout == 0 {
			out.StopTimeout = Infinity // as systemd: 0 disables the timeout
		}
	}},
	{"after", func(c *converter, n *node, key string, out *Service) { out.After = c.dependencies(n, key) }},
	{"requires", func(c *converter, n *node, key string, out *Service) { out.Requires = c.dependencies(n, key) }},
	{"wants", func(c *converter, n *node, key string, out *Service) { out.Wants = c.dependencies(n, key) }},
	{"wanted_by", func(c *converter, n *node, key string, out *Service) {
		out.WantedBy, _ = c.strings(n, key, "unit names", c.checker(key, `a unit name with its suffix, e.g. "multi-user.target"`, checkUnitName))
	}},
	{"default_instance", func(c *converter, n *node, key string, out *Service) {
		out.DefaultInstance, _ = c.checked(n, key, "an instance name: letters, digits and : _ . - \\", func(s string) string {
			if s == "" || !allIn(s, unitChars) {
				return "is not an instance name"
			}
			return ""
		})
	}},
})

// duration returns a time span given as a string or a number of seconds.
func (c *converter) duration(n *node, key string) time.Duration {
	switch v := n.value.(type) {
	case int64:
		if v >= 0 && v < int64(Infinity/time.Second) {
			return time.Duration(v) * time.Second
		}
	case string:
		if d, ok := parseDuration(v); ok {
			return d
		}
	}
	c.fail(n, key, acceptDuration, "expected a time span, got %s", describe(n))
	return 0
}

// dependencies returns the entries of after, requires or wants.
func (c *converter) dependencies(n *node, key string) []string {
	deps, _ := c.strings(n, key, "container or unit names", c.checker(key, acceptUnitName, checkDependency))
	return deps
}
