package vulndb

import (
	"sort"
	"strings"

	"github.com/dockah/dockah/inventory"
	"github.com/dockah/dockah/inventory/version"
)

// Statuses of a Finding.
const (
	// Affected: the installed version is in an affected range.
	Affected = "affected"
	// Unknown: a copy whose version could not be told, of a product a
	// record is about.
	Unknown = "unknown"
)

// Finding is a vulnerability of an entry of an inventory.
type Finding struct {
	// CVE is the CVE ID, or the advisory's own when it names none.
	CVE string `json:"cve"`
	// Advisories are where the finding comes from: OSV record IDs,
	// "debian-tracker".
	Advisories []string `json:"advisories"`
	Summary    string   `json:"summary,omitempty"`
	// Package is the inventory's entry.
	Package inventory.Package `json:"package"`
	// Installed is the version compared: the source package's for
	// Debian's data, which is about source packages.
	Installed string `json:"installed"`
	// Fixed is the first version without the vulnerability, "" when
	// none is known.
	Fixed  string `json:"fixed"`
	Status string `json:"status"`
	// Note says more: the tracker's status or urgency.
	Note string `json:"note,omitempty"`
}

// Names are the lower-case names an inventory's entries can be found
// under in the data: what Load's want should keep.
func Names(inv *inventory.Inventory) map[string]bool {
	out := map[string]bool{}
	for _, p := range inv.Packages {
		for _, n := range p.Names() {
			out[strings.ToLower(n)] = true
		}
	}
	return out
}

// distroEcosystems are OSV's ecosystem names of the distributions, by
// os-release ID.
var distroEcosystems = map[string]string{
	"debian": "Debian", "ubuntu": "Ubuntu", "alpine": "Alpine",
	"rocky": "Rocky Linux", "almalinux": "AlmaLinux", "rhel": "Red Hat",
	"opensuse-leap": "openSUSE", "opensuse-tumbleweed": "openSUSE", "sles": "SUSE",
	"mageia": "Mageia", "openeuler": "openEuler", "azurelinux": "Azure Linux", "mariner": "CBL-Mariner",
	"wolfi": "Wolfi", "chainguard": "Chainguard",
}

// query is what an entry is looked up as: names in an ecosystem, with
// the version to compare for each.
type query struct {
	ecosystem, release string
	names              []string
	versions           []string // one per name
	compare            string   // inventory/version's ecosystem
}

func queryOf(p inventory.Package, d inventory.Distro) (query, bool) {
	q := query{ecosystem: distroEcosystems[d.ID]}
	switch p.Type {
	case inventory.TypeDeb:
		// OSV's Debian and Ubuntu records are about source packages.
		q.compare, q.release = version.Debian, d.VersionID
		if d.ID == "debian" {
			q.release = major(d.VersionID)
		}
		q.names, q.versions = []string{p.Source, p.Name}, []string{orVersion(p.SourceVersion, p.Version), p.Version}
	case inventory.TypeRPM:
		q.compare, q.release = version.RPM, major(d.VersionID)
		q.names, q.versions = []string{p.Name, p.Source}, []string{p.Version, p.Version}
	case inventory.TypeAPK:
		q.compare, q.release = version.Alpine, d.Release()
		q.names, q.versions = []string{p.Source, p.Name}, []string{p.Version, p.Version}
	case inventory.TypeGo:
		q.ecosystem, q.compare = "Go", version.Semver
		q.names, q.versions = []string{p.Name}, []string{p.Version}
	default:
		return q, false
	}
	return q, q.ecosystem != ""
}

func orVersion(v, alt string) string {
	if v != "" {
		return v
	}
	return alt
}

func major(v string) string {
	m, _, _ := strings.Cut(v, ".")
	return m
}

// Match returns the findings of inv's entries, sorted by CVE and
// package.
func (db *DB) Match(inv *inventory.Inventory) []Finding {
	m := matcher{seen: map[string]int{}}
	for _, p := range inv.Packages {
		switch p.Type {
		case inventory.TypeLibrary, inventory.TypeEmbedded:
			db.matchUpstream(&m, p)
			continue
		}
		q, ok := queryOf(p, inv.Distro)
		if !ok {
			continue
		}
		db.matchOSV(&m, p, q)
		if p.Type == inventory.TypeDeb && inv.Distro.ID == "debian" {
			db.matchTracker(&m, p, inv.Distro.Release())
		}
	}
	sort.Slice(m.out, func(i, j int) bool {
		a, b := m.out[i], m.out[j]
		if a.CVE != b.CVE {
			return a.CVE < b.CVE
		}
		if a.Package.Name != b.Package.Name {
			return a.Package.Name < b.Package.Name
		}
		return a.Package.Found.Path < b.Package.Found.Path
	})
	return m.out
}

type matcher struct {
	out  []Finding
	seen map[string]int // CVE and entry → index in out
}

// add records f, or adds its advisory to the same CVE of the same entry
// found before.
func (m *matcher) add(f Finding) {
	key := f.CVE + "\x00" + f.Package.Type + "\x00" + f.Package.Name + "\x00" + f.Package.Found.Path
	if i, ok := m.seen[key]; ok {
		for _, a := range f.Advisories {
			if !contains(m.out[i].Advisories, a) {
				m.out[i].Advisories = append(m.out[i].Advisories, a)
			}
		}
		if m.out[i].Fixed == "" {
			m.out[i].Fixed = f.Fixed
		}
		return
	}
	m.seen[key] = len(m.out)
	m.out = append(m.out, f)
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func (db *DB) matchOSV(m *matcher, p inventory.Package, q query) {
	done := map[string]bool{}
	for i, name := range q.names {
		key := strings.ToLower(name)
		if name == "" || done[key] {
			continue
		}
		done[key] = true
		for _, e := range db.osv[key] {
			if !ecosystemMatches(e.aff.Package.Ecosystem, q.ecosystem, q.release) {
				continue
			}
			hit, fixed := affects(e.aff, q.versions[i], func(a, b string) int { return version.Compare(q.compare, a, b) })
			if hit {
				m.add(Finding{CVE: e.rec.cve(), Advisories: []string{e.rec.ID}, Summary: e.rec.Summary, Package: p,
					Installed: q.versions[i], Fixed: fixed, Status: Affected})
			}
		}
	}
}

// ecosystemMatches: "Debian:12" is Debian's release 12; "Ubuntu:22.04:LTS"
// Ubuntu's 22.04; an ecosystem without a release matches every release.
func ecosystemMatches(eco, base, release string) bool {
	fields := strings.Split(eco, ":")
	if fields[0] != base {
		return false
	}
	if len(fields) == 1 || release == "" {
		return true
	}
	for _, f := range fields[1:] {
		if f == release {
			return true
		}
	}
	return false
}

// affects evaluates an OSV affected entry for version v, as the OSV
// schema says: v is listed in versions, or an ECOSYSTEM or SEMVER range,
// its events sorted by version, leaves v introduced and not fixed. fixed
// is the first fixed version after v, if any.
func affects(aff *osvAffected, v string, cmp func(a, b string) int) (hit bool, fixed string) {
	for _, x := range aff.Versions {
		if x == v {
			hit = true
		}
	}
	for _, r := range aff.Ranges {
		if r.Type != "ECOSYSTEM" && r.Type != "SEMVER" {
			continue
		}
		events := append([]osvEvent(nil), r.Events...)
		sort.SliceStable(events, func(i, j int) bool { return cmp(eventVersion(events[i]), eventVersion(events[j])) < 0 })
		in := false
		for _, e := range events {
			switch {
			case e.Introduced != "":
				if e.Introduced == "0" || cmp(v, e.Introduced) >= 0 {
					in = true
				}
			case e.Fixed != "":
				if cmp(v, e.Fixed) >= 0 {
					in = false
				}
			case e.LastAffected != "":
				if cmp(v, e.LastAffected) > 0 {
					in = false
				}
			}
		}
		if !in {
			continue
		}
		hit = true
		for _, e := range events {
			if e.Fixed != "" && cmp(e.Fixed, v) > 0 && (fixed == "" || cmp(e.Fixed, fixed) < 0) {
				fixed = e.Fixed
			}
		}
	}
	return hit, fixed
}

// eventVersion is the version an event is at; "0" (introduced from the
// start) sorts first.
func eventVersion(e osvEvent) string {
	switch {
	case e.Introduced == "0":
		return ""
	case e.Introduced != "":
		return e.Introduced
	case e.Fixed != "":
		return e.Fixed
	case e.LastAffected != "":
		return e.LastAffected
	}
	return e.Limit
}

// matchTracker looks a Debian package's source up in the tracker for
// the image's release.
func (db *DB) matchTracker(m *matcher, p inventory.Package, release string) {
	installed := orVersion(p.SourceVersion, p.Version)
	cves := db.tracker[p.Source]
	ids := make([]string, 0, len(cves))
	for id := range cves {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		rel, ok := cves[id].Releases[release]
		if !ok {
			continue
		}
		f := Finding{CVE: id, Advisories: []string{"debian-tracker"}, Summary: cves[id].Description, Package: p,
			Installed: installed, Status: Affected}
		switch rel.Status {
		case "resolved":
			if rel.FixedVersion == "0" || rel.FixedVersion == "" || version.CompareDebian(installed, rel.FixedVersion) >= 0 {
				continue
			}
			f.Fixed = rel.FixedVersion
		case "open", "undetermined":
			f.Note = rel.Status
			if rel.Urgency != "" && rel.Urgency != "not yet assigned" {
				f.Note += ", " + rel.Urgency
			}
		default:
			continue // not-affected and the like
		}
		m.add(f)
	}
}

// matchUpstream matches a copy outside packages against the records of
// its project: the upstream versions they list (tags as v1.2.11,
// zlib-1.2.11, OpenSSL_1_1_1w, openssl-3.0.11 all mean the version).
func (db *DB) matchUpstream(m *matcher, p inventory.Package) {
	product := strings.ToLower(p.Source)
	if product == "" {
		return
	}
	for _, e := range db.osv[product] {
		if e.aff.Package.Ecosystem != "" {
			continue
		}
		f := Finding{CVE: e.rec.cve(), Advisories: []string{e.rec.ID}, Summary: e.rec.Summary, Package: p, Installed: p.Version}
		if p.Version == inventory.Unknown {
			f.Status, f.Note = Unknown, "the copy's version is unknown"
			m.add(f)
			continue
		}
		for _, tag := range e.aff.Versions {
			if upstreamVersion(tag) == strings.ToLower(p.Version) {
				f.Status = Affected
				m.add(f)
				break
			}
		}
	}
}

// upstreamVersion reads a project's tag as a version.
func upstreamVersion(tag string) string {
	t := strings.ToLower(strings.TrimSpace(tag))
	for _, prefix := range []string{"zlib-", "openssl-", "openssl_", "release-", "v"} {
		t = strings.TrimPrefix(t, prefix)
	}
	return strings.ReplaceAll(t, "_", ".")
}
