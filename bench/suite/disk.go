package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dockah/dockah/internal/deftest"
)

// diskUse is the disk ten containers of the image take with one tool.
type diskUse struct {
	key   string // "dockah", "podman", "bundles", "nspawn"
	label string
	image int64 // bytes of the image stored once; 0: each container has a copy
	ten   int64 // bytes the ten containers add
	alt   int64 // bundles: ten overlay bundles over one shared tree
	how   string
}

const diskDir = benchDir + "/disk"

// du returns the disk usage in bytes (allocated blocks, each hard-linked
// file once) of the paths the shell words expand to.
func (s *suite) du(words string) (int64, error) {
	out, err := s.sh("du -s -c --block-size=1 " + words + " | tail -n 1 | cut -f 1")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(out), 10, 64)
}

// measureDisk creates ten containers of the image with each tool, in the
// way a user of that tool would, and measures what they add. Everything
// lives on the same file system (the store's, the host's disk).
func (s *suite) measureDisk() error {
	fns := []func() (diskUse, error){s.diskDockah, s.diskPodman, s.diskBundles, s.diskNspawn}
	if s.podman.broken {
		fns = append(fns[:1], fns[2:]...)
	}
	for _, fn := range fns {
		d, err := fn()
		if err != nil {
			return err
		}
		s.disk = append(s.disk, d)
	}
	return nil
}

const ten = "0 1 2 3 4 5 6 7 8 9"

// diskDockah writes ten definitions with a writable layer and starts and
// stops each container once, which creates its layer.
func (s *suite) diskDockah() (diskUse, error) {
	d := diskUse{key: "dockah", label: "dockah",
		how: "ten definitions (`/etc/dockah/containers/bench-disk-N.toml`, image and nothing else, so with a writable layer), each container started and stopped once; added: the definitions and `/var/lib/dockah/containers/bench-disk-N`; image: `/var/lib/dockah/{layers,images,refs,l}`"}
	var units []string
	for _, i := range strings.Fields(ten) {
		if err := s.box.WriteFile("/etc/dockah/containers/bench-disk-"+i+".toml", deftest.New("hello:bench").Bytes(), 0o644); err != nil {
			return d, err
		}
		units = append(units, "bench-disk-"+i+".service")
	}
	if _, err := s.box.Systemctl("daemon-reload"); err != nil {
		return d, err
	}
	for _, verb := range []string{"start", "stop"} {
		if _, err := s.box.Systemctl(append([]string{verb}, units...)...); err != nil {
			return d, err
		}
	}
	var err error
	if d.image, err = s.du("/var/lib/dockah/layers /var/lib/dockah/images /var/lib/dockah/refs /var/lib/dockah/l"); err != nil {
		return d, err
	}
	d.ten, err = s.du("/var/lib/dockah/containers/bench-disk-* /etc/dockah/containers/bench-disk-*.toml")
	return d, err
}

// diskPodman creates ten containers (podman create), starts and stops each
// once, and measures what podman's storage grew by.
func (s *suite) diskPodman() (diskUse, error) {
	d := diskUse{key: "podman", label: "podman",
		how: "`podman create " + s.podman.runFlags() + "` ten times, each started and stopped once; added: the growth of `/var/lib/containers/storage` (layers, container configs, its database); image: `storage/overlay{,-images,-layers}` before"}
	const storage = "/var/lib/containers/storage"
	before, err := s.du(storage)
	if err != nil {
		return d, err
	}
	if d.image, err = s.du(storage + "/overlay " + storage + "/overlay-images " + storage + "/overlay-layers"); err != nil {
		return d, err
	}
	var names []string
	for _, i := range strings.Fields(ten) {
		name := "bench-disk-" + i
		args := append([]string{"podman", "create", "--name", name}, strings.Fields(s.podman.runFlags())...)
		if _, err := s.box.Run(append(args, podmanImage)...); err != nil {
			return d, err
		}
		names = append(names, name)
	}
	for _, verb := range [][]string{{"start"}, {"stop", "-t", "10"}} {
		if _, err := s.box.Run(append(append([]string{"podman"}, verb...), names...)...); err != nil {
			return d, err
		}
	}
	after, err := s.du(storage)
	d.ten = after - before
	return d, err
}

// diskBundles makes ten OCI bundles as a user of plain crun or runc would:
// the image unpacked into each (umoci unpack, or tar -x), with its
// config.json. As an alternative it also measures ten bundles whose root
// is an overlayfs over one shared tree (an upper and a work dir each).
func (s *suite) diskBundles() (diskUse, error) {
	d := diskUse{key: "bundles", label: "crun, runc",
		how: "ten bundles `" + diskDir + "/bundle-N`, each a copy of the unpacked image (`cp -a`, as `umoci unpack` or `tar -x` make) and its config.json"}
	script := `set -e
for i in ` + ten + `; do
	b=` + diskDir + `/bundle-$i
	mkdir -p $b
	cp -a ` + rootfs + ` $b/rootfs
	sed 's#"path": "` + rootfs + `"#"path": "rootfs"#' ` + bundles + `/runc-serve/config.json > $b/config.json
	o=` + diskDir + `/overlay-$i
	mkdir -p $o/upper $o/work $o/rootfs
	cp ` + bundles + `/runc-serve/config.json $o/config.json
done`
	if _, err := s.sh(script); err != nil {
		return d, err
	}
	var err error
	if d.ten, err = s.du(diskDir + "/bundle-*"); err != nil {
		return d, err
	}
	d.alt, err = s.du(diskDir + "/overlay-*")
	return d, err
}

// diskNspawn makes ten machine trees, as `machinectl clone` does on a file
// system without snapshots (a copy; a reflink where the file system has
// them).
func (s *suite) diskNspawn() (diskUse, error) {
	d := diskUse{key: "nspawn", label: "systemd-nspawn",
		how: "ten trees `" + diskDir + "/machine-N` (`cp -a --reflink=auto` of the unpacked image, what `machinectl clone` does off btrfs)"}
	script := `set -e
for i in ` + ten + `; do cp -a --reflink=auto ` + rootfs + ` ` + diskDir + `/machine-$i; done`
	if _, err := s.sh(script); err != nil {
		return d, err
	}
	var err error
	d.ten, err = s.du(diskDir + "/machine-*")
	return d, err
}

// diskFor returns the disk figure of a variant's tool, or nil.
func (s *suite) diskFor(v *variant) *diskUse {
	key := map[string]string{"dockah": "dockah", "podman": "podman", "nspawn": "nspawn",
		"crun": "bundles", "crun-seccomp": "bundles", "runc": "bundles"}[v.name]
	for i := range s.disk {
		if s.disk[i].key == key {
			return &s.disk[i]
		}
	}
	return nil
}

func mib(bytes int64) string { return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20)) }
