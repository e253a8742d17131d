package unitgen

import (
	"strings"
	"testing"
)

// The slice holds the default sandbox's device list, line for line as a
// service carries it.
func TestSliceUnit(t *testing.T) {
	u := SliceUnit()
	if u.Name != ContainerSlice || !strings.Contains(u.Text, "\n[Slice]\nDevicePolicy=closed\n") {
		t.Fatalf("slice unit %s:\n%s", u.Name, u.Text)
	}
	for _, dev := range containerDevices {
		if line := "DeviceAllow=" + dev[0] + " " + dev[1] + "\n"; !strings.Contains(u.Text, line) {
			t.Errorf("the slice lacks %q:\n%s", line, u.Text)
		}
	}
}

// A definition's sandbox has the slice's devices unless it widens them:
// every capability takes the device list away.
func TestDevicesAsSlice(t *testing.T) {
	for _, tc := range []struct {
		name, definition string
		want             bool
	}{
		{"default", "[container]\nimage = \"web:1\"\n", true},
		{"on the host's network", "[container]\nimage = \"web:1\"\nnetwork = \"host\"\n", true},
		{"user namespace of the host", "[container]\nimage = \"web:1\"\n[security]\nuserns = \"host\"\ncapabilities_add = [\"MKNOD\"]\n", true},
		{"every capability", "[container]\nimage = \"web:1\"\n[security]\ncapabilities_add = [\"ALL\"]\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse("web", File{Path: "/etc/dockah/containers/web.toml", Data: []byte(tc.definition)})
			if err != nil {
				t.Fatal(err)
			}
			if got := DevicesAsSlice(Sandbox(d)); got != tc.want {
				t.Errorf("DevicesAsSlice = %v, want %v", got, tc.want)
			}
		})
	}
	if DevicesAsSlice(nil) {
		t.Error("a sandbox without devices has the slice's")
	}
}
