// Package vulndb reads vulnerability data an administrator downloads and
// matches inventories against it: OSV records (osv.dev's schema: one
// JSON file, a directory of them, or the zip of an ecosystem that OSV
// publishes) and Debian's security tracker JSON
// (security-tracker.debian.org/tracker/data/json), which keys advisories
// by source package and release.
//
// Versions compare by each ecosystem's rules (inventory/version): dpkg
// packages by their source package and its version in the image's
// Debian or Ubuntu release, rpm packages in their distribution's
// ecosystem (Rocky Linux, AlmaLinux, Red Hat, SUSE...), apk packages by
// origin in the Alpine release, Go modules and the standard library in
// the Go ecosystem, and copies outside packages (a vendored libz.so, a
// static zlib) by the upstream versions OSV lists for the project's
// repository.
//
// The data is large and not trusted further than its size: files are
// read with limits (a JSON document, a zip member, the members of a
// zip), only the records of the packages asked for are kept, and a
// malformed record is counted and skipped, never fatal.
package vulndb
