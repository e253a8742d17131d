package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func caps(names ...string) CapSet {
	var s CapSet
	for _, n := range names {
		c, err := ParseCap(n)
		if err != nil {
			panic(err)
		}
		s = s.With(c)
	}
	return s
}

func TestDefaultCaps(t *testing.T) {
	want := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
		"CAP_SETFCAP"}
	if diff := cmp.Diff(want, DefaultCaps().Names()); diff != "" {
		t.Errorf("default set (-want +got):\n%s", diff)
	}
	if DefaultCaps().Has(unix.CAP_NET_RAW) {
		t.Error("NET_RAW is in the default set")
	}
}

func TestParseCap(t *testing.T) {
	for _, in := range []string{"net_admin", "NET_ADMIN", "CAP_NET_ADMIN", "cap_net_admin", "Cap_Net_Admin", " net_admin "} {
		c, err := ParseCap(in)
		if err != nil || c != unix.CAP_NET_ADMIN {
			t.Errorf("ParseCap(%q) = %v, %v", in, c, err)
		}
	}
	_, err := ParseCap("NET_ADMN")
	if err == nil || !strings.Contains(err.Error(), `unknown capability "NET_ADMN"`) || !strings.Contains(err.Error(), "accepted: ALL, CHOWN,") || !strings.Contains(err.Error(), "CHECKPOINT_RESTORE") {
		t.Errorf("error %v does not list what is accepted", err)
	}
	for c := Cap(0); c <= LastCap; c++ {
		if back, err := ParseCap(c.String()); err != nil || back != c {
			t.Errorf("%d: name %s does not parse back (%v)", c, c, err)
		}
	}
	if len(capNames) != int(LastCap)+1 || AllCaps().Len() != int(LastCap)+1 {
		t.Errorf("%d names, %d in AllCaps, want %d", len(capNames), AllCaps().Len(), LastCap+1)
	}
}

func TestCapabilities(t *testing.T) {
	def := DefaultCaps()
	tests := []struct {
		name string
		cfg  CapConfig
		want Caps
		err  string
	}{
		{name: "root default", cfg: CapConfig{},
			want: Caps{Bounding: def, Effective: def, Permitted: def}},
		{name: "non-root default", cfg: CapConfig{UID: 1000},
			want: Caps{Bounding: def}},
		{name: "root add and drop", cfg: CapConfig{Add: []string{"net_admin", "CAP_SYS_TIME"}, Drop: []string{"MKNOD", "cap_kill"}},
			want: func() Caps {
				s := def.With(unix.CAP_NET_ADMIN).With(unix.CAP_SYS_TIME).Without(unix.CAP_MKNOD).Without(unix.CAP_KILL)
				return Caps{Bounding: s, Effective: s, Permitted: s}
			}()},
		{name: "non-root with added caps gets them ambient", cfg: CapConfig{UID: 33, Add: []string{"NET_BIND_SERVICE", "NET_ADMIN"}},
			want: Caps{Bounding: def.With(unix.CAP_NET_ADMIN), Effective: caps("NET_BIND_SERVICE", "NET_ADMIN"),
				Permitted: caps("NET_BIND_SERVICE", "NET_ADMIN"), Inheritable: caps("NET_BIND_SERVICE", "NET_ADMIN"),
				Ambient: caps("NET_BIND_SERVICE", "NET_ADMIN")}},
		{name: "non-root drop only", cfg: CapConfig{UID: 33, Drop: []string{"CHOWN"}},
			want: Caps{Bounding: def.Without(unix.CAP_CHOWN)}},
		{name: "drop ALL then add", cfg: CapConfig{Drop: []string{"ALL"}, Add: []string{"NET_BIND_SERVICE"}},
			want: Caps{Bounding: caps("NET_BIND_SERVICE"), Effective: caps("NET_BIND_SERVICE"), Permitted: caps("NET_BIND_SERVICE")}},
		{name: "drop all", cfg: CapConfig{Drop: []string{"all"}}, want: Caps{}},
		{name: "add ALL minus some", cfg: CapConfig{Add: []string{"ALL"}, Drop: []string{"SYS_ADMIN"}},
			want: func() Caps {
				s := AllCaps().Without(unix.CAP_SYS_ADMIN)
				return Caps{Bounding: s, Effective: s, Permitted: s}
			}()},
		{name: "non-root add ALL", cfg: CapConfig{UID: 1, Add: []string{"ALL"}, Drop: []string{"SYS_MODULE"}},
			want: func() Caps {
				s := AllCaps().Without(unix.CAP_SYS_MODULE)
				return Caps{Bounding: s, Effective: s, Permitted: s, Inheritable: s, Ambient: s}
			}()},
		{name: "ALL is what the shim has", cfg: CapConfig{Add: []string{"ALL"}, Drop: []string{"SYS_ADMIN"}, Available: AllCaps().Without(unix.CAP_SYS_RESOURCE)},
			want: func() Caps {
				s := AllCaps().Without(unix.CAP_SYS_RESOURCE).Without(unix.CAP_SYS_ADMIN)
				return Caps{Bounding: s, Effective: s, Permitted: s}
			}()},
		{name: "defaults the shim lacks are left out", cfg: CapConfig{UID: 7, Add: []string{"NET_ADMIN"}, Available: AllCaps().Without(unix.CAP_MKNOD)},
			want: Caps{Bounding: def.Without(unix.CAP_MKNOD).With(unix.CAP_NET_ADMIN), Effective: caps("NET_ADMIN"),
				Permitted: caps("NET_ADMIN"), Inheritable: caps("NET_ADMIN"), Ambient: caps("NET_ADMIN")}},
		{name: "an unavailable capability added by name", cfg: CapConfig{Add: []string{"SYS_RESOURCE", "NET_ADMIN"}, Available: DefaultCaps()},
			err: "capabilities_add: the shim cannot grant NET_ADMIN,SYS_RESOURCE: its own bounding set lacks it"},
		{name: "unavailable but dropped as well is no error", cfg: CapConfig{Add: []string{"ALL"}, Drop: []string{"SYS_RESOURCE"}, Available: AllCaps().Without(unix.CAP_SYS_RESOURCE)},
			want: func() Caps {
				s := AllCaps().Without(unix.CAP_SYS_RESOURCE)
				return Caps{Bounding: s, Effective: s, Permitted: s}
			}()},
		{name: "unknown names, all reported", cfg: CapConfig{Add: []string{"FLY"}, Drop: []string{"SWIM"}},
			err: `capabilities_add: unknown capability "FLY"`},
		{name: "both added and dropped", cfg: CapConfig{Add: []string{"NET_ADMIN"}, Drop: []string{"cap_net_admin"}},
			err: "NET_ADMIN both added and dropped"},
		{name: "ALL both ways", cfg: CapConfig{Add: []string{"ALL"}, Drop: []string{"ALL"}},
			err: "ALL is both added and dropped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Capabilities(tc.cfg)
			if !checkErr(t, err, tc.err) {
				return
			}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	_, err := Capabilities(CapConfig{Add: []string{"FLY"}, Drop: []string{"SWIM"}})
	if err == nil || !strings.Contains(err.Error(), "SWIM") {
		t.Errorf("second unknown name not reported: %v", err)
	}
}

func TestCapsOCIAndCapset(t *testing.T) {
	c, err := Capabilities(CapConfig{UID: 1000, Add: []string{"CHECKPOINT_RESTORE", "CHOWN"}})
	if err != nil {
		t.Fatal(err)
	}
	oci := c.OCI()
	want := &specs.LinuxCapabilities{
		Bounding:    DefaultCaps().With(unix.CAP_CHECKPOINT_RESTORE).Names(),
		Effective:   []string{"CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"},
		Inheritable: []string{"CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"},
		Permitted:   []string{"CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"},
		Ambient:     []string{"CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"},
	}
	if diff := cmp.Diff(want, oci); diff != "" {
		t.Errorf("OCI (-want +got):\n%s", diff)
	}
	back, err := CapsFromOCI(oci)
	if err != nil || back != c {
		t.Errorf("CapsFromOCI round trip: %+v, %v", back, err)
	}
	if _, err := CapsFromOCI(&specs.LinuxCapabilities{Ambient: []string{"CAP_NOPE"}}); err == nil || !strings.Contains(err.Error(), "ambient") {
		t.Errorf("bad OCI name: %v", err)
	}
	// Root's empty sets print as [], not as a missing key.
	root, _ := Capabilities(CapConfig{})
	if o := root.OCI(); o.Ambient == nil || o.Inheritable == nil {
		t.Error("empty sets are nil in the OCI form")
	}
	// capset wants CHECKPOINT_RESTORE (40) in the second word, bit 8.
	d := c.UserData()
	if d[0].Effective != 1<<unix.CAP_CHOWN || d[1].Effective != 1<<(unix.CAP_CHECKPOINT_RESTORE-32) {
		t.Errorf("UserData effective = %#x %#x", d[0].Effective, d[1].Effective)
	}
	if d[0].Inheritable != d[0].Effective || d[1].Permitted != d[1].Effective {
		t.Errorf("UserData sets differ: %+v", d)
	}
	if s := caps("CHOWN", "KILL").String(); s != "CHOWN,KILL" || CapSet(0).String() != "none" {
		t.Errorf("String = %q", s)
	}
}
