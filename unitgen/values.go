package unitgen

import (
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// The checks below return "" for a good value, or what is wrong with it.
// They are pure functions of the text so that tests can table them.

const acceptImage = "NAME[:TAG], NAME@sha256:DIGEST or sha256:DIGEST, e.g. library/nginx:1.25"

// checkImage checks an image reference: a name with an optional tag and
// digest, or an image ID (sha256:64 hex digits).
func checkImage(s string) string {
	if s == "" {
		return "is empty"
	}
	if rest, ok := strings.CutPrefix(s, "sha256:"); ok {
		return checkDigestHex(rest)
	}
	name, digest, hasDigest := strings.Cut(s, "@")
	if hasDigest {
		hex, ok := strings.CutPrefix(digest, "sha256:")
		if !ok {
			return "has a digest that is not sha256:HEX"
		}
		if msg := checkDigestHex(hex); msg != "" {
			return msg
		}
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		if msg := checkTag(name[i+1:]); msg != "" {
			return msg
		}
		name = name[:i]
	}
	return checkImageName(name)
}

func checkDigestHex(hex string) string {
	if len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return "has a digest that is not 64 lower-case hex digits"
	}
	return ""
}

func checkTag(tag string) string {
	if tag == "" || len(tag) > 128 || tag[0] == '.' || tag[0] == '-' || !allIn(tag, alnum+"_.-") {
		return "has a bad tag (1-128 letters, digits, _ . -, not starting with . or -)"
	}
	return ""
}

// checkImageName checks [DOMAIN[:PORT]/]PATH where PATH is lower-case
// components separated by /.
func checkImageName(name string) string {
	comps := strings.Split(name, "/")
	if len(comps) > 1 && (strings.ContainsAny(comps[0], ".:") || comps[0] == "localhost") {
		host, port, _ := strings.Cut(comps[0], ":")
		if host == "" || !allIn(host, alnum+".-") || (port != "" && !allIn(port, digits)) {
			return "has a bad registry host"
		}
		comps = comps[1:]
	}
	for _, c := range comps {
		if c == "" || !allIn(c, lower+digits+"._-") || !strings.ContainsAny(c[:1], lower+digits) ||
			!strings.ContainsAny(c[len(c)-1:], lower+digits) {
			return "has a bad name (lower-case letters, digits and . _ - between them, components separated by /)"
		}
	}
	return ""
}

const (
	lower  = "abcdefghijklmnopqrstuvwxyz"
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits = "0123456789"
	alnum  = lower + upper + digits
)

// allIn reports whether every byte of s is in set.
func allIn(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

const acceptListen = "PORT 1-65535, ADDR:PORT, [ADDR]:PORT, or an absolute unix socket path"

// checkListen checks a socket's listen address for its type.
func checkListen(s, typ string) string {
	if strings.HasPrefix(s, "/") {
		if len(s) > 107 {
			return "is longer than a unix socket path may be (107 bytes)"
		}
		if s != strings.TrimSpace(s) {
			return "has leading or trailing blanks"
		}
		return ""
	}
	if typ == SocketSeqPacket {
		return "is not a unix socket path, as seqpacket needs"
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return checkPort(s)
	}
	host, port := s[:i], s[i+1:]
	if checkPort(port) != "" {
		return "has a bad port"
	}
	if inner, ok := strings.CutPrefix(host, "["); ok && strings.HasSuffix(inner, "]") {
		a, err := netip.ParseAddr(inner[:len(inner)-1])
		switch {
		case err != nil || !a.Is6():
			return "has a bad IPv6 address"
		case a.Zone() != "":
			return "has an IPv6 zone, which systemd does not take here (use BindToDevice= in [systemd.socket])"
		}
		return ""
	}
	if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
		return "has a bad IPv4 address (IPv6 needs brackets: [ADDR]:PORT)"
	}
	return ""
}

// checkPort checks a decimal port number 1-65535.
func checkPort(s string) string {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || s[0] == '+' || s[0] == '0' {
		return "is not a port"
	}
	return ""
}

// checkAbsPath checks an absolute path without ".." components.
func checkAbsPath(s string) string {
	if !strings.HasPrefix(s, "/") {
		return "is not an absolute path"
	}
	for _, c := range strings.Split(s, "/") {
		if c == ".." {
			return `has a ".." component`
		}
	}
	return ""
}

// cleanPath cleans an absolute path checked by checkAbsPath.
func cleanPath(s string) string { return path.Clean(s) }

const acceptVolumeName = "an absolute host path, or a volume name of letters, digits and _ . - starting with a letter or digit"

// checkVolumeSource checks a host path or a named volume's name.
func checkVolumeSource(s string) string {
	if strings.HasPrefix(s, "/") {
		return checkAbsPath(s)
	}
	if s == "" || !allIn(s, alnum+"_.-") || !strings.ContainsAny(s[:1], alnum) {
		return "is neither an absolute path nor a volume name"
	}
	return ""
}

const acceptHostname = "a host name: labels of letters, digits and -, separated by ., at most 64 characters"

func checkHostname(s string) string {
	if s == "" || len(s) > 64 {
		return "is not 1-64 characters long"
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || !allIn(label, alnum+"-") || label[0] == '-' || label[len(label)-1] == '-' {
			return "is not a host name"
		}
	}
	return ""
}

const acceptUser = "NAME, UID, NAME:GROUP or UID:GID"

func checkUser(s string) string {
	user, group, hasGroup := strings.Cut(s, ":")
	if user == "" || (hasGroup && group == "") || strings.ContainsAny(s, " \t/") || strings.Count(s, ":") > 1 {
		return "is not a user"
	}
	return ""
}

const acceptEnvName = "a variable name without = and blanks"

func checkEnvName(s string) string {
	if s == "" || strings.ContainsAny(s, "= \t\n") || hasControl(s) {
		return "is not a variable name"
	}
	return ""
}

const acceptLabelName = "a label name without = and blanks, e.g. org.opencontainers.image.version"

func checkLabelName(s string) string {
	if s == "" || strings.ContainsAny(s, "= \t\n") || hasControl(s) {
		return "is not a label name"
	}
	return ""
}

const acceptSELinuxType = "a type name of letters, digits and _, e.g. container_t"

func checkSELinuxType(s string) string {
	if s == "" || !allIn(s, alnum+"_") {
		return "is not an SELinux type"
	}
	return ""
}

const acceptSELinuxLevel = `an MLS level like "s0:c1,c2" or "s0-s0:c0.c1023", or "" for a unique pair chosen at start`

// checkSELinuxLevel checks SENS[-SENS][:CATS] where CATS is a comma list
// of cN or cN.cM.
func checkSELinuxLevel(s string) string {
	if s == "" {
		return ""
	}
	sens, cats, hasCats := strings.Cut(s, ":")
	low, high, hasHigh := strings.Cut(sens, "-")
	if !isNumbered(low, 's', 15) || (hasHigh && !isNumbered(high, 's', 15)) {
		return "is not an MLS level"
	}
	if !hasCats {
		return ""
	}
	for _, c := range strings.Split(cats, ",") {
		from, to, isRange := strings.Cut(c, ".")
		if !isNumbered(from, 'c', 1023) || (isRange && !isNumbered(to, 'c', 1023)) {
			return "has a bad category"
		}
	}
	return ""
}

// isNumbered reports whether s is the letter followed by 0..max.
func isNumbered(s string, letter byte, max int) bool {
	if len(s) < 2 || s[0] != letter || !allIn(s[1:], digits) || (len(s) > 2 && s[1] == '0') {
		return false
	}
	n, err := strconv.Atoi(s[1:])
	return err == nil && n <= max
}

const acceptFDName = "letters, digits and _ . -, at most 64 characters"

func checkFDName(s string) string {
	if s == "" || len(s) > 64 || !allIn(s, alnum+"_.-") {
		return "is not a socket name"
	}
	return ""
}
