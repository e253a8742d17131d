package main

import "testing"

// TestPodmanSizes checks sizes against what podman prints (go-units).
func TestPodmanSizes(t *testing.T) {
	tests := []struct {
		n               uint64
		decimal, binary string
	}{
		{0, "0B", "0B"},
		{22, "22B", "22B"},
		{999, "999B", "999B"},
		{1000, "1kB", "1000B"},
		{1024, "1.024kB", "1KiB"},
		{5_520, "5.52kB", "5.391KiB"},
		{3_092_000, "3.092MB", "2.949MiB"},
		{281_000_000, "281MB", "268MiB"},
		{16_700_000_000, "16.7GB", "15.55GiB"},
		{1 << 62, "4.612EB", "4EiB"},
		{^uint64(0), "18.45EB", "16EiB"},
	}
	for _, tt := range tests {
		if got := decimalSize(tt.n); got != tt.decimal {
			t.Errorf("decimalSize(%d) = %q, want %q", tt.n, got, tt.decimal)
		}
		if got := binarySize(tt.n); got != tt.binary {
			t.Errorf("binarySize(%d) = %q, want %q", tt.n, got, tt.binary)
		}
	}
	for p, want := range map[float64]string{0: "0.00%", 12.5: "12.50%", 0.004: "0.00%", 250.456: "250.46%"} {
		if got := percent(p); got != want {
			t.Errorf("percent(%v) = %q, want %q", p, got, want)
		}
	}
}
