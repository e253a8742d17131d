package deftest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefinitionText(t *testing.T) {
	for _, tc := range []struct {
		d    *Definition
		want string
	}{
		{New("web:1"), "[container]\nimage = \"web:1\"\n"},
		{New(`a"b\c` + "\t"), "[container]\nimage = \"a\\\"b\\\\c\\u0009\"\n"},
		{DropIn(), ""},
		{DropIn().Container(`hostname = "g"`), "[container]\nhostname = \"g\"\n"},
		{
			New("x").Comment("web").Container("read_only = true").
				Table("[[socket]]", `listen = "80"`).Table("[service]", `restart = "always"`),
			"# web\n[container]\nimage = \"x\"\nread_only = true\n\n[[socket]]\nlisten = \"80\"\n\n[service]\nrestart = \"always\"\n",
		},
	} {
		if diff := cmp.Diff(tc.want, tc.d.String()); diff != "" {
			t.Errorf("text (-want +got):\n%s", diff)
		}
	}
	apps := Apps(4)
	for _, p := range []string{"etc/dockah/containers/app0000.toml", "usr/lib/dockah/containers/app0001.toml", "etc/dockah/containers/app0003.toml.d/10-local.toml"} {
		if apps[p] == nil {
			t.Errorf("Apps(4) has no %s", p)
		}
	}
}
