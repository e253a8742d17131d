package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RPMDatabase records a package name-version-release owning the one
// file in a new rpm database, with Debian's rpm tools as an rpm
// distribution's would (rpmbuild, then rpm --justdb; SQLite, rpm's
// default since 4.16), and returns the database's path. It skips
// without rpm and rpmbuild (Debian package rpm).
func RPMDatabase(t testing.TB, name, version, release, file string) string {
	t.Helper()
	RequireCommand(t, "rpm", "rpmbuild")
	top := t.TempDir()
	spec := "Name: " + name + "\nVersion: " + version + "\nRelease: " + release + "\nSummary: test\nLicense: Zlib\nBuildArch: x86_64\n" +
		"%description\ntest\n%install\nmkdir -p %{buildroot}" + filepath.Dir(file) + "\necho test > %{buildroot}" + file + "\n%files\n" + file + "\n"
	specFile := filepath.Join(top, name+".spec")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("rpmbuild", "--define", "_topdir "+top, "--define", "__os_install_post %{nil}", "--define", "debug_package %{nil}", "-bb", specFile)
	rpms, _ := filepath.Glob(filepath.Join(top, "RPMS/*/*.rpm"))
	if len(rpms) != 1 {
		t.Fatalf("rpmbuild made %v", rpms)
	}
	root := filepath.Join(top, "root")
	run("rpm", "--root", root, "--define", "_db_backend sqlite", "--dbpath", "/var/lib/rpm", "-i", "--nodeps", "--justdb", "--ignorearch", rpms[0])
	return filepath.Join(root, "var/lib/rpm/rpmdb.sqlite")
}
