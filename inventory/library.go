package inventory

import (
	"strings"
)

// libraryName splits a shared library's file name into its stem and
// the version its name gives: libz.so.1.2.11 is libz at 1.2.11,
// libssl.so.3 is libssl at no version (one number is an ABI, not a
// release). ok is false for a file name that is no library's.
func libraryName(base string) (stem, version string, ok bool) {
	i := strings.Index(base, ".so")
	if !strings.HasPrefix(base, "lib") || i <= len("lib") {
		return "", "", false
	}
	rest := base[i+len(".so"):]
	if rest != "" && rest[0] != '.' {
		return "", "", false // libfoo.sock
	}
	rest = strings.TrimPrefix(rest, ".")
	stem = base[:i]
	if rest == "" {
		return stem, "", true
	}
	for _, part := range strings.Split(rest, ".") {
		if part == "" || strings.Trim(part, "0123456789") != "" {
			return stem, "", true
		}
	}
	if strings.Count(rest, ".") >= 1 {
		return stem, rest, true
	}
	return stem, "", true
}

// libraryProducts are the products whose library files are known by
// stem, and the package names that own their copies in each
// distribution: a file of such a package is the package's copy, not a
// vendored one.
var libraryProducts = map[string]string{
	"libz":      ProductZlib,
	"libssl":    ProductOpenSSL,
	"libcrypto": ProductOpenSSL,
}

// productPackages are the source packages that ship a product's own
// copy (Debian's zlib, Fedora's zlib, Alpine's zlib; openssl).
var productPackages = map[string][]string{
	ProductZlib:    {"zlib", "zlib-ng", "zlib1g"},
	ProductOpenSSL: {"openssl", "openssl3", "openssl-libs", "libssl3", "libcrypto3"},
}

// isProductPackage reports whether the package named (binary or source)
// is the product's own package.
func isProductPackage(product string, names ...string) bool {
	for _, p := range productPackages[product] {
		for _, n := range names {
			if n == p {
				return true
			}
		}
	}
	return false
}
