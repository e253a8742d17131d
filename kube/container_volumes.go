package kube

import (
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
)

// mounts maps the volume mounts.
func (b *defBuilder) mounts() error {
	vols := map[string]*Volume{}
	for i := range b.pod.spec.Volumes {
		vols[b.pod.spec.Volumes[i].Name] = &b.pod.spec.Volumes[i]
	}
	for _, m := range b.c.VolumeMounts {
		v := vols[m.Name]
		switch {
		case v.Projected.IsSet():
			b.warn(fmt.Sprintf("volume %s: projected (a cluster's service account token): not mounted", v.Name))
		case v.HostPath != nil:
			b.volumes = append(b.volumes, map[string]any{"source": v.HostPath.Path, "target": m.MountPath, "read_only": m.ReadOnly})
		case v.PersistentVolumeClaim != nil:
			vol := map[string]any{"source": v.PersistentVolumeClaim.ClaimName, "target": m.MountPath, "read_only": m.ReadOnly || v.PersistentVolumeClaim.ReadOnly}
			if b.ann["volume_"+v.PersistentVolumeClaim.ClaimName+"_copy"] == "false" {
				vol["copy"] = false
			}
			b.volumes = append(b.volumes, vol)
		case v.EmptyDir != nil && v.EmptyDir.Medium == "Memory":
			t := map[string]any{"target": m.MountPath}
			if v.EmptyDir.SizeLimit != nil {
				n, err := v.EmptyDir.SizeLimit.bytes()
				if err != nil {
					return fmt.Errorf("volume %s: sizeLimit: %w", v.Name, err)
				}
				t["size"] = int64(n)
			}
			if b.multi && b.sharedVolume(v.Name) {
				b.warn(fmt.Sprintf("volume %s: a Memory emptyDir is a tmpfs of each container, not shared", v.Name))
			}
			b.tmpfs = append(b.tmpfs, t)
		case v.EmptyDir != nil:
			// Shared by the Pod's containers: a named volume of the Pod.
			name := b.pod.name + "-" + v.Name
			b.volumes = append(b.volumes, map[string]any{"source": name, "target": m.MountPath, "read_only": m.ReadOnly, "copy": false})
			b.warn(fmt.Sprintf("volume %s: an emptyDir is the named volume %s, kept after --down until removed", v.Name, name))
		case v.ConfigMap != nil, v.Secret != nil:
			dir, err := b.projected(v)
			if err != nil {
				return fmt.Errorf("volume %s: %w", v.Name, err)
			}
			b.volumes = append(b.volumes, map[string]any{"source": dir, "target": m.MountPath, "read_only": true})
		}
	}
	return nil
}

func (b *defBuilder) sharedVolume(name string) bool {
	n := 0
	for _, c := range b.pod.spec.Containers {
		for _, m := range c.VolumeMounts {
			if m.Name == name {
				n++
			}
		}
	}
	return n > 1
}

// projected plans the files of a ConfigMap or Secret volume, in a
// directory of the Pod, and returns the directory.
func (b *defBuilder) projected(v *Volume) (string, error) {
	var data map[string][]byte
	var items []KeyToPath
	var mode *int32
	var err error
	dir := path.Join(b.dir, "volume-"+v.Name)
	if v.ConfigMap != nil {
		cm, e := b.configMap(v.ConfigMap.Name, v.ConfigMap.Optional)
		err, items, mode = e, v.ConfigMap.Items, v.ConfigMap.DefaultMode
		data = map[string][]byte{}
		if cm != nil {
			for k, s := range cm.Data {
				data[k] = []byte(s)
			}
			for k, bin := range cm.BinaryData {
				data[k] = bin
			}
		}
	} else {
		s, e := b.secret(v.Secret.SecretName, v.Secret.Optional)
		err, items, mode, data = e, v.Secret.Items, v.Secret.DefaultMode, secretData(s)
	}
	if err != nil {
		return "", err
	}
	def := fs.FileMode(0o644)
	if mode != nil {
		if *mode < 0 || *mode > 0o777 {
			return "", fmt.Errorf("defaultMode %#o: not a permission (accepted: 0 to 0777)", *mode)
		}
		def = fs.FileMode(*mode)
	}
	if items == nil {
		for _, k := range slices.Sorted(maps.Keys(data)) {
			items = append(items, KeyToPath{Key: k, Path: k})
		}
	}
	if slices.Contains(b.plan.Mkdirs, dir) {
		// Another container of the Pod mounts it too.
		return dir, nil
	}
	b.plan.Mkdirs = append(b.plan.Mkdirs, dir)
	for _, it := range items {
		content, ok := data[it.Key]
		if !ok {
			return "", fmt.Errorf("items: no key %s", it.Key)
		}
		m := def
		if it.Mode != nil {
			if *it.Mode < 0 || *it.Mode > 0o777 {
				return "", fmt.Errorf("items %s: mode %#o (accepted: 0 to 0777)", it.Key, *it.Mode)
			}
			m = fs.FileMode(*it.Mode)
		}
		b.plan.Files = append(b.plan.Files, PlannedFile{Path: path.Join(dir, it.Path), Data: content, Mode: m})
	}
	return dir, nil
}
