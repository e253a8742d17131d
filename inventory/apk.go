package inventory

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// apkPackage is a record of apk's installed database.
type apkPackage struct {
	Name, Version, Origin, Arch string
	Files                       []string
}

// ParseAPKInstalled reads apk's /lib/apk/db/installed: records of
// "X:value" lines separated by blank lines (P name, V version, A arch,
// o origin, F a directory, R a file in the last F). A line that is not
// "X:value" is an error naming it.
func ParseAPKInstalled(data []byte) ([]apkPackage, error) {
	var out []apkPackage
	var cur *apkPackage
	dir := ""
	flush := func() error {
		if cur != nil && cur.Name != "" {
			if len(out) >= maxStanzas {
				return fmt.Errorf("more than %d packages", maxStanzas)
			}
			if cur.Origin == "" {
				cur.Origin = cur.Name
			}
			out = append(out, *cur)
		}
		cur, dir = nil, ""
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			return nil, fmt.Errorf("line %d: %q is not a field (want X:value)", n, truncate(line, 40))
		}
		if cur == nil {
			cur = &apkPackage{}
		}
		value := line[2:]
		switch line[0] {
		case 'P':
			cur.Name = value
		case 'V':
			cur.Version = value
		case 'A':
			cur.Arch = value
		case 'o':
			cur.Origin = value
		case 'F':
			dir = value
		case 'R':
			cur.Files = append(cur.Files, "/"+strings.Trim(dir+"/"+value, "/"))
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
