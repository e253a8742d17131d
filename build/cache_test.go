package build

import "testing"

func TestKeyCoversEachPart(t *testing.T) {
	base := Key("sha256:a", "RUN true", []string{"A=1"}, "")
	for name, k := range map[string]string{
		"parent":      Key("sha256:b", "RUN true", []string{"A=1"}, ""),
		"instruction": Key("sha256:a", "RUN false", []string{"A=1"}, ""),
		"arg value":   Key("sha256:a", "RUN true", []string{"A=2"}, ""),
		"no arg":      Key("sha256:a", "RUN true", nil, ""),
		"content":     Key("sha256:a", "RUN true", []string{"A=1"}, "x"),
		"boundaries":  Key("sha256:a", "RUN true", []string{"A=1", ""}, ""),
	} {
		if k == base {
			t.Errorf("changing the %s keeps the key", name)
		}
	}
	if Key("sha256:a", "RUN true", []string{"A=1"}, "") != base {
		t.Error("the key is not deterministic")
	}
	if len(base) != 64 {
		t.Errorf("key %q is not 64 hex digits", base)
	}
}
