package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

// Summary is one image as `dockah image ls` shows it.
type Summary struct {
	ID    string
	Names []Reference
	// Digests are the manifest digests the image was pulled or pushed
	// by, one reference NAME@sha256:… each.
	Digests []Reference
	// Image is the full record (config and layers).
	Image *Image
	// Size is the content of all the image's layers; SharedSize the part
	// of it in layers that other images use too.
	Size       int64
	SharedSize int64
}

// List returns every image with its names, sorted by name then ID.
func (s *Store) List() ([]Summary, error) {
	ids, err := s.imageIDs()
	if err != nil {
		return nil, err
	}
	names, err := s.names()
	if err != nil {
		return nil, err
	}
	users := map[string]int{}
	var out []Summary
	for _, id := range ids {
		img, err := s.image(id)
		if err != nil {
			return nil, err
		}
		for _, l := range img.Layers {
			users[l.DiffID]++
		}
		sum := Summary{ID: id, Image: img}
		for _, n := range names[id] {
			if n.Digest != "" && n.Tag == "" {
				sum.Digests = append(sum.Digests, n)
			} else {
				sum.Names = append(sum.Names, n)
			}
		}
		out = append(out, sum)
	}
	for i := range out {
		for _, l := range out[i].Image.Layers {
			info, err := s.LayerInfo(l.DiffID)
			if err != nil {
				return nil, err
			}
			out[i].Size += info.Size
			if users[l.DiffID] > 1 {
				out[i].SharedSize += info.Size
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := firstName(out[i]), firstName(out[j])
		if a != b {
			return a < b
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func firstName(s Summary) string {
	if len(s.Names) == 0 {
		return "\xff" // unnamed images last
	}
	return s.Names[0].String()
}

// imageIDs lists the image records.
func (s *Store) imageIDs() ([]string, error) {
	entries, err := os.ReadDir(s.path(dirImages))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if hex, ok := strings.CutSuffix(e.Name(), ".json"); ok && len(hex) == 64 && isHex(hex) {
			ids = append(ids, "sha256:"+hex)
		}
	}
	return ids, nil
}

// names maps image IDs to the references pointing at them, sorted.
func (s *Store) names() (map[string][]Reference, error) {
	entries, err := os.ReadDir(s.path(dirRefs))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list names: %w", err)
	}
	out := map[string][]Reference{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		r, err := referenceFromFileName(e.Name())
		if err != nil {
			continue // not ours
		}
		id, err := s.readRef(r)
		if err != nil {
			return nil, err
		}
		out[id] = append(out[id], r)
	}
	for _, rs := range out {
		sort.Slice(rs, func(i, j int) bool { return rs[i].String() < rs[j].String() })
	}
	return out, nil
}
