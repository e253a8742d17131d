package inventory

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// dpkgPackage is a stanza of dpkg's status file.
type dpkgPackage struct {
	Name, Version, Source, SourceVersion, Arch string
}

// maxStanzas bounds the packages one database may list.
const maxStanzas = 200000

// ParseDpkgStatus reads dpkg's status file (or a file of distroless's
// status.d, which has the same stanzas without a Status field) and
// returns the packages installed: those without a Status field or whose
// Status says the package's files are there (installed, half-configured,
// unpacked, triggers pending or awaited), not those only remembered for
// their configuration files. Continuation lines are skipped; a line that
// is neither a field nor a continuation is an error naming it.
func ParseDpkgStatus(data []byte) ([]dpkgPackage, error) {
	var out []dpkgPackage
	var cur map[string]string
	flush := func() error {
		if cur == nil {
			return nil
		}
		defer func() { cur = nil }()
		name := cur["package"]
		if name == "" || !dpkgInstalled(cur["status"]) {
			return nil
		}
		if len(out) >= maxStanzas {
			return fmt.Errorf("more than %d packages", maxStanzas)
		}
		p := dpkgPackage{Name: name, Version: cur["version"], Arch: cur["architecture"], Source: name}
		if src := cur["source"]; src != "" {
			// "Source: zlib" or "Source: zlib (1:1.2.13.dfsg-1)" when
			// the binary package's version differs.
			p.Source = src
			if i := strings.IndexByte(src, '('); i >= 0 {
				p.Source = strings.TrimSpace(src[:i])
				p.SourceVersion = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(src[i+1:]), ")"))
			}
		}
		if p.SourceVersion == "" {
			p.SourceVersion = p.Version
		}
		out = append(out, p)
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		switch {
		case len(bytes.TrimSpace(line)) == 0:
			if err := flush(); err != nil {
				return nil, err
			}
		case line[0] == ' ' || line[0] == '\t':
			// A continuation of a multi-line field (Description,
			// Conffiles): nothing this package reads.
		default:
			key, value, ok := bytes.Cut(line, []byte(":"))
			if !ok {
				return nil, fmt.Errorf("line %d: %q is not a field (want Key: value)", n, truncate(string(line), 40))
			}
			if cur == nil {
				cur = map[string]string{}
			}
			k := strings.ToLower(string(bytes.TrimSpace(key)))
			switch k {
			case "package", "status", "version", "source", "architecture":
				cur[k] = string(bytes.TrimSpace(value))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// dpkgInstalled reports whether a Status field ("install ok installed")
// says the package's files are on disk. No Status (status.d) means
// installed.
func dpkgInstalled(status string) bool {
	if status == "" {
		return true
	}
	f := strings.Fields(status)
	switch f[len(f)-1] {
	case "installed", "half-configured", "unpacked", "triggers-awaited", "triggers-pending":
		return true
	}
	return false
}

// parseFileList reads a dpkg .list file (a path per line) or a .md5sums
// file (a digest, blanks, then a path relative to /), and returns the
// absolute paths.
func parseFileList(data []byte, md5sums bool) []string {
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if md5sums {
			f := strings.SplitN(line, " ", 2)
			if len(f) != 2 {
				continue
			}
			line = strings.TrimLeft(f[1], " *")
		}
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if !strings.HasPrefix(line, "/") {
			line = "/" + line
		}
		out = append(out, line)
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
