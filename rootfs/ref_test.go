package rootfs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseReference(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Reference
		bad  bool
	}{
		{in: "nginx", want: Reference{"nginx", "latest"}},
		{in: "nginx:1.27", want: Reference{"nginx", "1.27"}},
		{in: "docker.io/library/nginx:1.27-alpine", want: Reference{"docker.io/library/nginx", "1.27-alpine"}},
		{in: "localhost:5000/app", want: Reference{"localhost:5000/app", "latest"}},
		{in: "localhost:5000/app:v_1", want: Reference{"localhost:5000/app", "v_1"}},
		{in: "Registry.Example.com/a/b:T", want: Reference{"Registry.Example.com/a/b", "T"}},
		{in: "", bad: true},
		{in: "Nginx/x", want: Reference{"Nginx/x", "latest"}}, // first component may be a host
		{in: "a/Upper", bad: true},
		{in: "a/../b", bad: true},
		{in: "a//b", bad: true},
		{in: "/a", bad: true},
		{in: "a/", bad: true},
		{in: "a:", bad: true},
		{in: "a:.x", bad: true},
		{in: "a b", bad: true},
		{in: "a+b", bad: true},
		{in: "nginx@sha256:0123", bad: true},
	} {
		got, err := ParseReference(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseReference(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseReference(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseReference(%q) (-want +got):\n%s", tc.in, diff)
		}
		back, err := referenceFromFileName(got.fileName())
		if err != nil || back != got {
			t.Errorf("file name round trip of %v: %v, %v", got, back, err)
		}
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"nginx", "a/b:c", "localhost:5000/x:y", "../x", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReference(s)
		if err != nil {
			return
		}
		name := r.fileName()
		if name == "." || name == ".." || len(name) > 255+1+128 {
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
