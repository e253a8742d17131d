package activation

import "testing"

func TestFSTypeName(t *testing.T) {
	for _, tt := range []struct {
		magic int64
		want  string
	}{
		{0x794c7630, "overlayfs"},
		{0x01021994, "tmpfs"},
		{0xef53, "ext4"},
		{0x6969, "nfs"},
		{0x12345, "type 0x12345"},
	} {
		if got := fsTypeName(tt.magic); got != tt.want {
			t.Errorf("fsTypeName(%#x) = %q, want %q", tt.magic, got, tt.want)
		}
	}
}
