package imageconfig

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Config converts to and from image-spec's ImageConfig: a field added
// there breaks this test's build until it is added here.
var (
	_ = Config(v1.ImageConfig{})
	_ = v1.ImageConfig(Config{})
)

// A configuration as Docker and BuildKit write them: the fields dockah
// keeps, and those it leaves in the raw configuration.
const dockerConfig = `{
  "architecture": "amd64", "os": "linux", "variant": "v8",
  "created": "2026-11-02T10:11:12.5Z", "author": "someone",
  "config": {
    "User": "1000:1000", "ExposedPorts": {"8080/tcp": {}}, "Env": ["PATH=/usr/bin", "A=1"],
    "Entrypoint": ["/docker-entrypoint.sh"], "Cmd": ["nginx", "-g", "daemon off;"],
    "Volumes": {"/data": {}}, "WorkingDir": "/srv", "Labels": {"org.opencontainers.image.version": "1.25"},
    "StopSignal": "SIGQUIT", "ArgsEscaped": true,
    "OnBuild": null, "Shell": ["/bin/sh", "-c"], "Healthcheck": {"Test": ["NONE"]}
  },
  "rootfs": {"type": "layers", "diff_ids": [
    "sha256:0000000000000000000000000000000000000000000000000000000000000001",
    "sha256:0000000000000000000000000000000000000000000000000000000000000002"]},
  "history": [{"created": "2026-11-02T10:11:12Z", "created_by": "ADD rootfs.tar /"}]
}`

// TestDecodesAsImageSpec: what dockah decodes of a configuration is what
// image-spec's types decode of it.
func TestDecodesAsImageSpec(t *testing.T) {
	ours, theirs, err := decodeBoth([]byte(dockerConfig))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromImageSpec(theirs), ours, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("decoded (-image-spec +imageconfig):\n%s", diff)
	}
	if len(ours.RootFS.DiffIDs) != 2 || ours.Config.StopSignal != "SIGQUIT" || ours.Created == nil || ours.Created.Nanosecond() != 500000000 {
		t.Errorf("decoded %+v", ours)
	}
}

// FuzzDecodesAsImageSpec: any configuration image-spec's types decode,
// these decode to the same values. One they refuse for a field these do
// not have (an "architecture" that is not a string) these may decode:
// configurations are checked with image-spec's types when they are
// imported or pulled (rootfs/archive's checkConfig), before the store
// keeps them.
func FuzzDecodesAsImageSpec(f *testing.F) {
	f.Add([]byte(dockerConfig))
	f.Add([]byte(`{"rootfs":{"type":"layers","diff_ids":[]},"config":{}}`))
	f.Add([]byte(`{"created":"not a time"}`))
	f.Add([]byte(`{"rootfs":{"diff_ids":[1]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ours, theirs, err := decodeBoth(data)
		if m := new(errMismatch); errors.As(err, m) && m.theirs == nil {
			t.Fatalf("%q: %v", data, err)
		}
		if err != nil {
			return
		}
		if diff := cmp.Diff(fromImageSpec(theirs), ours, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%q decoded differently (-image-spec +imageconfig):\n%s", data, diff)
		}
	})
}

// decodeBoth decodes data with both types; an error if exactly one of
// them refuses it, or both do.
func decodeBoth(data []byte) (Image, v1.Image, error) {
	var ours Image
	var theirs v1.Image
	errOurs, errTheirs := json.Unmarshal(data, &ours), json.Unmarshal(data, &theirs)
	if (errOurs == nil) != (errTheirs == nil) {
		return ours, theirs, errMismatch{errOurs, errTheirs}
	}
	if errOurs != nil {
		return ours, theirs, errOurs
	}
	return ours, theirs, nil
}

type errMismatch struct{ ours, theirs error }

func (e errMismatch) Error() string {
	return "imageconfig: " + errString(e.ours) + "; image-spec: " + errString(e.theirs)
}

func errString(err error) string {
	if err == nil {
		return "decoded"
	}
	return err.Error()
}

// fromImageSpec is the part of an image-spec Image that Image keeps
// (diff IDs are go-digest's Digest there, strings here).
func fromImageSpec(img v1.Image) Image {
	out := Image{Created: img.Created, Author: img.Author, Config: Config(img.Config), RootFS: RootFS{Type: img.RootFS.Type}}
	for _, d := range img.RootFS.DiffIDs {
		out.RootFS.DiffIDs = append(out.RootFS.DiffIDs, string(d))
	}
	return out
}
