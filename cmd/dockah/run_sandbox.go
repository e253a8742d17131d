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
// generated unit: the directives unitgen.Sandbox returns, each turned into
// the property systemd-run would send for it. Their values are the
// definition's own, unescaped, as D-Bus takes them.

// sandboxProperties returns the sandbox of def's service as properties of
// a transient unit. store, the image store in use, stays writable under
// ProtectSystem=strict (unit_sandbox = "systemd"; the shim's own sandbox
// keeps the store it uses writable). A directive without a conversion
// here is an error, so that a new one in unitgen cannot silently go
// missing.
func sandboxProperties(def *unitgen.Definition, store string) ([]sd.Property, error) {
	dirs := unitgen.Sandbox(def)
	if _, own := def.ShimSandbox(); !own && store != "" && !underDir(store, unitgen.StoreDir) {
		dirs = append(dirs, unitgen.SandboxDirective{Key: "ReadWritePaths", Values: []string{store}})
	}
	var props []sd.Property
	// A directive that may come more than once is one property: its
	// values, gathered in order, at the place of its first line.
	lists := map[string][]unitgen.SandboxDirective{}
	var order []string
	for _, dir := range dirs {
		switch dir.Key {
		case "ReadWritePaths", "DeviceAllow", "IPAddressDeny", "IPAddressAllow":
			if _, seen := lists[dir.Key]; !seen {
				order = append(order, dir.Key)
			}
			lists[dir.Key] = append(lists[dir.Key], dir)
			continue
		}
		p, err := sandboxProperty(dir)
		if err != nil {
			return nil, fmt.Errorf("sandbox %s: %w", dir, err)
		}
		props = append(props, p)
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
func sandboxProperty(dir unitgen.SandboxDirective) (sd.Property, error) {
	prop := func(v any) (sd.Property, error) { return sd.Property{Name: dir.Key, Value: dbus.MakeVariant(v)}, nil }
	switch dir.Key {
	case "CapabilityBoundingSet":
		var set policy.CapSet
		for _, name := range dir.Values {
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
		for _, name := range dir.Values {
			flag, ok := namespaceFlags[name]
			if !ok {
				return sd.Property{}, fmt.Errorf("unknown namespace %q", name)
			}
			allowed |= flag
		}
		return prop(allowed)
	case "RestrictAddressFamilies", "SystemCallFilter":
		return prop(listProperty{Allow: !dir.Deny, Names: dir.Values})
	case "SystemCallArchitectures":
		return prop(dir.Values)
	}
	convert, ok := scalarProperties[dir.Key]
	if !ok {
		return sd.Property{}, fmt.Errorf("no conversion to a transient unit's property in cmd/dockah (sandboxProperty)")
	}
	if len(dir.Values) != 1 || dir.Deny {
		return sd.Property{}, fmt.Errorf("want one value")
	}
	v, err := convert(dir.Values[0])
	if err != nil {
		return sd.Property{}, err
	}
	return prop(v)
}

// scalarProperties convert the value of a directive that takes one.
var scalarProperties = map[string]func(string) (any, error){
	"NoNewPrivileges": yesNo, "PrivateMounts": yesNo, "PrivateTmp": yesNo,
	"ProtectKernelTunables": yesNo, "ProtectControlGroups": yesNo,
	"ProtectKernelModules": yesNo, "ProtectKernelLogs": yesNo, "ProtectClock": yesNo,
	"LockPersonality": yesNo, "RestrictRealtime": yesNo, "PrivateNetwork": yesNo,
	"ProtectSystem": asString, "ProtectHome": asString, "DevicePolicy": asString,
	"UMask":                 octalMode,
	"SystemCallErrorNumber": errnoNumber,
}

func yesNo(value string) (any, error) { return parseYes(value) }

func asString(value string) (any, error) { return value, nil }

func octalMode(value string) (any, error) {
	mask, err := strconv.ParseUint(value, 8, 32)
	if err != nil {
		return nil, fmt.Errorf("want an octal mode: %w", err)
	}
	return uint32(mask), nil
}

func errnoNumber(value string) (any, error) {
	errno, err := parseErrno(value)
	return int32(errno), err
}

var namespaceFlags = map[string]uint64{
	"cgroup": unix.CLONE_NEWCGROUP, "ipc": unix.CLONE_NEWIPC, "mnt": unix.CLONE_NEWNS,
	"net": unix.CLONE_NEWNET, "pid": unix.CLONE_NEWPID, "user": unix.CLONE_NEWUSER,
	"uts": unix.CLONE_NEWUTS,
}

// listProperty is the (bas) of RestrictAddressFamilies= and
// SystemCallFilter=: an allow list, or a deny list.
type listProperty struct {
	Allow bool
	Names []string
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

// sandboxList converts the lines of a directive that may be set more
// than once.
func sandboxList(key string, dirs []unitgen.SandboxDirective) (sd.Property, error) {
	prop := func(v any) (sd.Property, error) { return sd.Property{Name: key, Value: dbus.MakeVariant(v)}, nil }
	switch key {
	case "ReadWritePaths":
		var paths []string
		for _, dir := range dirs {
			paths = append(paths, dir.Values...)
		}
		return prop(paths)
	case "DeviceAllow":
		rules := make([]deviceRule, 0, len(dirs))
		for _, dir := range dirs {
			if len(dir.Values) != 2 {
				return sd.Property{}, fmt.Errorf("%s: want a device and its access", dir)
			}
			rules = append(rules, deviceRule{dir.Values[0], dir.Values[1]})
		}
		return prop(rules)
	case "IPAddressDeny", "IPAddressAllow":
		var prefixes []addressPrefix
		for _, dir := range dirs {
			for _, v := range dir.Values {
				ps, err := addressPrefixes(v)
				if err != nil {
					return sd.Property{}, err
				}
				prefixes = append(prefixes, ps...)
			}
		}
		return prop(prefixes)
	}
	return sd.Property{}, fmt.Errorf("no conversion to a transient unit's property in cmd/dockah (sandboxList)")
}

// addressPrefixes reads the symbolic names systemd accepts for
// IPAddressAllow= and IPAddressDeny=, and a plain prefix.
func addressPrefixes(value string) ([]addressPrefix, error) {
	names := []string{value}
	switch value {
	case "any":
		names = []string{"0.0.0.0/0", "::/0"}
	case "localhost":
		names = []string{"127.0.0.0/8", "::1/128"}
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
