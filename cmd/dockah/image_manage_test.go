package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
)

func TestImageRemoveInUse(t *testing.T) {
	st, err := rootfs.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: 2})
	tw.Write([]byte("hi"))
	tw.Close()
	src := filepath.Join(t.TempDir(), "rootfs.tar")
	os.WriteFile(src, buf.Bytes(), 0o644)
	if _, err := archive.Import(st, src, archive.ImportOptions{Name: "docker.io/library/web:1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Tag("web:1", "spare:1"); err != nil {
		t.Fatal(err)
	}
	defs := t.TempDir()
	os.WriteFile(filepath.Join(defs, "web.toml"), []byte("image = \"web:1\"\n"), 0o644)
	os.WriteFile(filepath.Join(defs, "broken.toml"), []byte("image = \n"), 0o644)
	ro := rootfs.RemoveOptions{InUse: inUseChecker(st, []string{defs})}

	if _, err := st.Remove("spare:1", ro); err != nil {
		t.Errorf("removing a name no definition uses: %v", err)
	}
	if _, err := st.Remove("docker.io/library/web:1", ro); !errors.Is(err, rootfs.ErrInUse) {
		t.Errorf("removing the name web.toml uses = %v, want ErrInUse", err)
	}
	os.Remove(filepath.Join(defs, "web.toml"))
	if _, err := st.MountPlan("web:1", "c1", rootfs.MountOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Remove("web:1", ro); !errors.Is(err, rootfs.ErrInUse) {
		t.Errorf("removing the image container c1 uses = %v, want ErrInUse", err)
	}
	ro.Force = true
	if _, err := st.Remove("web:1", ro); err != nil {
		t.Errorf("--force: %v", err)
	}
}
