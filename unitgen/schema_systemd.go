package unitgen

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

var systemdFields = withPrefix("systemd", []field[Systemd]{
	{"unit", func(c *converter, n *node, key string, out *Systemd) {
		out.Unit = c.directives(n, key, nil)
	}},
	{"service", func(c *converter, n *node, key string, out *Systemd) {
		out.Service = c.directives(n, key, reservedService)
	}},
	{"socket", func(c *converter, n *node, key string, out *Systemd) {
		out.Socket = c.directives(n, key, reservedSocket)
	}},
})

// reservedService are the [Service] directives dockah sets and that the
// activation shim relies on.
var reservedService = map[string]string{
	"ExecStart":    "the activation shim",
	"Type":         "notify, which the activation shim speaks",
	"NotifyAccess": "main, or all with notify = true",
	"Sockets":      "the sockets of [[socket]]",
}

// reservedSocket are the [Socket] directives that would hand the shim
// sockets it does not know of.
var reservedSocket = map[string]string{
	"ListenStream":           "[[socket]]",
	"ListenDatagram":         "[[socket]]",
	"ListenSequentialPacket": "[[socket]]",
	"ListenFIFO":             "[[socket]]",
	"ListenSpecial":          "[[socket]]",
	"ListenNetlink":          "[[socket]]",
	"ListenMessageQueue":     "[[socket]]",
	"ListenUSBFunction":      "[[socket]]",
	"Accept":                 "one container for all connections (Accept=no)",
	"Service":                "the container's service",
	"FileDescriptorName":     "the name of [[socket]]",
}

// directives returns the raw directives of a [systemd.*] table, sorted by
// key; an array gives one directive per element. Values are written to the
// unit as they are (specifiers and all), so only what would break the
// unit file is rejected.
func (c *converter) directives(n *node, key string, reserved map[string]string) []Directive {
	if n.table == nil {
		c.fail(n, key, "a table of directives, e.g. { TimeoutStartSec = \"5min\" }", "expected a table, got %s", describe(n))
		return nil
	}
	var out []Directive
	for name, v := range n.table {
		k := joinPath(key, name)
		if !isDirectiveName(name) {
			c.fail(v, k, "a directive name of letters and digits, e.g. TimeoutStartSec", "%s is not a directive name", quote(name))
			continue
		}
		if what, ok := reserved[name]; ok {
			c.fail(v, k, "directives dockah does not set", "dockah sets %s itself, from %s", name, what)
			continue
		}
		values := []*node{v}
		if v.array {
			values = v.list
		}
		for _, e := range values {
			if s, ok := c.rawValue(e, k); ok {
				out = append(out, Directive{Key: name, Value: s})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Directive) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

func isDirectiveName(s string) bool {
	return s != "" && isLetter(s[0]) && allIn(s, alnum)
}

// rawValue returns a directive's value: a string, an integer or a boolean
// (yes/no), on one line and not ending in a backslash, which would join the
// next line to it.
func (c *converter) rawValue(n *node, key string) (string, bool) {
	const accepted = "a string, an integer, a boolean or an array of them, on one line"
	var s string
	switch v := n.value.(type) {
	case string:
		s = v
	case int64:
		return strconv.FormatInt(v, 10), true
	case bool:
		if v {
			return "yes", true
		}
		return "no", true
	default:
		c.fail(n, key, accepted, "expected a directive value, got %s", describe(n))
		return "", false
	}
	if hasControl(s) || strings.IndexByte(s, 0) >= 0 {
		c.fail(n, key, accepted, "%s contains a control character", quote(s))
		return "", false
	}
	if strings.HasSuffix(s, `\`) {
		c.fail(n, key, accepted, "%s ends in a backslash, which would continue the line", quote(s))
		return "", false
	}
	return s, true
}
