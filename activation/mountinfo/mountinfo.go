// Package mountinfo reads the fields of /proc/PID/mountinfo that name
// paths, which the kernel escapes: a space, a tab, a newline and a
// backslash are written as \040, \011, \012 and \134. The shim reads
// mountinfo to find the cgroups an exec joins, the test harness to take
// a box's mounts down, and the attack probe to list a container's mounts:
// all three unescape with this package.
//
// Boundary: pure string work, no file access; a leaf that imports nothing
// of ours.
package mountinfo

import (
	"strconv"
	"strings"
)

// Unescape undoes the octal escapes of a mountinfo path field. A backslash
// not followed by three octal digits of a byte is kept as it is.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
