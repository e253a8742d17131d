package network

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/dockah/dockah/internal/tomldiag"
)

// File is one definition file: the main file or a drop-in.
type File struct {
	// Path is the absolute path, as diagnostics print it.
	Path string
	Data []byte
}

// maxFileSize bounds a definition file.
const maxFileSize = 1 << 20

// value is one key's value and where it was last set.
type value struct {
	v    any
	file string
	line int
}

// keys are the keys of the [network] table, and what each accepts.
var keys = map[string]string{
	"subnet":   "an IPv4 subnet in CIDR form, e.g. \"10.89.1.0/24\", /8 to /30",
	"gateway":  "an IPv4 address inside subnet",
	"subnet6":  "an IPv6 subnet in CIDR form, e.g. \"fd42:89:1::/64\", /48 to /120",
	"gateway6": "an IPv6 address inside subnet6",
	"internal": "true or false",
	"dns":      "true or false",
	"bridge":   "an interface name: letters, digits, _ . -, at most 15 characters",
	"mtu":      "an integer from 68 to 65535",
}

const acceptName = "letters, digits and _ . -, at most 64 characters, not starting with . or -"

// CheckName returns what is wrong with a network name, or "".
func CheckName(name string) string {
	switch {
	case name == "" || len(name) > 64:
		return "is not a network name"
	case name[0] == '.' || name[0] == '-':
		return "is not a network name"
	case name == "none" || name == "host":
		return "is a network mode, not a network name"
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_.-", r)) {
			return "is not a network name"
		}
	}
	return ""
}

// Parse parses the definition of the network name from its main file and
// drop-ins (merged in the order given, key by key: a later file's key
// replaces an earlier one's). Every problem is a *tomldiag.Diagnostic;
// they are returned together.
func Parse(name string, main File, dropIns ...File) (*Network, error) {
	if msg := CheckName(name); msg != "" {
		return nil, &tomldiag.Diagnostic{File: main.Path, Msg: fmt.Sprintf("%q %s", name, msg), Accepted: acceptName}
	}
	merged := map[string]value{}
	var errs []error
	for _, f := range append([]File{main}, dropIns...) {
		errs = append(errs, decode(f, merged)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	n := &Network{Name: name, File: main.Path, DNS: true, Bridge: BridgeName(name)}
	c := checker{}
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		c.set(n, k, merged[k])
	}
	c.crossCheck(n, merged)
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return n.WithSubnet(netip.Prefix{}), nil
}

// decode reads one file into merged; its problems are diagnostics.
func decode(f File, merged map[string]value) []error {
	if len(f.Data) > maxFileSize {
		return []error{&tomldiag.Diagnostic{File: f.Path, Msg: fmt.Sprintf("file is %d bytes", len(f.Data)), Accepted: "at most 1 MiB"}}
	}
	var doc map[string]any
	if _, err := toml.Decode(string(f.Data), &doc); err != nil {
		d := &tomldiag.Diagnostic{File: f.Path, Msg: "invalid TOML: " + err.Error(), Err: err}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			d.Line, d.Msg = pe.Position.Line, "invalid TOML: "+pe.Message
		}
		return []error{d}
	}
	lines := tomldiag.ScanShallow(string(f.Data))
	var errs []error
	for _, top := range slices.Sorted(maps.Keys(doc)) {
		path := tomldiag.Path("", top)
		table, ok := doc[top].(map[string]any)
		switch {
		case top != "network":
			errs = append(errs, &tomldiag.Diagnostic{File: f.Path, Line: lines.Line(path), Key: top, Msg: "unknown table", Accepted: "[network]"})
			continue
		case !ok:
			errs = append(errs, &tomldiag.Diagnostic{File: f.Path, Line: lines.Line(path), Key: top, Msg: "expected a table", Accepted: "[network]"})
			continue
		}
		for k, v := range table {
			line := lines.Line(tomldiag.Path(path, k))
			if _, known := keys[k]; !known {
				errs = append(errs, &tomldiag.Diagnostic{File: f.Path, Line: line, Key: "network." + k, Msg: "unknown key", Accepted: strings.Join(sortedKeys(), ", ")})
				continue
			}
			merged[k] = value{v: v, file: f.Path, line: line}
		}
	}
	return errs
}

func sortedKeys() []string { return slices.Sorted(maps.Keys(keys)) }

// checker converts values and collects the problems.
type checker struct{ errs []error }

func (c *checker) fail(v value, key, format string, args ...any) {
	c.errs = append(c.errs, &tomldiag.Diagnostic{File: v.file, Line: v.line, Key: "network." + key, Msg: fmt.Sprintf(format, args...), Accepted: keys[key]})
}

func (c *checker) str(v value, key string) (string, bool) {
	s, ok := v.v.(string)
	if !ok {
		c.fail(v, key, "expected a string, got %s", describe(v.v))
	}
	return s, ok
}

func (c *checker) boolean(v value, key string) bool {
	b, ok := v.v.(bool)
	if !ok {
		c.fail(v, key, "expected a boolean, got %s", describe(v.v))
	}
	return b
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case int64:
		return fmt.Sprintf("the integer %d", x)
	case bool:
		return fmt.Sprintf("the boolean %t", x)
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

// set converts one key's value into n.
func (c *checker) set(n *Network, key string, v value) {
	switch key {
	case "subnet", "subnet6":
		s, ok := c.str(v, key)
		if !ok {
			return
		}
		p, msg := parseSubnet(s, key == "subnet6")
		if msg != "" {
			c.fail(v, key, "%q %s", s, msg)
			return
		}
		if key == "subnet" {
			n.Subnet = p
		} else {
			n.Subnet6 = p
		}
	case "gateway", "gateway6":
		s, ok := c.str(v, key)
		if !ok {
			return
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Is4() != (key == "gateway") || a.Zone() != "" {
			c.fail(v, key, "%q is not an IPv%s address", s, map[bool]string{true: "4", false: "6"}[key == "gateway"])
			return
		}
		if key == "gateway" {
			n.Gateway = a
		} else {
			n.Gateway6 = a
		}
	case "internal":
		n.Internal = c.boolean(v, key)
	case "dns":
		n.DNS = c.boolean(v, key)
	case "bridge":
		s, ok := c.str(v, key)
		if ok && !ifNameOK(s) {
			c.fail(v, key, "%q is not an interface name", s)
			return
		}
		n.Bridge = s
	case "mtu":
		i, ok := v.v.(int64)
		if !ok || i < 68 || i > 65535 {
			c.fail(v, key, "%s is not an MTU", describe(v.v))
			return
		}
		n.MTU = int(i)
	}
}

// crossCheck checks the keys that depend on each other.
func (c *checker) crossCheck(n *Network, merged map[string]value) {
	check := func(gwKey, subnetKey string, gw netip.Addr, subnet netip.Prefix) {
		v, given := merged[gwKey]
		if !given || !gw.IsValid() {
			return
		}
		switch {
		case !subnet.IsValid():
			c.fail(v, gwKey, "is set without %s", subnetKey)
		case !subnet.Contains(gw):
			c.fail(v, gwKey, "%s is not inside %s", gw, subnet)
		case gw == subnet.Addr() || (gw.Is4() && gw == lastAddr(subnet)):
			c.fail(v, gwKey, "%s is the network or broadcast address of %s", gw, subnet)
		}
	}
	check("gateway", "subnet", n.Gateway, n.Subnet)
	check("gateway6", "subnet6", n.Gateway6, n.Subnet6)
}

// parseSubnet parses a subnet of the family asked for; the message says
// what is wrong, or is empty.
func parseSubnet(s string, v6 bool) (netip.Prefix, string) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		return p, "is not a subnet in CIDR form"
	case p.Addr().Is4() == v6 || p.Addr().Is4In6() || p.Addr().Zone() != "":
		return p, map[bool]string{true: "is not an IPv6 subnet", false: "is not an IPv4 subnet"}[v6]
	case p.Masked() != p:
		return p, fmt.Sprintf("has host bits set (the subnet is %s)", p.Masked())
	case !v6 && (p.Bits() < 8 || p.Bits() > 30), v6 && (p.Bits() < 48 || p.Bits() > 120):
		return p, "has a prefix length out of range"
	case p.Addr().IsLoopback() || p.Addr().IsMulticast() || p.Addr().IsLinkLocalUnicast() || p.Overlaps(linkLocal4):
		return p, "is a loopback, multicast or link-local range"
	case p.Overlaps(unspecified4) || p.Addr().IsUnspecified():
		return p, "overlaps 0.0.0.0/8"
	}
	return p, ""
}

var (
	linkLocal4   = netip.MustParsePrefix("169.254.0.0/16")
	unspecified4 = netip.MustParsePrefix("0.0.0.0/8")
)

// lastAddr returns the last address of p (the broadcast address of an
// IPv4 subnet).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 7; j >= 0; j-- {
			if i*8+(7-j) >= bits {
				b[i] |= 1 << j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
