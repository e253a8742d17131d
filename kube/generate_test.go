package kube

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/dockah/dockah/unitgen"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// contribDefinitions loads every definition of contrib/units; a template
// as its default instance.
func contribDefinitions(t *testing.T) map[string]*unitgen.Definition {
	t.Helper()
	files, err := filepath.Glob("../contrib/units/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no contrib definitions: %v", err)
	}
	defs := map[string]*unitgen.Definition{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".toml")
		def, err := unitgen.Parse(name, unitgen.File{Path: f, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if def.IsTemplate() {
			name += def.Service.DefaultInstance
			if def, err = unitgen.Parse(name, unitgen.File{Path: f, Data: data}); err != nil {
				t.Fatal(err)
			}
		}
		defs[name] = def
	}
	return defs
}

// validateK8s decodes every document of a generated stream strictly into
// the Kubernetes API types: what kubectl apply would refuse fails here.
func validateK8s(t *testing.T, stream []byte) {
	t.Helper()
	docs, err := splitDocuments(stream)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		var tm TypeMeta
		if err := yaml.Unmarshal(d.text, &tm); err != nil {
			t.Fatalf("document %d: %v", i+1, err)
		}
		var target any
		switch tm.Kind {
		case "Pod":
			target = &corev1.Pod{}
		case "Service":
			target = &corev1.Service{}
		case "PersistentVolumeClaim":
			target = &corev1.PersistentVolumeClaim{}
		case "Deployment":
			target = &appsv1.Deployment{}
		default:
			t.Fatalf("document %d: kind %q", i+1, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(d.text, target); err != nil {
			t.Errorf("document %d (%s) is not valid for the Kubernetes API: %v\n%s", i+1, tm.Kind, err, d.text)
		}
		checkK8sRules(t, target)
	}
}

// checkK8sRules checks what the API server validates beyond the types:
// names, ports, a Deployment's restart policy and selector.
func checkK8sRules(t *testing.T, obj any) {
	t.Helper()
	var spec *corev1.PodSpec
	switch o := obj.(type) {
	case *corev1.Pod:
		spec = &o.Spec
		if !isLabel(o.Name) {
			t.Errorf("Pod name %q", o.Name)
		}
	case *appsv1.Deployment:
		spec = &o.Spec.Template.Spec
		if o.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
			t.Errorf("Deployment %s: restartPolicy %s", o.Name, o.Spec.Template.Spec.RestartPolicy)
		}
		for k, v := range o.Spec.Selector.MatchLabels {
			if o.Spec.Template.Labels[k] != v {
				t.Errorf("Deployment %s: selector does not match the template", o.Name)
			}
		}
	case *corev1.Service:
		for _, p := range o.Spec.Ports {
			if p.Port < 1 || p.TargetPort.IntValue() < 1 || (len(o.Spec.Ports) > 1 && p.Name == "") {
				t.Errorf("Service %s: port %+v", o.Name, p)
			}
		}
	}
	if spec == nil {
		return
	}
	vols := map[string]bool{}
	for _, v := range spec.Volumes {
		if !isLabel(v.Name) || vols[v.Name] {
			t.Errorf("volume name %q", v.Name)
		}
		vols[v.Name] = true
	}
	for _, c := range spec.Containers {
		if !isLabel(c.Name) || c.Image == "" {
			t.Errorf("container %q image %q", c.Name, c.Image)
		}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				t.Errorf("container %s mounts %s, not a volume", c.Name, m.Name)
			}
		}
		for _, p := range c.Ports {
			if p.Name != "" && !isPortName(p.Name) {
				t.Errorf("port name %q", p.Name)
			}
		}
	}
	for k := range annotationsOf(obj) {
		name, ok := strings.CutPrefix(k, AnnotationPrefix)
		if ok && (len(name) > 63 || !keyPattern.MatchString(name)) {
			t.Errorf("annotation key %q", k)
		}
	}
}

func annotationsOf(obj any) map[string]string {
	switch o := obj.(type) {
	case *corev1.Pod:
		return o.Annotations
	case *appsv1.Deployment:
		return o.Spec.Template.Annotations
	case *corev1.Service:
		return o.Annotations
	}
	return nil
}

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./kube -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", p, diff)
	}
}

func warningsText(ws []Warning) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString("# warning: " + w.String() + "\n")
	}
	return b.String()
}

// TestGenerateContrib: every contrib definition, as a Pod with a Service
// and as a Deployment, is valid for the Kubernetes API, the same twice,
// and as the golden file says.
func TestGenerateContrib(t *testing.T) {
	for name, def := range contribDefinitions(t) {
		for _, typ := range []string{TypePod, TypeDeployment} {
			t.Run(name+"/"+typ, func(t *testing.T) {
				opts := Options{Type: typ, Service: true}
				out, warnings, err := Generate([]*unitgen.Definition{def}, opts)
				if err != nil {
					t.Fatal(err)
				}
				again, _, _ := Generate([]*unitgen.Definition{def}, opts)
				if !bytes.Equal(out, again) {
					t.Error("two runs differ")
				}
				validateK8s(t, out)
				golden(t, "generate/"+name+"-"+typ+".yaml", append([]byte(warningsText(warnings)), out...))
			})
		}
	}
}

// TestGenerateNetworkIsOnePod: definitions on one network are one Pod
// whose hostAliases give their names to localhost.
func TestGenerateNetworkIsOnePod(t *testing.T) {
	web := mustParse(t, "web", `[container]
image = "dockah/nginx:latest"
network = "shop"
aliases = ["www"]
[[socket]]
listen = "127.0.0.1:8081"
port = 80
`)
	cache := mustParse(t, "cache", `[container]
image = "dockah/memcached:latest"
network = "shop"
`)
	lonely := mustParse(t, "lonely", "[container]\nimage = \"hello\"\n")
	out, warnings, err := Generate([]*unitgen.Definition{web, cache, lonely}, Options{Service: true})
	if err != nil {
		t.Fatal(err)
	}
	validateK8s(t, out)
	golden(t, "generate/network.yaml", append([]byte(warningsText(warnings)), out...))
	objs, _, err := Parse("network.yaml", out)
	if err != nil {
		t.Fatal(err)
	}
	var pods []string
	for _, o := range objs {
		if o.Pod != nil {
			pods = append(pods, o.Name())
		}
	}
	if diff := cmp.Diff([]string{"lonely", "shop"}, pods); diff != "" {
		t.Errorf("Pods (-want +got):\n%s", diff)
	}
}

func mustParse(t *testing.T, name, text string) *unitgen.Definition {
	t.Helper()
	d, err := unitgen.Parse(name, unitgen.File{Path: "/etc/dockah/containers/" + name + ".toml", Data: []byte(text)})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestGeneratePortClash: two containers of one network on one port
// cannot be one Pod, and the error says why.
func TestGeneratePortClash(t *testing.T) {
	a := mustParse(t, "a", "[container]\nimage = \"x\"\nnetwork = \"n\"\n[[socket]]\nlisten = \"8080\"\nport = 80\n")
	b := mustParse(t, "b", "[container]\nimage = \"y\"\nnetwork = \"n\"\n[[socket]]\nlisten = \"8081\"\nport = 80\n")
	_, _, err := Generate([]*unitgen.Definition{a, b}, Options{})
	if err == nil || !strings.Contains(err.Error(), "share one network namespace") {
		t.Fatalf("got %v", err)
	}
}
