package activation

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// initLayerVersion names the layout of the init layer; a new layout gets a
// new directory, so a layer made by an older shim is never half-updated.
const initLayerVersion = "v2"

// initLayerDirs and initLayerFiles are the mount points every container
// needs. The init layer is the topmost lower layer, so these real
// directories shadow whatever the image has there: an image whose /dev or
// /proc is a symlink cannot redirect the mounts (the 2025 runc /dev
// advisories), and a scratch image without /proc or /etc still gets them.
var (
	initLayerDirs  = []string{"dev", "proc", "sys", "etc"}
	initLayerFiles = []string{"etc/hostname", "etc/hosts", "etc/resolv.conf"}
)

// InitLayer makes sure the init layer exists under dir and returns its
// path. It is created once, atomically (built under a temporary name and
// renamed), and shared by every container.
func InitLayer(dir string) (string, error) {
	final := filepath.Join(dir, "init-"+initLayerVersion)
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create init layer: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".init-")
	if err != nil {
		return "", fmt.Errorf("create init layer: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	// Modes are set exactly: they become those of the container's /dev,
	// /proc, /sys, /etc and files, whatever the shim's umask.
	for _, d := range initLayerDirs {
		p := filepath.Join(tmp, d)
		if err := os.Mkdir(p, 0o755); err != nil {
			return "", err
		}
		if err := os.Chmod(p, 0o755); err != nil {
			return "", err
		}
	}
	for _, f := range initLayerFiles {
		p := filepath.Join(tmp, f)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			return "", err
		}
		if err := os.Chmod(p, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.Symlink("/proc/mounts", filepath.Join(tmp, "etc/mtab")); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil && !errors.Is(err, os.ErrExist) {
		// Another shim may have won the race: its layer is as good.
		if _, statErr := os.Stat(final); statErr != nil {
			return "", fmt.Errorf("create init layer: %w", err)
		}
	}
	return final, nil
}
