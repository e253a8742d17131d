package activation

import "strconv"

// fsTypes names the file systems an error about idmapped mounts may meet,
// by their statfs(2) magic number (linux/magic.h).
var fsTypes = map[int64]string{
	0xef53:     "ext4",
	0x58465342: "xfs",
	0x9123683e: "btrfs",
	0xf2f52010: "f2fs",
	0x4d44:     "vfat",
	0x01021994: "tmpfs",
	0x794c7630: "overlayfs",
	0x6969:     "nfs",
	0x65735546: "fuse",
	0xff534d42: "cifs",
	0x73717368: "squashfs",
	0x858458f6: "ramfs",
	0x2fc12fc1: "zfs",
	0x9fa0:     "proc",
	0x62656572: "sysfs",
}

// fsTypeName is the name of the file system with the statfs(2) magic
// number magic, or the number in hexadecimal.
func fsTypeName(magic int64) string {
	if name, ok := fsTypes[magic]; ok {
		return name
	}
	return "type 0x" + strconv.FormatInt(magic, 16)
}
