package launch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/selinux/go-selinux/label"

	"github.com/dockah/dockah/policy"
)

// volumeLabel is a volume to relabel for SELinux: a host path and the
// definition's relabel mode ("private" or "shared").
type volumeLabel struct {
	Path, Relabel string
}

// selinuxLabels decides the container's labels. With SELinux off it
// returns empty labels and a note for the journal's debug level; on an
// enforcing host without the container policy it refuses to start.
func selinuxLabels(req request) (policy.Labels, string, error) {
	cfg := policy.SELinuxConfig{Type: req.Security.SELinuxType, Level: req.Security.SELinuxLevel}
	err := policy.CheckSELinux(policy.HostSELinux(), cfg)
	if errors.Is(err, policy.ErrNotSupported) {
		return policy.Labels{}, "no SELinux labels: " + err.Error(), nil
	}
	if err != nil {
		return policy.Labels{}, "", err
	}
	reg, err := policy.OpenMCSRegistry(filepath.Join(req.StoreRoot, "selinux", "mcs"))
	if err != nil {
		return policy.Labels{}, "", err
	}
	labels, err := policy.SELinuxLabels(reg, req.Name, cfg)
	return labels, "", err
}

// asksForLabels reports whether a definition asked for SELinux labels: a
// type, a level or a volume to relabel.
func asksForLabels(s security) bool {
	if s.SELinuxType != "" || s.SELinuxLevel != "" {
		return true
	}
	for _, v := range s.Volumes {
		if v.Relabel != "" && v.Relabel != "none" {
			return true
		}
	}
	return false
}

// relabelOnce labels the writable layer and the volumes that ask for it,
// once per label: a marker file records what was done, so a restart does
// not walk a large volume again.
func relabelOnce(labels policy.Labels, upper string, volumes []volumeLabel) error {
	if labels.File == "" {
		return nil
	}
	todo := volumes
	if upper != "" {
		todo = append([]volumeLabel{{Path: upper, Relabel: "private"}}, volumes...)
	}
	for _, v := range todo {
		fileLabel, err := labels.Volume(v.Relabel)
		if err != nil || fileLabel == "" {
			continue
		}
		marker := filepath.Join(v.Path, ".dockah-relabeled")
		if done, _ := os.ReadFile(marker); string(done) == fileLabel {
			continue
		}
		if err := label.Relabel(v.Path, fileLabel, v.Relabel == "shared"); err != nil {
			return fmt.Errorf("relabel %s: %w", v.Path, err)
		}
		_ = os.WriteFile(marker, []byte(fileLabel), 0o600)
	}
	return nil
}
