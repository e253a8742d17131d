package launch

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dockah/dockah/unitgen"
)

func TestMatchSockets(t *testing.T) {
	def := &unitgen.Definition{Name: "app", Sockets: []unitgen.Socket{
		{Listen: "8080", Type: "stream", Port: 80},
		{Listen: "[::1]:8080", Type: "stream", Port: 80},
		{Listen: "127.0.0.1:9090", Type: "stream", Name: "admin"},
		{Listen: "5353", Type: "datagram", Name: "dns", Port: 53},
	}}
	// systemd's order: units as listed in Sockets=, which need not be
	// the definition's order.
	got, err := MatchSockets(def, []string{"dns", "app", "admin", "app", "extra"})
	if err != nil {
		t.Fatal(err)
	}
	want := []PassedSocket{
		{Index: 0, Name: "dns", Port: 53, Datagram: true},
		{Index: 1, Name: "app", Port: 80},
		{Index: 2, Name: "admin"},
		{Index: 3, Name: "app", Port: 80},
		{Index: 4, Name: "extra"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := MatchSockets(def, []string{"admin", "admin"}); err == nil {
		t.Error("more fds of a name than the definition declares must be an error")
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"SIGQUIT": 3, "quit": 3, "3": 3, "SIGRTMIN+3": 37, "SIGWINCH": 28} {
		got, err := parseSignal(in)
		if err != nil || int(got) != want {
			t.Errorf("parseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "SIGNOPE", "99", "-1"} {
		if _, err := parseSignal(bad); err == nil {
			t.Errorf("parseSignal(%q): want an error", bad)
		}
	}
}
