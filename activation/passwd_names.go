package activation

import "io"

// UserNames maps the uids of a passwd file to their names, the first
// line of a uid winning, as ps shows the owner of a process. The file is
// the image's, read as ResolveUser reads it.
func UserNames(passwd io.Reader) (map[uint32]string, error) {
	entries, err := parsePasswd(passwd)
	return namesByID(entries, func(e passwdEntry) (uint32, string) { return e.uid, e.name }), err
}

// GroupNames maps the gids of a group file to their names, as UserNames.
func GroupNames(group io.Reader) (map[uint32]string, error) {
	entries, err := parseGroup(group)
	return namesByID(entries, func(e groupEntry) (uint32, string) { return e.gid, e.name }), err
}

// namesByID maps each id of entries to the name of its first entry.
func namesByID[E any](entries []E, idName func(E) (uint32, string)) map[uint32]string {
	names := map[uint32]string{}
	for _, e := range entries {
		if id, name := idName(e); names[id] == "" {
			names[id] = name
		}
	}
	return names
}
