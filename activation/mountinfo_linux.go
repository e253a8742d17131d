package activation

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"github.com/dockah/dockah/activation/mountinfo"
)

// MountRoots returns, for each mount of the mount namespace of pid, the
// path of its root inside the file system it comes from (the fourth field
// of /proc/PID/mountinfo, unescaped): for a bind mount, the directory
// that was bound.
func MountRoots(pid int) ([]string, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var roots []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 5 {
			roots = append(roots, mountinfo.Unescape(fields[3]))
		}
	}
	return roots, sc.Err()
}
