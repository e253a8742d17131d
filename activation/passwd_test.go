package activation

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testPasswd = "root:x:0:0:root:/root:/bin/sh\n# a comment\nbroken line\nweb:x:1000:1000::/home/web:/bin/sh\nnohome:x:1001:1001:::\n"
const testGroup = "root:x:0:\nweb:x:1000:\nextra:x:2000:web,other\nbad:x:notanumber:web\n"

func TestResolveUser(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want User
		err  string
	}{
		{"", User{UID: 0, GID: 0, Home: "/root"}, ""},
		{"root", User{UID: 0, GID: 0, Home: "/root"}, ""},
		{"web", User{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000}, Home: "/home/web"}, ""},
		{"1000", User{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000}, Home: "/home/web"}, ""},
		{"4242", User{UID: 4242, GID: 0, Home: "/"}, ""},
		{"web:root", User{UID: 1000, GID: 0, Home: "/home/web"}, ""},
		{"1000:77", User{UID: 1000, GID: 77, Home: "/home/web"}, ""},
		{"nohome", User{UID: 1001, GID: 1001, Home: "/"}, ""},
		{"nobody", User{}, `user "nobody": no such user`},
		{"web:nogroup", User{}, `group "nogroup": no such group`},
		{"4294967295", User{}, `no such user`},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ResolveUser(tc.spec, strings.NewReader(testPasswd), strings.NewReader(testGroup))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// An image without passwd or group files: numeric ids only.
	if u, err := ResolveUser("33:44", nil, nil); err != nil || u.UID != 33 || u.GID != 44 {
		t.Errorf("numeric user without files: %+v %v", u, err)
	}
}

// FuzzResolveUser feeds hostile passwd and group files (they come from the
// image): no panic, no hang, and a resolved id is never -1.
func FuzzResolveUser(f *testing.F) {
	f.Add("web", testPasswd, testGroup)
	f.Add("1000:extra", testPasswd, testGroup)
	f.Add("x", "x:x:1:1:::\n"+strings.Repeat("a:", 5000), ":::\n")
	f.Fuzz(func(t *testing.T, spec, passwd, group string) {
		u, err := ResolveUser(spec, strings.NewReader(passwd), strings.NewReader(group))
		if err != nil {
			return
		}
		if u.UID == 1<<32-1 || u.GID == 1<<32-1 {
			t.Errorf("resolved the reserved id -1: %+v", u)
		}
		for _, g := range u.AdditionalGIDs {
			if g == 1<<32-1 {
				t.Errorf("resolved the reserved group -1: %+v", u)
			}
		}
	})
}
