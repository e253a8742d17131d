package deftest

import (
	"fmt"
	"testing/fstest"
)

// App returns the name and the definition of application i (app0000,
// app0001, …) as an administrator writes one for a web application: an
// image, a command, environment, a socket on port 20000+i, a read-only
// volume, resource limits, a restart policy, a dependency and wanted_by.
func App(i int) (string, *Definition) {
	name := fmt.Sprintf("app%04d", i)
	d := New(fmt.Sprintf("registry.example.com/team/%s:1.%d", name, i)).
		Comment(name+": a web application").
		Container(`command = ["serve", "--port", "80"]`,
			`environment = { TZ = "UTC", APP = "`+name+`" }`).
		Table("[[socket]]", fmt.Sprintf(`listen = "127.0.0.1:%d"`, 20000+i), "port = 80").
		Table("[[volume]]", `source = "/srv/`+name+`"`, `target = "/data"`, "read_only = true").
		Table("[resources]", `memory_max = "512M"`, `cpu_quota = "50%"`).
		Table("[service]", `restart = "on-failure"`, `after = ["db"]`, `wanted_by = ["multi-user.target"]`)
	return name, d
}

// AppDropIn is the drop-in every application of Apps has in /etc: a higher
// memory limit and one more environment variable.
func AppDropIn() *Definition {
	return DropIn().
		Table("[resources]", `memory_max = "1G"`).
		Table("[container]", `environment = { LOG_LEVEL = "debug" }`)
}

// Apps returns n applications (App) as a host keeps them, by their path
// below /: half in /etc/dockah/containers and half in
// /usr/lib/dockah/containers, each with the drop-in AppDropIn in
// /etc/dockah/containers/NAME.toml.d/10-local.toml. The generator's and
// the shim's benchmarks load them.
func Apps(n int) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := range n {
		dir := etc
		if i%2 == 1 {
			dir = lib
		}
		name, d := App(i)
		fsys[dir+"/"+name+".toml"] = d.File()
		fsys[etc+"/"+name+".toml.d/10-local.toml"] = AppDropIn().File()
	}
	return fsys
}
