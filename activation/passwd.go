package activation

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// User is a resolved container user.
type User struct {
	UID, GID       uint32
	AdditionalGIDs []uint32
	Home           string
}

// passwdEntry and groupEntry are lines of the image's /etc/passwd and
// /etc/group; both files come from the image and are hostile input.
type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// maxDatabaseLines bounds how much of a hostile passwd or group file is read.
const maxDatabaseLines = 100000

func parsePasswd(r io.Reader) ([]passwdEntry, error) {
	var entries []passwdEntry
	err := scanColonFile(r, 7, func(f []string) {
		uid, err1 := parseID(f[2])
		gid, err2 := parseID(f[3])
		if err1 == nil && err2 == nil && f[0] != "" {
			entries = append(entries, passwdEntry{name: f[0], uid: uid, gid: gid, home: f[5]})
		}
	})
	return entries, err
}

func parseGroup(r io.Reader) ([]groupEntry, error) {
	var entries []groupEntry
	err := scanColonFile(r, 4, func(f []string) {
		gid, err := parseID(f[2])
		if err != nil || f[0] == "" {
			return
		}
		var members []string
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				members = append(members, m)
			}
		}
		entries = append(entries, groupEntry{name: f[0], gid: gid, members: members})
	})
	return entries, err
}

// scanColonFile calls line for every well-formed line with at least n
// colon-separated fields, skipping comments and malformed lines as libc does.
func scanColonFile(r io.Reader, n int, line func([]string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64*1024)
	for lines := 0; sc.Scan(); lines++ {
		if lines >= maxDatabaseLines {
			return fmt.Errorf("more than %d lines", maxDatabaseLines)
		}
		text := sc.Text()
		if text == "" || text[0] == '#' {
			continue
		}
		if f := strings.Split(text, ":"); len(f) >= n {
			line(f)
		}
	}
	return sc.Err()
}

// parseID parses a uid or gid; -1 (4294967295) is refused because the
// kernel reads it as "unchanged".
func parseID(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, err
	}
	if v == 1<<32-1 {
		return 0, fmt.Errorf("id %s is reserved", s)
	}
	return uint32(v), nil
}

// ResolveUser resolves a Docker-style user spec ("", "name", "uid",
// "name:group", "uid:gid") against the image's passwd and group files
// (either may be nil when the image has none). As with Docker, a numeric
// uid need not exist in passwd; a name must.
func ResolveUser(spec string, passwd, group io.Reader) (User, error) {
	var users []passwdEntry
	var groups []groupEntry
	var err error
	if passwd != nil {
		if users, err = parsePasswd(passwd); err != nil {
			return User{}, fmt.Errorf("read /etc/passwd: %w", err)
		}
	}
	if group != nil {
		if groups, err = parseGroup(group); err != nil {
			return User{}, fmt.Errorf("read /etc/group: %w", err)
		}
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}
	u := User{Home: "/"}
	var name string
	if id, err := parseID(userPart); err == nil {
		u.UID = id
		for _, e := range users {
			if e.uid == id {
				u.GID, u.Home, name = e.gid, e.home, e.name
				break
			}
		}
	} else {
		e, ok := findUser(users, userPart)
		if !ok {
			return User{}, fmt.Errorf("user %q: no such user in the image's /etc/passwd", userPart)
		}
		u.UID, u.GID, u.Home, name = e.uid, e.gid, e.home, e.name
	}
	if hasGroup {
		gid, err := resolveGroup(groups, groupPart)
		if err != nil {
			return User{}, err
		}
		u.GID = gid
	} else if name != "" {
		// Supplementary groups come from /etc/group only when no group
		// is given explicitly, as with Docker.
		for _, g := range groups {
			for _, m := range g.members {
				if m == name && g.gid != u.GID {
					u.AdditionalGIDs = append(u.AdditionalGIDs, g.gid)
				}
			}
		}
	}
	if u.Home == "" {
		u.Home = "/"
	}
	return u, nil
}

func findUser(users []passwdEntry, name string) (passwdEntry, bool) {
	for _, e := range users {
		if e.name == name {
			return e, true
		}
	}
	return passwdEntry{}, false
}

func resolveGroup(groups []groupEntry, spec string) (uint32, error) {
	if id, err := parseID(spec); err == nil {
		return id, nil
	}
	for _, g := range groups {
		if g.name == spec {
			return g.gid, nil
		}
	}
	return 0, fmt.Errorf("group %q: no such group in the image's /etc/group", spec)
}
