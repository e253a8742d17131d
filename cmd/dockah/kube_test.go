package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestKubeGenerateContrib: `dockah kube generate` of every definition of
// contrib/units (postgres@ as postgres@main), as Pods with Services and
// as Deployments, decodes strictly into the Kubernetes API types, and
// lists on standard error what it kept in annotations.
func TestKubeGenerateContrib(t *testing.T) {
	sysroot := t.TempDir()
	dir := filepath.Join(sysroot, "etc/dockah/containers")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../contrib/units/*.toml")
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".toml")
		if strings.HasSuffix(name, "@") {
			name += "main"
		}
		names = append(names, name)
	}
	if len(names) < 8 {
		t.Fatalf("contrib/units has %d definitions", len(names))
	}
	root, _ := newTestStore(t)
	for _, flags := range [][]string{{"--service"}, {"--type", "deployment", "--service"}} {
		cmd := newRootCommand()
		var stdout, stderr bytes.Buffer
		cmd.SetOut(&stdout)
		cmd.SetErr(&stderr)
		cmd.SetArgs(append(append([]string{"--root", root, "kube", "generate", "--sysroot", sysroot}, flags...), names...))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("kube generate %v: %v\n%s", flags, err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "kept as annotation dockah.io/tasks_max") {
			t.Errorf("no warnings on standard error:\n%s", stderr.String())
		}
		kinds := map[string]int{}
		for i, doc := range strings.Split(stdout.String(), "\n---\n") {
			var meta struct{ Kind string }
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				t.Fatalf("document %d: %v", i+1, err)
			}
			var obj any
			switch meta.Kind {
			case "Pod":
				obj = &corev1.Pod{}
			case "Service":
				obj = &corev1.Service{}
			case "PersistentVolumeClaim":
				obj = &corev1.PersistentVolumeClaim{}
			case "Deployment":
				obj = &appsv1.Deployment{}
			default:
				t.Fatalf("document %d: kind %q", i+1, meta.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Errorf("document %d (%s) is not valid for the Kubernetes API: %v\n%s", i+1, meta.Kind, err, doc)
			}
			kinds[meta.Kind]++
		}
		workloads := kinds["Pod"] + kinds["Deployment"]
		// Every definition has a TCP socket but worker (none) and
		// postgres@main (a unix socket, kept in an annotation).
		if workloads != len(names) || kinds["Service"] != len(names)-2 {
			t.Errorf("%v: %v for %d definitions", flags, kinds, len(names))
		}
	}
}
