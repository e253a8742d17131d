package machined

import "testing"

func TestName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"web", "web"},
		{"web@blue", "web-blue"},
		{"a_b c", "a-b-c"},
		{"-x-", "x"},
		{"@@", "dockah"},
		{"db.v2", "db.v2"},
	} {
		if got := Name(tc.in); got != tc.want {
			t.Errorf("Name(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
