package rootfs

import (
	"errors"
	"strings"
	"testing"

	"github.com/distribution/reference"
	"github.com/google/go-cmp/cmp"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseReference(t *testing.T) {
	for _, tc := range []struct {
		in        string
		want      Reference
		wantLocal Reference // ParseLocalReference; zero: same as want
		bad       bool
	}{
		{in: "nginx", want: Reference{Name: "docker.io/library/nginx", Tag: "latest"},
			wantLocal: Reference{Name: "localhost/nginx", Tag: "latest"}},
		{in: "nginx:1.27", want: Reference{Name: "docker.io/library/nginx", Tag: "1.27"},
			wantLocal: Reference{Name: "localhost/nginx", Tag: "1.27"}},
		{in: "acceptance/tools", want: Reference{Name: "docker.io/acceptance/tools", Tag: "latest"},
			wantLocal: Reference{Name: "localhost/acceptance/tools", Tag: "latest"}},
		{in: "docker.io/library/nginx:1.27-alpine", want: Reference{Name: "docker.io/library/nginx", Tag: "1.27-alpine"}},
		{in: "docker.io/nginx", want: Reference{Name: "docker.io/nginx", Tag: "latest"}},
		{in: "index.docker.io/nginx", want: Reference{Name: "docker.io/library/nginx", Tag: "latest"}},
		{in: "localhost/tools", want: Reference{Name: "localhost/tools", Tag: "latest"}},
		{in: "localhost:5000/app", want: Reference{Name: "localhost:5000/app", Tag: "latest"}},
		{in: "127.0.0.1:5000/a/b:v_1", want: Reference{Name: "127.0.0.1:5000/a/b", Tag: "v_1"}},
		{in: "[::1]:5000/app", want: Reference{Name: "[::1]:5000/app", Tag: "latest"}},
		{in: "Registry.Example.com/a/b:T", want: Reference{Name: "Registry.Example.com/a/b", Tag: "T"}},
		{in: "Upper/x", want: Reference{Name: "Upper/x", Tag: "latest"}}, // a host: Docker's rule
		{in: "a__b/c-----d/e.f", want: Reference{Name: "docker.io/a__b/c-----d/e.f", Tag: "latest"},
			wantLocal: Reference{Name: "localhost/a__b/c-----d/e.f", Tag: "latest"}},
		{in: "nginx@" + testDigest, want: Reference{Name: "docker.io/library/nginx", Digest: testDigest},
			wantLocal: Reference{Name: "localhost/nginx", Digest: testDigest}},
		{in: "quay.io/a/b:1@" + testDigest, want: Reference{Name: "quay.io/a/b", Tag: "1", Digest: testDigest}},
		{in: "", bad: true},
		{in: "a/Upper", bad: true},
		{in: "a/../b", bad: true},
		{in: "a..b", bad: true},
		{in: "a___b", bad: true},
		{in: "a//b", bad: true},
		{in: "/a", bad: true},
		{in: "a/", bad: true},
		{in: "a:", bad: true},
		{in: "a:.x", bad: true},
		{in: "a b", bad: true},
		{in: "a+b", bad: true},
		{in: "host:/a", bad: true},
		{in: "-host.io/a", bad: true},
		{in: "nginx@sha256:0123", bad: true},
		{in: "nginx@md5:0123", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseReference(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("ParseReference(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseReference(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseReference(%q) (-want +got):\n%s", tc.in, diff)
			}
			wantLocal := tc.wantLocal
			if wantLocal == (Reference{}) {
				wantLocal = tc.want
			}
			local, err := ParseLocalReference(tc.in)
			if err != nil || local != wantLocal {
				t.Errorf("ParseLocalReference(%q) = %v, %v; want %v", tc.in, local, err, wantLocal)
			}
			back, err := referenceFromFileName(got.fileName())
			if err != nil || back != got {
				t.Errorf("file name round trip of %v: %v, %v", got, back, err)
			}
		})
	}
}

func TestFamiliar(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                      "nginx:latest",
		"docker.io/acme/app:2":       "acme/app:2",
		"localhost/tools":            "localhost/tools:latest",
		"quay.io/a/b@" + testDigest:  "quay.io/a/b@" + testDigest,
		"127.0.0.1:5000/x/y:z":       "127.0.0.1:5000/x/y:z",
		"docker.io/library/a/b:tag1": "library/a/b:tag1",
	} {
		r, err := ParseReference(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Familiar(); got != want {
			t.Errorf("Familiar(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestParseReferenceMatchesDistribution checks the hand-written grammar
// against github.com/distribution/reference, Docker's own, on the table
// inputs; FuzzParseReference does the same on generated ones.
func TestParseReferenceMatchesDistribution(t *testing.T) {
	for _, s := range []string{"nginx", "a/b:c", "localhost:5000/x:y", "Upper/x", "index.docker.io/x",
		"[::1]/x", "[::1]:80/x", "a.b-c.d:1/e", "x@" + testDigest, "a-/b", "a.-b/c"} {
		compareWithDistribution(t, s)
	}
}

func compareWithDistribution(t *testing.T, s string) {
	t.Helper()
	got, err := ParseReference(s)
	named, derr := reference.ParseNormalizedNamed(s)
	if (err == nil) != (derr == nil) {
		if err == nil && derr != nil && strings.Contains(derr.Error(), "unsupported digest algorithm") {
			t.Fatalf("%q: accepted a digest distribution refuses: %v", s, derr)
		}
		if derr == nil && strings.Contains(s, "@") && !strings.Contains(s, "@sha256:") {
			return // other digest algorithms: distribution accepts, dockah stores only sha256
		}
		t.Fatalf("%q: dockah says %v (%v), distribution says %v", s, got, err, derr)
	}
	if err != nil {
		return
	}
	want := Reference{Name: named.Name()}
	if tagged, ok := named.(reference.Tagged); ok {
		want.Tag = tagged.Tag()
	}
	if digested, ok := named.(reference.Digested); ok {
		want.Digest = digested.Digest().String()
	}
	if want.Tag == "" && want.Digest == "" {
		want.Tag = defaultTag
	}
	if got != want {
		t.Fatalf("%q: dockah %v, distribution %v", s, got, want)
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"nginx", "a/b:c", "localhost:5000/x:y", "../x", "a:b:c", "x@" + testDigest, "[::1]:5/a", "A.b/c__d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		compareWithDistribution(t, s)
		r, err := ParseReference(s)
		if err != nil {
			return
		}
		name := r.fileName()
		if name == "." || name == ".." || len(name) > 255+1+128+1+71 {
			t.Fatalf("file name %q", name)
		}
		for i := 0; i < len(name); i++ {
			if name[i] == '/' || name[i] == 0 {
				t.Fatalf("file name %q is not one path element", name)
			}
		}
		back, err := referenceFromFileName(name)
		if err != nil || back != r {
			t.Fatalf("round trip %v -> %q -> %v, %v", r, name, back, err)
		}
	})
}

// TestShortNames checks how a name without a registry finds stored images,
// including stores written before names were normalized.
func TestShortNames(t *testing.T) {
	s := openTestStore(t)
	hub := addTestImage(t, s, "docker.io/acceptance/tools:latest", 1)
	local := addTestImage(t, s, "localhost/tools:latest", 2)
	both := addTestImage(t, s, "docker.io/library/tools:latest", 3)
	legacy := addTestImage(t, s, "docker.io/library/x:1", 4)
	// An old store wrote the name as given: refs/legacy:1.
	if err := s.setRef(Reference{Name: "legacy", Tag: "1"}, legacy.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref, wantID, wantErr string
	}{
		{ref: "acceptance/tools", wantID: hub.ID},
		{ref: "acceptance/tools:latest", wantID: hub.ID},
		{ref: "docker.io/acceptance/tools", wantID: hub.ID},
		{ref: "localhost/tools", wantID: local.ID},
		{ref: "docker.io/library/tools", wantID: both.ID},
		{ref: "tools", wantErr: `image "tools" is ambiguous: it names docker.io/library/tools:latest, localhost/tools:latest`},
		{ref: "legacy:1", wantID: legacy.ID},
		{ref: "legacy", wantErr: "not found"},
		{ref: "quay.io/acceptance/tools", wantErr: "not found"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			img, err := s.Resolve(tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Resolve(%q) = %v, %v; want error %q", tc.ref, img, err, tc.wantErr)
				}
				return
			}
			if err != nil || img.ID != tc.wantID {
				t.Fatalf("Resolve(%q) = %v, %v; want %s", tc.ref, img, err, tc.wantID)
			}
		})
	}
	// A pull of a short name records where it went; the short name then
	// means that image first.
	pulled := addTestImage(t, s, "quay.io/acme/web:2", 5)
	if err := s.RecordShortName("web", "quay.io/acme/web"); err != nil {
		t.Fatal(err)
	}
	if img, err := s.Resolve("web:2"); err != nil || img.ID != pulled.ID {
		t.Fatalf("Resolve(web:2) after a recorded short name = %v, %v", img, err)
	}
	for _, bad := range [][2]string{{"quay.io/web", "quay.io/acme/web"}, {"web", "acme/web"}, {"web:1", "quay.io/acme/web"}} {
		if err := s.RecordShortName(bad[0], bad[1]); err == nil {
			t.Errorf("RecordShortName(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestDigestReferences(t *testing.T) {
	s := openTestStore(t)
	img := addTestImage(t, s, "quay.io/acme/web:2", 1)
	byDigest := Reference{Name: "quay.io/acme/web", Digest: testDigest}
	if err := s.setRef(byDigest, img.ID); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"quay.io/acme/web@" + testDigest, "quay.io/acme/web:2@" + testDigest, "quay.io/acme/web@" + img.ID} {
		if got, err := s.Resolve(ref); err != nil || got.ID != img.ID {
			t.Errorf("Resolve(%q) = %v, %v", ref, got, err)
		}
	}
	if _, err := s.Resolve("quay.io/other/web@" + img.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("a digest under another name resolved: %v", err)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	if diff := cmp.Diff([]Reference{byDigest}, list[0].Digests); diff != "" {
		t.Errorf("List digests (-want +got):\n%s", diff)
	}
	if len(list[0].Names) != 1 || list[0].Names[0].Tag != "2" {
		t.Errorf("List names: %v", list[0].Names)
	}
	// Removing the only tag removes the image and its digest.
	if _, err := s.Remove("quay.io/acme/web:2", RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve("quay.io/acme/web@" + testDigest); !errors.Is(err, ErrNotFound) {
		t.Errorf("digest survived its image: %v", err)
	}
}
