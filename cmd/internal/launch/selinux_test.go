package launch

import "testing"

func TestAsksForLabels(t *testing.T) {
	for _, tc := range []struct {
		s    security
		want bool
	}{
		{security{}, false},
		{security{Volumes: []volumeLabel{{Path: "/v", Relabel: "none"}}}, false},
		{security{SELinuxType: "spc_t"}, true},
		{security{SELinuxLevel: "s0:c1,c2"}, true},
		{security{Volumes: []volumeLabel{{Path: "/v", Relabel: "private"}}}, true},
	} {
		if got := asksForLabels(tc.s); got != tc.want {
			t.Errorf("asksForLabels(%+v) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
