package vulndb

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Limits of what Load reads.
const (
	maxRecord     = 64 << 20 // one OSV JSON file or zip member
	maxTracker    = 2 << 30  // the Debian tracker's JSON
	maxZipMembers = 4 << 20  // members of an OSV zip
	maxZipTotal   = 16 << 30 // uncompressed bytes of an OSV zip
)

// DB is the vulnerability data of the packages asked for.
type DB struct {
	// osv are the affected entries of OSV records by package name
	// (lower case), or by product ("zlib") for entries about a
	// project's repository without an ecosystem.
	osv map[string][]osvEntry
	// tracker is Debian's tracker: source package → CVE → releases.
	tracker map[string]map[string]trackerCVE
	// Read says what was read, a line per path.
	Read []string
	// Skipped counts the malformed OSV records left out.
	Skipped int
}

// osvEntry is one affected entry of a record.
type osvEntry struct {
	rec *osvRecord
	aff *osvAffected
}

// Load reads the vulnerability data at paths: an OSV record (a .json
// file, or an array of records), a directory of them (walked, symlinks
// not followed), an OSV zip, or Debian's security tracker JSON, told
// apart by content. want says which package names (lower case) and
// products to keep.
func Load(paths []string, want func(name string) bool) (*DB, error) {
	db := &DB{osv: map[string][]osvEntry{}, tracker: map[string]map[string]trackerCVE{}}
	for _, p := range paths {
		if err := db.loadPath(p, want); err != nil {
			return nil, err
		}
	}
	return db, nil
}

func (db *DB) loadPath(p string, want func(string) bool) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("vulnerability data: %w", err)
	}
	if fi.IsDir() {
		n, skipped := 0, db.Skipped
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".json") {
				data, err := readLimited(path, maxRecord)
				if err != nil {
					db.Skipped++
					return nil
				}
				n += db.addOSV(data, want)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("vulnerability data %s: %w", p, err)
		}
		db.Read = append(db.Read, fmt.Sprintf("%s: %d OSV records (%d malformed)", p, n, db.Skipped-skipped))
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("vulnerability data: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	head, _ := br.Peek(4 << 10)
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return db.loadZip(p, f, fi.Size(), want)
	case isOSV(head):
		data, err := io.ReadAll(io.LimitReader(br, maxRecord+1))
		if err != nil {
			return fmt.Errorf("vulnerability data %s: %w", p, err)
		}
		if len(data) > maxRecord {
			return fmt.Errorf("vulnerability data %s: an OSV file of more than %d bytes", p, maxRecord)
		}
		recs, err := parseOSV(data)
		if err != nil {
			return fmt.Errorf("vulnerability data %s: %w", p, err)
		}
		for i := range recs {
			db.addRecord(&recs[i], want)
		}
		db.Read = append(db.Read, fmt.Sprintf("%s: %d OSV records", p, len(recs)))
		return nil
	}
	lr := &io.LimitedReader{R: br, N: maxTracker + 1}
	tracker, err := parseTracker(lr, func(source string) bool { return want(strings.ToLower(source)) })
	if lr.N <= 0 {
		return fmt.Errorf("vulnerability data %s: more than %d bytes", p, maxTracker)
	}
	if err != nil {
		return fmt.Errorf("vulnerability data %s: neither OSV nor %w", p, err)
	}
	for source, cves := range tracker {
		db.tracker[source] = cves
	}
	db.Read = append(db.Read, fmt.Sprintf("%s: Debian security tracker, %d source packages kept", p, len(tracker)))
	return nil
}

// isOSV tells an OSV record (or array of them) from the tracker's JSON
// by its first key: OSV's are its schema's fields, the tracker's are
// package names.
func isOSV(head []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(head))
	tok, err := dec.Token()
	if err != nil {
		return false
	}
	if tok == json.Delim('[') {
		return true
	}
	if tok != json.Delim('{') {
		return false
	}
	key, err := dec.Token()
	if err != nil {
		return false
	}
	switch key {
	case "id", "schema_version", "modified", "published", "withdrawn", "aliases", "summary", "details", "affected":
		return true
	}
	return false
}

func (db *DB) loadZip(p string, f *os.File, size int64, want func(string) bool) error {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return fmt.Errorf("vulnerability data %s: %w", p, err)
	}
	if len(zr.File) > maxZipMembers {
		return fmt.Errorf("vulnerability data %s: more than %d members", p, maxZipMembers)
	}
	var total int64
	n, skipped := 0, db.Skipped
	for _, zf := range zr.File {
		if !strings.HasSuffix(zf.Name, ".json") || zf.FileInfo().IsDir() {
			continue
		}
		if zf.UncompressedSize64 > maxRecord {
			db.Skipped++
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			db.Skipped++
			continue
		}
		data, err := io.ReadAll(io.LimitReader(rc, maxRecord+1))
		rc.Close()
		if total += int64(len(data)); total > maxZipTotal {
			return fmt.Errorf("vulnerability data %s: more than %d bytes uncompressed", p, int64(maxZipTotal))
		}
		if err != nil || len(data) > maxRecord {
			db.Skipped++
			continue
		}
		n += db.addOSV(data, want)
	}
	db.Read = append(db.Read, fmt.Sprintf("%s: %d OSV records (%d malformed)", p, n, db.Skipped-skipped))
	return nil
}

// addOSV adds the records of one file; a malformed one is counted.
func (db *DB) addOSV(data []byte, want func(string) bool) int {
	recs, err := parseOSV(data)
	if err != nil {
		db.Skipped++
		return 0
	}
	for i := range recs {
		db.addRecord(&recs[i], want)
	}
	return len(recs)
}

// addRecord keeps the affected entries of rec that want names.
func (db *DB) addRecord(rec *osvRecord, want func(string) bool) {
	if rec.Withdrawn != "" {
		return
	}
	for i := range rec.Affected {
		aff := &rec.Affected[i]
		key := strings.ToLower(aff.Package.Name)
		if aff.Package.Ecosystem == "" {
			// A project's own record (NVD's, as OSV converts them):
			// its repository says what it is about.
			key = ""
			for _, r := range aff.Ranges {
				if product := repoProducts[normalizeRepo(r.Repo)]; product != "" {
					key = product
				}
			}
		}
		if key != "" && want(key) {
			db.osv[key] = append(db.osv[key], osvEntry{rec: rec, aff: aff})
		}
	}
}

// repoProducts name the products whose copies outside packages are
// looked for (see inventory), by their repository.
var repoProducts = map[string]string{
	"github.com/madler/zlib":     "zlib",
	"github.com/openssl/openssl": "openssl",
}

func normalizeRepo(r string) string {
	r = strings.ToLower(strings.TrimSpace(r))
	for _, p := range []string{"https://", "http://", "git://"} {
		r = strings.TrimPrefix(r, p)
	}
	return strings.TrimSuffix(strings.TrimSuffix(r, "/"), ".git")
}

func readLimited(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, errors.New(p + ": more than the limit of bytes")
	}
	return data, nil
}
