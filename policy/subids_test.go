package policy

import "testing"

func TestFreeSpan(t *testing.T) {
	within := IDRange{Start: 100, Size: 1000} // 100..1099
	for _, tt := range []struct {
		name  string
		taken []IDRange
		want  IDRange
		ok    bool
	}{
		{"nothing taken", nil, IDRange{100, 1000}, true},
		{"below and above", []IDRange{{0, 50}, {2000, 10}}, IDRange{100, 1000}, true},
		{"the start", []IDRange{{0, 200}}, IDRange{200, 900}, true},
		{"the end", []IDRange{{1000, 500}}, IDRange{100, 900}, true},
		{"the middle: the larger side", []IDRange{{300, 100}}, IDRange{400, 700}, true},
		{"two holes, unsorted", []IDRange{{900, 10}, {150, 10}}, IDRange{160, 740}, true},
		{"overlapping entries", []IDRange{{100, 500}, {400, 300}}, IDRange{700, 400}, true},
		{"equal spans: the lowest", []IDRange{{550, 100}}, IDRange{100, 450}, true},
		{"all of it", []IDRange{{0, 5000}}, IDRange{}, false},
	} {
		got, ok := FreeSpan(within, tt.taken)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: FreeSpan = %v %v, want %v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDefaultPoolFor(t *testing.T) {
	def := DefaultIDPool[0]
	for _, tt := range []struct {
		name, file string
		want       []IDRange
	}{
		{"empty file", "", []IDRange{def}},
		{"users below the range", "alice:100000:65536\nbob:165536:65536\n", []IDRange{def}},
		// useradd's SUB_UID_MAX is 600100000: users can reach into
		// systemd's range.
		{"a user inside the range", "alice:100000:65536\nzed:600000:65536\n", []IDRange{{Start: 665536, Size: uint32(def.end() - 665536)}}},
		{"a malformed line and a comment", "# alice:524288:1000000\nbad line\nx:y:z\n", []IDRange{def}},
		{"our own entry does not count", "containers:524288:10\n", []IDRange{def}},
		{"all of it taken", "big:1:4294967295\n", nil},
	} {
		got := DefaultPoolFor([]byte(tt.file))
		if len(got) != len(tt.want) || (len(got) == 1 && got[0] != tt.want[0]) {
			t.Errorf("%s: DefaultPoolFor = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestWithSubIDEntry(t *testing.T) {
	r := IDRange{Start: 524288, Size: 1000}
	for _, tt := range []struct{ in, want string }{
		{"", "containers:524288:1000\n"},
		{"alice:100000:65536\n", "alice:100000:65536\ncontainers:524288:1000\n"},
		{"# keep me  \nalice:100000:65536", "# keep me  \nalice:100000:65536\ncontainers:524288:1000\n"},
	} {
		if got := string(WithSubIDEntry([]byte(tt.in), SubIDOwner, r)); got != tt.want {
			t.Errorf("WithSubIDEntry(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// The result parses back to the entry.
	got, err := ParseSubIDs(WithSubIDEntry([]byte("alice:1:2"), SubIDOwner, r), "f", SubIDOwner)
	if err != nil || len(got) != 1 || got[0] != r {
		t.Errorf("parsed back: %v %v", got, err)
	}
}

// FuzzDefaultPoolFor: whatever the file holds, the pool lies in
// DefaultIDPool and overlaps no other owner's entry.
func FuzzDefaultPoolFor(f *testing.F) {
	f.Add("alice:100000:65536\nzed:600000:65536\n")
	f.Add("big:1:4294967295\n")
	f.Fuzz(func(t *testing.T, data string) {
		pool := DefaultPoolFor([]byte(data))
		for _, p := range pool {
			if p.Start < DefaultIDPool[0].Start || p.end() > DefaultIDPool[0].end() {
				t.Fatalf("pool %v outside %v", p, DefaultIDPool[0])
			}
			for _, o := range subIDRanges([]byte(data), SubIDOwner) {
				if p.overlaps(o) {
					t.Fatalf("pool %v overlaps the entry %v", p, o)
				}
			}
		}
	})
}
