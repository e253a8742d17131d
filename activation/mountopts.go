package activation

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOptions is an OCI mount's option list split into what mount(2)
// takes: flags, propagation, and the filesystem's own data string.
type mountOptions struct {
	flags       uintptr
	propagation uintptr // MS_PRIVATE, MS_SLAVE, ... or 0
	recursive   bool    // rbind
	bind        bool
	readOnly    bool // applied with a remount after a bind, which ignores MS_RDONLY
	data        string
}

// flagOptions are the options mount(8) turns into MS_ flags. The value
// says whether the option sets (true) or clears (false) the flag.
var flagOptions = map[string]struct {
	set  bool
	flag uintptr
}{
	"ro":          {true, unix.MS_RDONLY},
	"rw":          {false, unix.MS_RDONLY},
	"nosuid":      {true, unix.MS_NOSUID},
	"suid":        {false, unix.MS_NOSUID},
	"nodev":       {true, unix.MS_NODEV},
	"dev":         {false, unix.MS_NODEV},
	"noexec":      {true, unix.MS_NOEXEC},
	"exec":        {false, unix.MS_NOEXEC},
	"sync":        {true, unix.MS_SYNCHRONOUS},
	"async":       {false, unix.MS_SYNCHRONOUS},
	"noatime":     {true, unix.MS_NOATIME},
	"atime":       {false, unix.MS_NOATIME},
	"nodiratime":  {true, unix.MS_NODIRATIME},
	"diratime":    {false, unix.MS_NODIRATIME},
	"relatime":    {true, unix.MS_RELATIME},
	"norelatime":  {false, unix.MS_RELATIME},
	"strictatime": {true, unix.MS_STRICTATIME},
	"mand":        {true, unix.MS_MANDLOCK},
	"nomand":      {false, unix.MS_MANDLOCK},
	"dirsync":     {true, unix.MS_DIRSYNC},
}

var propagationOptions = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// parseMountOptions splits OCI mount options. Unknown words are passed to
// the filesystem as data (size=, mode=, newinstance, ...), except that
// words dockah alone understands are refused so a typo is not silently
// handed to the kernel.
func parseMountOptions(options []string) (mountOptions, error) {
	var m mountOptions
	var data []string
	for _, o := range options {
		if f, ok := flagOptions[o]; ok {
			if f.set {
				m.flags |= f.flag
			} else {
				m.flags &^= f.flag
			}
			continue
		}
		if p, ok := propagationOptions[o]; ok {
			m.propagation = p
			continue
		}
		switch o {
		case "bind":
			m.bind = true
		case "rbind":
			m.bind, m.recursive = true, true
		case "":
			return m, fmt.Errorf("empty mount option")
		default:
			if strings.ContainsAny(o, "\x00") {
				return m, fmt.Errorf("mount option %q has a NUL byte", o)
			}
			data = append(data, o)
		}
	}
	m.readOnly = m.flags&unix.MS_RDONLY != 0
	m.data = strings.Join(data, ",")
	return m, nil
}
