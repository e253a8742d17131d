package mountinfo

import "testing"

func TestUnescape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"/sys/fs/cgroup", "/sys/fs/cgroup"},
		{`/srv/my\040box`, "/srv/my box"},
		{`\040`, " "},
		{`/a\011b\012c\134d`, "/a\tb\nc\\d"},
		{`/one\040two\040three`, "/one two three"},
		{`/end\040`, "/end "},
		// Not an escape: kept as written.
		{`/short\04`, `/short\04`},
		{`/trailing\`, `/trailing\`},
		{`/not\08octal`, `/not\08octal`},
		{`/too\400big`, `/too\400big`},
		{`/\\040`, `/\ `},
	} {
		if got := Unescape(tc.in); got != tc.want {
			t.Errorf("Unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
