package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/dockah/dockah/internal/imageconfig"
)

// Image is an image in the store.
type Image struct {
	// ID is the digest of RawConfig, "sha256:" and 64 hex digits.
	ID string
	// Config is the parsed OCI image config: what the image runs and its
	// diff IDs (the rest is in RawConfig).
	Config imageconfig.Image
	// RawConfig is the config exactly as imported; ID is its digest and
	// save writes it unchanged.
	RawConfig []byte
	// Layers are the image's layers, bottom first, as in Config.RootFS.
	Layers []Layer
	// Stored is when the image entered the store.
	Stored time.Time
}

// Layer is one unpacked layer of an image.
type Layer struct {
	// DiffID is the digest of the layer's uncompressed tar.
	DiffID string
	// Dir is the layer's tree as an overlayfs lower dir: ROOT/l/SHORT, a
	// short symlink to ROOT/layers/sha256/HEX/diff.
	Dir string
}

// imageRecord is images/HEX.json. It holds everything Resolve and
// MountPlan need so that they read one small file.
type imageRecord struct {
	ID     string        `json:"id"`
	Stored time.Time     `json:"stored"`
	Layers []recordLayer `json:"layers"`
	Config string        `json:"config"`
}

type recordLayer struct {
	DiffID string `json:"diffID"`
	Link   string `json:"link"`
}

// Resolve finds the image a reference names: a name with Docker's
// normalization (nginx is docker.io/library/nginx:latest), a name with a
// manifest digest (NAME@sha256:…), a full image ID with or without
// "sha256:", or an unambiguous prefix of one. A short name (no registry)
// is looked for as docker.io, localhost and the registry a pull of that
// short name resolved it to; when these name different images, Resolve
// lists them instead of guessing. It reads a few reference files and one
// record; only a short ID prefix lists the images.
func (s *Store) Resolve(ref string) (*Image, error) {
	id, err := s.resolveID(ref)
	if err != nil {
		return nil, err
	}
	return s.image(id)
}

func (s *Store) resolveID(ref string) (string, error) {
	bare := strings.TrimPrefix(ref, "sha256:")
	if len(bare) == 64 && isHex(bare) {
		return "sha256:" + bare, nil
	}
	var parseErr error
	if !strings.HasPrefix(ref, "sha256:") {
		_, id, err := s.lookupName(ref)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return id, err
		}
		parseErr = err
	}
	if len(bare) >= 4 && isHex(bare) {
		return s.lookupPrefix(bare)
	}
	if parseErr != nil {
		return "", parseErr
	}
	return "", fmt.Errorf("image %q: %w", ref, ErrNotFound)
}

// LookupName finds the stored name a reference means (see Candidates) and
// the image ID it points at. An ambiguous short name is an error listing
// the names it could mean.
func (s *Store) LookupName(ref string) (Reference, string, error) { return s.lookupName(ref) }

// lookupName reads the reference files a name may be stored under and
// returns the one that matched with its image ID.
func (s *Store) lookupName(ref string) (Reference, string, error) {
	cands, err := s.Candidates(ref)
	if err != nil {
		return Reference{}, "", fmt.Errorf("image %q: %w: %w", ref, ErrNotFound, err)
	}
	var found []Reference
	var ids []string
	for _, c := range cands {
		id, err := s.readRef(c)
		if errors.Is(err, ErrNotFound) && c.Digest != "" {
			id, err = s.digestIsID(c)
		}
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Reference{}, "", err
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
			found = append(found, c)
		}
	}
	switch len(ids) {
	case 0:
		if len(cands) == 1 {
			return Reference{}, "", fmt.Errorf("image %s: %w", cands[0], ErrNotFound)
		}
		return Reference{}, "", fmt.Errorf("image %q: %w (looked for %s)", ref, ErrNotFound, joinReferences(cands[:len(cands)-1]))
	case 1:
		return found[0], ids[0], nil
	}
	names := make([]string, len(found))
	for i, f := range found {
		names[i] = f.String()
	}
	return Reference{}, "", fmt.Errorf("image %q is ambiguous: it names %s; write one of them in full", ref, strings.Join(names, ", "))
}

// Candidates returns the stored names a reference may mean, in the order
// they are tried: the name itself when it has a registry; for a short name
// the registry a pull resolved it to (see RecordShortName), docker.io,
// localhost, and the name as written by stores older than normalization.
func (s *Store) Candidates(ref string) ([]Reference, error) {
	p, err := parseParts(ref)
	if err != nil {
		return nil, err
	}
	if p.digest != "" {
		p.tag = "" // the digest decides, as in docker
	}
	if p.domain != "" {
		return []Reference{p.normalized(defaultDomain)}, nil
	}
	var out []Reference
	if resolved, err := s.shortNameTarget(p.path); err == nil {
		out = append(out, Reference{Name: resolved, Tag: p.tag, Digest: p.digest}.withDefaultTag())
	}
	out = append(out, p.normalized(defaultDomain), p.normalized(localDomain),
		Reference{Name: p.path, Tag: p.tag, Digest: p.digest}.withDefaultTag())
	return out, nil
}

func joinReferences(rs []Reference) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

func (r Reference) withDefaultTag() Reference {
	if r.Tag == "" && r.Digest == "" {
		r.Tag = defaultTag
	}
	return r
}

// digestIsID accepts NAME@ID for an image whose config digest is ID and
// that is stored under NAME: skopeo and podman print that digest too.
func (s *Store) digestIsID(r Reference) (string, error) {
	if _, err := s.image(r.Digest); err != nil {
		return "", err
	}
	names, err := s.names()
	if err != nil {
		return "", err
	}
	for _, n := range names[r.Digest] {
		if n.Name == r.Name {
			return r.Digest, nil
		}
	}
	return "", fmt.Errorf("image %s: %w", r, ErrNotFound)
}

func (s *Store) readRef(r Reference) (string, error) {
	data, err := readRecord(s.path(dirRefs, r.fileName()))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("image %s: %w", r, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read reference %s: %w", r, err)
	}
	id := strings.TrimSpace(string(data))
	if _, err := digestHex(id); err != nil {
		return "", fmt.Errorf("read reference %s: %w", r, err)
	}
	return id, nil
}

func (s *Store) lookupPrefix(prefix string) (string, error) {
	entries, err := os.ReadDir(s.path(dirImages))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("list images: %w", err)
	}
	var found []string
	for _, e := range entries {
		hex, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && len(hex) == 64 && strings.HasPrefix(hex, prefix) {
			found = append(found, "sha256:"+hex)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("image %s: %w", prefix, ErrNotFound)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("image ID prefix %s is ambiguous: %d images match", prefix, len(found))
}

// image reads images/HEX.json.
func (s *Store) image(id string) (*Image, error) {
	hex, err := digestHex(id)
	if err != nil {
		return nil, err
	}
	data, err := readRecord(s.path(dirImages, hex+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("image %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", id, err)
	}
	var rec imageRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("read image %s: %w", id, err)
	}
	img := &Image{ID: rec.ID, RawConfig: []byte(rec.Config), Stored: rec.Stored}
	if err := json.Unmarshal(img.RawConfig, &img.Config); err != nil {
		return nil, fmt.Errorf("read image %s config: %w", id, err)
	}
	for _, l := range rec.Layers {
		img.Layers = append(img.Layers, Layer{DiffID: l.DiffID, Dir: s.path(dirLinks, l.Link)})
	}
	return img, nil
}

// AddImage records an image whose layers are all stored, and points the
// given names at it. The caller holds the store lock shared. The record is
// written before the names, so a crash leaves at worst an unnamed image.
func (s *Store) AddImage(rawConfig []byte, names []Reference) (*Image, error) {
	sum := sha256.Sum256(rawConfig)
	id := "sha256:" + hex.EncodeToString(sum[:])
	var cfg imageconfig.Image
	if err := json.Unmarshal(rawConfig, &cfg); err != nil {
		return nil, fmt.Errorf("add image %s: parse config: %w", id, err)
	}
	rec := imageRecord{ID: id, Stored: time.Now().UTC(), Config: string(rawConfig)}
	for _, d := range cfg.RootFS.DiffIDs {
		info, err := s.LayerInfo(d)
		if err != nil {
			return nil, fmt.Errorf("add image %s: %w", id, err)
		}
		rec.Layers = append(rec.Layers, recordLayer{DiffID: info.DiffID, Link: info.Link})
	}
	if old, err := s.image(id); err == nil {
		rec.Stored = old.Stored
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("add image %s: %w", id, err)
	}
	if err := s.mkdirs(); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(s.path(dirImages, id[len("sha256:"):]+".json"), data, 0o600); err != nil {
		return nil, fmt.Errorf("add image: %w", err)
	}
	for _, n := range names {
		if err := s.setRef(n, id); err != nil {
			return nil, err
		}
	}
	return s.image(id)
}

// SetDigest records that the image id is known to a registry by the
// manifest digest r (NAME@sha256:…), as push and pull learn it.
func (s *Store) SetDigest(r Reference, id string) error {
	if r.Digest == "" || r.Tag != "" {
		return fmt.Errorf("set digest %s: want NAME@DIGEST", r)
	}
	if _, err := digestHex(id); err != nil {
		return err
	}
	if err := s.mkdirs(); err != nil {
		return err
	}
	return s.setRef(r, id)
}

func (s *Store) setRef(r Reference, id string) error {
	if err := writeFileAtomic(s.path(dirRefs, r.fileName()), []byte(id+"\n"), 0o600); err != nil {
		return fmt.Errorf("tag %s: %w", r, err)
	}
	return nil
}

// Tag points the name newRef at the image ref resolves to, replacing
// whatever newRef pointed at before. A name without a registry is stored
// as localhost/NAME, as podman does.
func (s *Store) Tag(ref, newRef string) error {
	r, err := ParseLocalReference(newRef)
	if err != nil {
		return err
	}
	if r.Digest != "" {
		return fmt.Errorf("tag %s: a tag cannot carry a digest; the digest is the registry's", newRef)
	}
	lk, err := s.LockShared()
	if err != nil {
		return err
	}
	defer lk.Release()
	img, err := s.Resolve(ref)
	if err != nil {
		return err
	}
	if err := s.mkdirs(); err != nil {
		return err
	}
	return s.setRef(r, img.ID)
}
