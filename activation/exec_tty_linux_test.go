package activation

import (
	"bytes"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestHostTerminalOutlivesAReopen does to the terminal of "dockah run -t"
// what systemd 257 does before it hands it to the program, while the relay
// runs: open its path, close it, open it again. The relay must not take
// the first close for the end (it would close the master, and the
// terminal with it), and must end after the program's last output once
// the slave side the caller holds is closed too.
func TestHostTerminalOutlivesAReopen(t *testing.T) {
	master, slave, err := HostTerminal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	relayed := make(chan struct{})
	go func() { RelayTerminal(master, nil, out); close(relayed) }()
	probe, err := os.OpenFile(slave.Name(), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", slave.Name(), err)
	}
	probe.Close()
	time.Sleep(50 * time.Millisecond) // the relay would see a hang-up now
	program, err := os.OpenFile(slave.Name(), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open %s again, after a close: %v", slave.Name(), err)
	}
	if _, err := program.WriteString("last words\n"); err != nil {
		t.Fatal(err)
	}
	program.Close()
	slave.Close()
	select {
	case <-relayed:
		if !bytes.Contains(out.Bytes(), []byte("last words")) {
			t.Errorf("the relay copied %q, want the program's last output", out.Bytes())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the relay goes on after every slave side was closed")
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}
