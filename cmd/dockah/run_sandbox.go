package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/policy"
	"github.com/dockah/dockah/unitgen"
)

// A container of "dockah run" is a transient unit, which systemd builds
// from D-Bus properties, not from unit text. It gets the same sandbox as a
// generated unit: the directives unitgen.Sandbox writes, each turned into
// the property systemd-run would send for it.

// sandboxProperties returns the sandbox of def's service as properties of
// a transient unit. store, the image store in use, stays writable under
// ProtectSystem=strict. A directive without a conversion here is an
// error, so that a new one in unitgen cannot silently go missing.
func sandboxProperties(def *unitgen.Definition, store string) ([]sd.Property, error) {
	var props []sd.Property
	lists := map[string][]string{}
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(unitgen.Sandbox(def)), "\n") {
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("sandbox line %q: want KEY=VALUE", line)
		}
		switch key {
		case "ReadWritePaths", "DeviceAllow", "IPAddressDeny", "IPAddressAllow":
			if _, seen := lists[key]; !seen {
				order = append(order, key)
			}
			lists[key] = append(lists[key], value)
			continue
		}
		p, err := sandboxProperty(key, value)
		if err != nil {
			return nil, fmt.Errorf("sandbox %s=%s: %w", key, value, err)
		}
		props = append(props, p)
	}
	if store != "" && !underDir(store, unitgen.StoreDir) {
		if _, seen := lists["ReadWritePaths"]; !seen {
			order = append(order, "ReadWritePaths")
		}
		lists["ReadWritePaths"] = append(lists["ReadWritePaths"], store)
	}
	for _, key := range order {
		p, err := sandboxList(key, lists[key])
		if err != nil {
			return nil, fmt.Errorf("sandbox %s: %w", key, err)
		}
		props = append(props, p)
	}
	return props, nil
}

func underDir(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// sandboxProperty converts a directive that is set once.
func sandboxProperty(key, value string) (sd.Property, error) {
	prop := func(v any) (sd.Property, error) { return sd.Property{Name: key, Value: dbus.MakeVariant(v)}, nil }
	switch key {
	case "NoNewPrivileges", "PrivateMounts", "PrivateTmp", "ProtectKernelTunables",
		"ProtectControlGroups", "ProtectKernelModules", "ProtectKernelLogs", "ProtectClock",
		"LockPersonality", "RestrictRealtime", "PrivateNetwork":
		b, err := parseYes(value)
		if err != nil {
			return sd.Property{}, err
		}
		return prop(b)
	case "ProtectSystem", "ProtectHome", "DevicePolicy":
		return prop(value)
	case "UMask":
		mask, err := strconv.ParseUint(value, 8, 32)
		if err != nil {
			return sd.Property{}, fmt.Errorf("want an octal mode: %w", err)
		}
		return prop(uint32(mask))
	case "CapabilityBoundingSet":
		var set policy.CapSet
		for _, name := range strings.Fields(value) {
			c, err := policy.ParseCap(name)
			if err != nil {
				return sd.Property{}, err
			}
			set = set.With(c)
		}
		return prop(uint64(set))
	case "RestrictNamespaces":
		// The namespaces that may be created, as clone flags.
		var allowed uint64
		for _, name := range strings.Fields(value) {
			flag, ok := namespaceFlags[name]
			if !ok {
				return sd.Property{}, fmt.Errorf("unknown namespace %q", name)
			}
			allowed |= flag
		}
		return prop(allowed)
	case "RestrictAddressFamilies":
		return prop(allowOrDeny(value))
	case "SystemCallFilter":
		return prop(allowOrDeny(value))
	case "SystemCallArchitectures":
		return prop(strings.Fields(value))
	case "SystemCallErrorNumber":
		errno, err := parseErrno(value)
		if err != nil {
			return sd.Property{}, err
		}
		return prop(int32(errno))
	}
	return sd.Property{}, fmt.Errorf("no conversion to a transient unit's property in cmd/dockah (sandboxProperty)")
}

var namespaceFlags = map[string]uint64{
	"cgroup": unix.CLONE_NEWCGROUP, "ipc": unix.CLONE_NEWIPC, "mnt": unix.CLONE_NEWNS,
	"net": unix.CLONE_NEWNET, "pid": unix.CLONE_NEWPID, "user": unix.CLONE_NEWUSER,
	"uts": unix.CLONE_NEWUTS,
}

// listProperty is the (bas) of RestrictAddressFamilies= and
// SystemCallFilter=: an allow list, or with "~" a deny list.
type listProperty struct {
	Allow bool
	Names []string
}

func allowOrDeny(value string) listProperty {
	deny := strings.HasPrefix(value, "~")
	return listProperty{Allow: !deny, Names: strings.Fields(strings.TrimPrefix(value, "~"))}
}

// parseErrno reads an errno by name ("EPERM").
func parseErrno(name string) (unix.Errno, error) {
	for e := unix.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == name {
			return e, nil
		}
	}
	return 0, fmt.Errorf("unknown errno name %q", name)
}

func parseYes(value string) (bool, error) {
	switch value {
	case "yes", "true", "1":
		return true, nil
	case "no", "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("want yes or no")
}

// deviceRule is an entry of DeviceAllow=, (ss).
type deviceRule struct{ Path, Access string }

// addressPrefix is an entry of IPAddressAllow= and IPAddressDeny=, (iayu).
type addressPrefix struct {
	Family int32
	Addr   []byte
	Prefix uint32
}

// sandboxList converts a directive that may be set more than once.
func sandboxList(key string, values []string) (sd.Property, error) {
	prop := func(v any) (sd.Property, error) { return sd.Property{Name: key, Value: dbus.MakeVariant(v)}, nil }
	switch key {
	case "ReadWritePaths":
		return prop(values)
	case "DeviceAllow":
		rules := make([]deviceRule, 0, len(values))
		for _, v := range values {
			path, access, _ := strings.Cut(v, " ")
			rules = append(rules, deviceRule{path, access})
		}
		return prop(rules)
	case "IPAddressDeny", "IPAddressAllow":
		var prefixes []addressPrefix
		for _, v := range values {
			ps, err := addressPrefixes(v)
			if err != nil {
				return sd.Property{}, err
			}
			prefixes = append(prefixes, ps...)
		}
		return prop(prefixes)
	}
	return sd.Property{}, fmt.Errorf("no conversion to a transient unit's property in cmd/dockah (sandboxList)")
}

// addressPrefixes reads the symbolic names systemd accepts for
// IPAddressAllow= and IPAddressDeny=, and plain prefixes.
func addressPrefixes(value string) ([]addressPrefix, error) {
	var names []string
	switch value {
	case "any":
		names = []string{"0.0.0.0/0", "::/0"}
	case "localhost":
		names = []string{"127.0.0.0/8", "::1/128"}
	default:
		names = strings.Fields(value)
	}
	var out []addressPrefix
	for _, n := range names {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, fmt.Errorf("address %q: %w", n, err)
		}
		family := int32(unix.AF_INET)
		if p.Addr().Is6() {
			family = unix.AF_INET6
		}
		out = append(out, addressPrefix{Family: family, Addr: p.Addr().AsSlice(), Prefix: uint32(p.Bits())})
	}
	return out, nil
}
