package main

import (
	"strings"
	"testing"

	"github.com/dockah/dockah/unitgen"
)

func TestBuildRunDefinition(t *testing.T) {
	o := runOptions{remove: true, publish: []string{"127.0.0.1:8080:80", "[::1]:53:5353"}, env: []string{"A=1", "B=x=y"}}
	data, err := buildRunDefinition(o, "nginx:latest", []string{"echo", `a "quoted" arg`})
	if err != nil {
		t.Fatal(err)
	}
	def, err := unitgen.Parse("run-x", unitgen.File{Path: "/run/dockah/run/run-x.toml", Data: data})
	if err != nil {
		t.Fatalf("the generated definition does not load: %v\n%s", err, data)
	}
	c := def.Container
	if c.Image != "nginx:latest" || !c.Ephemeral || strings.Join(c.Command.Args, "|") != `echo|a "quoted" arg` || c.Environment["B"] != "x=y" {
		t.Errorf("container %+v", c)
	}
	if len(def.Sockets) != 2 || def.Sockets[0].Listen != "127.0.0.1:8080" || def.Sockets[0].Port != 80 || def.Sockets[1].Listen != "[::1]:53" || def.Sockets[1].Port != 5353 {
		t.Errorf("sockets %+v", def.Sockets)
	}
	for _, bad := range []runOptions{{publish: []string{"8080"}}, {publish: []string{"80:http"}}, {env: []string{"=1"}}} {
		if _, err := buildRunDefinition(bad, "x", nil); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}
