package activation

import "testing"

func TestOverlayOptions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layers RootLayers
		want   string
	}{
		{"read-only", RootLayers{}, "lowerdir=/l/a:/l/b"},
		{"writable", RootLayers{Upper: "/c/upper", Work: "/c/work"}, "lowerdir=/l/a:/l/b,upperdir=/c/upper,workdir=/c/work"},
		{"ephemeral", RootLayers{Upper: "/c/upper", Work: "/c/work", Volatile: true}, "lowerdir=/l/a:/l/b,upperdir=/c/upper,workdir=/c/work,volatile"},
		// Nothing to sync without a writable layer: no option either.
		{"read-only, ephemeral", RootLayers{Volatile: true}, "lowerdir=/l/a:/l/b"},
	} {
		if got := overlayOptions([]string{"/l/a", "/l/b"}, tc.layers); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
