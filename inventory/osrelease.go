package inventory

import (
	"strings"
)

// ParseOSRelease reads os-release(5): KEY=VALUE lines, values maybe
// quoted with ' or ", with \ escapes inside double quotes.
func ParseOSRelease(data []byte) Distro {
	var d Distro
	for _, line := range strings.Split(string(data), "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		value = unquoteOSRelease(value)
		if len(value) > 256 {
			continue
		}
		switch key {
		case "ID":
			d.ID = value
		case "VERSION_ID":
			d.VersionID = value
		case "VERSION_CODENAME":
			d.Codename = value
		case "PRETTY_NAME":
			d.Name = value
		}
	}
	return d
}

func unquoteOSRelease(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		q := v[0]
		v = v[1 : len(v)-1]
		if q == '"' {
			var b strings.Builder
			for i := 0; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				b.WriteByte(v[i])
			}
			v = b.String()
		}
	}
	return v
}

// debianCodenames name Debian's releases by major version, for images
// whose os-release has no VERSION_CODENAME (Debian before 10 and some
// minimal images); the security tracker keys releases by codename.
var debianCodenames = map[string]string{
	"8": "jessie", "9": "stretch", "10": "buster", "11": "bullseye",
	"12": "bookworm", "13": "trixie", "14": "forky",
}

// Release is the name of the distribution's release that vulnerability
// data uses: Debian's codename, Alpine's "vMAJOR.MINOR", or the major
// version of an rpm distribution.
func (d Distro) Release() string {
	switch d.ID {
	case "debian":
		if d.Codename != "" {
			return d.Codename
		}
		return debianCodenames[major(d.VersionID)]
	case "alpine":
		f := strings.SplitN(d.VersionID, ".", 3)
		if len(f) >= 2 {
			return "v" + f[0] + "." + f[1]
		}
		return ""
	}
	return major(d.VersionID)
}

func major(v string) string {
	m, _, _ := strings.Cut(v, ".")
	return m
}
