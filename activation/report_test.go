package activation

import (
	"errors"
	"os"
	"testing"
)

// A stage's error keeps the status of a command that is not there or
// cannot be run across the sync socket.
func TestReportCarriesCommandStatus(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		ok     bool
	}{
		{statusError{ExitNotFound, errors.New("entrypoint /x: not found")}, ExitNotFound, true},
		{statusError{ExitCannotRun, errors.New("entrypoint /etc: not executable")}, ExitCannotRun, true},
		{errors.New("mount /proc: permission denied"), 0, false},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		report(w, tc.err)
		w.Close()
		buf := make([]byte, 4096)
		n, _ := r.Read(buf)
		r.Close()
		if n == 0 || buf[0] != msgError {
			t.Fatalf("report wrote %q", buf[:n])
		}
		got := parseReport(buf[1:n])
		status, ok := CommandStatus(got)
		if got.Error() != tc.err.Error() || status != tc.status || ok != tc.ok {
			t.Errorf("report(%v) read back as %q, status %d %v", tc.err, got, status, ok)
		}
	}
}
