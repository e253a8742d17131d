package usage

import (
	"os"
	"strconv"
	"strings"
)

// IDMap is a process's /proc/PID/uid_map or gid_map: which host IDs its
// user namespace maps, and onto which of its own.
type IDMap []idMapLine

type idMapLine struct{ inside, outside, count uint64 }

// overflowID is what a user namespace shows for an ID it does not map
// (/proc/sys/kernel/overflowuid).
const overflowID = 65534

// ParseIDMap parses a uid_map or gid_map; malformed lines are skipped.
func ParseIDMap(text string) IDMap {
	var m IDMap
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		var v [3]uint64
		ok := true
		for i, s := range f {
			n, err := strconv.ParseUint(s, 10, 32)
			ok = ok && err == nil
			v[i] = n
		}
		if ok {
			m = append(m, idMapLine{v[0], v[1], v[2]})
		}
	}
	return m
}

// ReadIDMap reads /proc/PID/uid_map (file "uid_map") or gid_map.
func ReadIDMap(pid int, file string) (IDMap, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + file)
	if err != nil {
		return nil, err
	}
	return ParseIDMap(string(data)), nil
}

// Inside returns the ID the namespace knows host ID id by: the overflow
// ID (65534, nobody) when it does not map it.
func (m IDMap) Inside(id int) int {
	for _, l := range m {
		if uint64(id) >= l.outside && uint64(id) < l.outside+l.count {
			return int(l.inside + uint64(id) - l.outside)
		}
	}
	return overflowID
}
