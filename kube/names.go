package kube

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	// A DNS-1123 label: what Kubernetes wants of container, port-less
	// object and volume names (63 characters at most).
	labelPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	// An IANA service name: a port's name (15 characters at most).
	portNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	// A ConfigMap or Secret key, and a file name below a mount.
	keyPattern = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
)

// isLabel reports whether s is a DNS-1123 label.
func isLabel(s string) bool { return len(s) <= 63 && labelPattern.MatchString(s) }

// isPortName reports whether s is a valid port name (it needs a letter).
func isPortName(s string) bool {
	return len(s) <= 15 && portNamePattern.MatchString(s) && strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") && !strings.Contains(s, "--")
}

// checkLabel is the error of a name that is not a DNS-1123 label.
func checkLabel(what, s string) error {
	if isLabel(s) {
		return nil
	}
	return fmt.Errorf("%s %q: not a DNS-1123 label (accepted: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63)", what, s)
}

// labelOf turns a dockah name ("web", "postgres@main", "my_db") into a
// DNS-1123 label, deterministically: lower case, other characters as
// '-', at most 63.
func labelOf(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	if s == "" {
		s = "container"
	}
	return s
}
