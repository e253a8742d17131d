package unitgen

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestAutoUpdate(t *testing.T) {
	for text, want := range map[string]AutoUpdatePolicy{
		"":                         "",
		`auto_update = "registry"`: AutoUpdateRegistry,
		`auto_update = "local"`:    AutoUpdateLocal,
		`auto_update = "disabled"`: AutoUpdateDisabled,
	} {
		fsys := fstest.MapFS{"etc/dockah/containers/web.toml": {Data: []byte("[container]\nimage = \"web:1\"\n" + text + "\n")}}
		d, err := LoadUnit(fsys, "web")
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		if d.Container.AutoUpdate != want || d.Container.AutoUpdate.String() != want.String() {
			t.Errorf("%q: auto_update %q, want %q", text, d.Container.AutoUpdate, want)
		}
	}
	fsys := fstest.MapFS{"etc/dockah/containers/web.toml": {Data: []byte("[container]\nimage = \"web:1\"\nauto_update = \"always\"\n")}}
	_, err := LoadUnit(fsys, "web")
	if err == nil || !strings.Contains(err.Error(), "web.toml:3: container.auto_update") || !strings.Contains(err.Error(), "registry") {
		t.Errorf("a bad policy: %v", err)
	}
	if AutoUpdatePolicy("").String() != "disabled" {
		t.Error("the zero policy is not disabled")
	}
}
