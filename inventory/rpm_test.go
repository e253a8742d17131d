package inventory

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/testenv"
)

// hostileBDB is a Berkeley DB hash database of two 512-byte pages whose
// one hash page holds a value on an overflow page: entries says how
// many index entries the hash page claims, next the page the value
// starts on.
func hostileBDB(entries uint16, next uint32) []byte {
	const page = 512
	data := make([]byte, 2*page)
	le := binary.LittleEndian
	le.PutUint32(data[12:], 0x00061561) // hash magic
	le.PutUint32(data[20:], page)
	data[25] = 8                   // hash metadata page
	le.PutUint32(data[32:], 1)     // last page number
	p := data[page:]               // page 1: a hash page
	le.PutUint16(p[20:], entries)  // index entries
	p[25] = 13                     // sorted hash page
	le.PutUint16(p[26+2:], 100)    // the value's offset
	p[100] = 3                     // HOFFPAGE: the value is on other pages
	le.PutUint32(p[100+4:], next)  // ... starting at page next
	le.PutUint32(p[100+8:], 1<<20) // of that length
	return data
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "db")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestIsolatedRPMHostile: go-rpmdb panics on a goroutine of its own on
// a hash page claiming more entries than it holds, and loops for ever on
// an overflow chain that points back at a hash page. In the child, the
// first is an error and the second a timeout; this process goes on.
func TestIsolatedRPMHostile(t *testing.T) {
	read := testRPM(t)
	for name, tt := range map[string]struct {
		data []byte
		want string
	}{
		"garbage":   {[]byte("this is no database at all, in no format"), "rpm database"},
		"empty":     {nil, "rpm database"},
		"panic":     {hostileBDB(1000, 0), "the reader failed"},
		"loop":      {hostileBDB(2, 1), "gave up"},
		"truncated": {hostileBDB(2, 1)[:600], "rpm database"},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			start := time.Now()
			pkgs, err := read(ctx, writeTemp(t, tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("read: %d packages, error %v; want one saying %q", len(pkgs), err, tt.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestRPMSQLite reads a database that Debian's rpm tools write (SQLite,
// as rpm 4.16 and later write by default): a zlib package and its file.
func TestRPMSQLite(t *testing.T) {
	db := testenv.RPMDatabase(t, "zlib", "1.2.11", "40.el9", "/usr/lib64/libz.so.1.2.11")
	pkgs, err := testRPM(t)(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 {
		t.Fatalf("%d packages, want 1: %+v", len(pkgs), pkgs)
	}
	p := pkgs[0]
	if p.Name != "zlib" || p.Version != "1.2.11" || p.Release != "40.el9" || rpmSourceName(p.SourceRPM) != "zlib" ||
		len(p.Files) != 1 || p.Files[0] != "/usr/lib64/libz.so.1.2.11" {
		t.Errorf("package %+v", p)
	}
}
