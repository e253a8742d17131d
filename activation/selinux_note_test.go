//go:build !stage

package activation

import "testing"

func TestAsksForLabels(t *testing.T) {
	for _, tc := range []struct {
		s    Security
		want bool
	}{
		{Security{}, false},
		{Security{Volumes: []VolumeLabel{{Path: "/v", Relabel: "none"}}}, false},
		{Security{SELinuxType: "spc_t"}, true},
		{Security{SELinuxLevel: "s0:c1,c2"}, true},
		{Security{Volumes: []VolumeLabel{{Path: "/v", Relabel: "private"}}}, true},
	} {
		if got := asksForLabels(tc.s); got != tc.want {
			t.Errorf("asksForLabels(%+v) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
