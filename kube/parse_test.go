package kube

import (
	"strings"
	"testing"
)

// billionLaughs is the YAML form of the XML attack: nine levels of
// aliases, each nine of the level below, 9^9 strings once expanded.
const billionLaughs = `apiVersion: v1
kind: ConfigMap
metadata:
  name: lol
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

const minimalPod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n"

// TestParseHostile: hostile and wrong manifests fail with an error that
// says what is wrong and where, quickly and without blowing up memory.
func TestParseHostile(t *testing.T) {
	for _, tc := range []struct {
		name, input, want string
	}{
		{"billion laughs", billionLaughs, "excessive aliasing"},
		{"huge document", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  k: " + strings.Repeat("x", MaxFileSize) + "\n", "larger than"},
		{"too many documents", strings.Repeat("---\n", MaxDocuments+2), "more than 1000 documents"},
		{"unknown kind", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n", `kind "Namespace" is not supported (accepted: Pod`},
		{"no kind", "apiVersion: v1\nmetadata: {name: x}\n", "no kind"},
		{"wrong apiVersion", "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: x}\n", `apiVersion "extensions/v1beta1" (accepted: apps/v1)`},
		{"unknown field", minimalPod + "    imagePolicy: Always\n", `unknown field "imagePolicy"`},
		{"duplicate key", "apiVersion: v1\nkind: Pod\nkind: Pod\n", "not valid YAML"},
		{"not a map", "- a\n- b\n", "not a Kubernetes object"},
		{"bad name", strings.Replace(minimalPod, "name: p", "name: ../etc", 1), "not a DNS-1123 label"},
		{"privileged", minimalPod + "    securityContext: {privileged: true}\n", "no privileged container"},
		{"escaping item path", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i}]\n  volumes:\n  - name: v\n    configMap:\n      name: m\n      items: [{key: k, path: ../../etc/passwd}]\n", "not a clean relative path"},
		{"second document line", minimalPod + "---\napiVersion: v1\nkind: Job\n", "x.yaml:10: document 2: kind \"Job\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse("x.yaml", []byte(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "x.yaml") {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

// TestPlayErrors: manifests that parse but cannot run here.
func TestPlayErrors(t *testing.T) {
	for _, tc := range []struct {
		name, input, want string
	}{
		{"missing ConfigMap", minimalPod + "    envFrom: [{configMapRef: {name: nope}}]\n", "no ConfigMap nope"},
		{"service targets nothing", minimalPod + "    ports: [{containerPort: 80, name: http}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {}\n  ports: [{port: 80, targetPort: web}]\n", ""},
		{"two Pods of a name", minimalPod + "---\n" + minimalPod, "the name is taken"},
		{"multi-line secret as env", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: \"a\\nb\"}\n---\n" + minimalPod + "    envFrom: [{secretRef: {name: s}}]\n", "line break"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, _, err := Parse("x.yaml", []byte(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Play(objs, testPlayOptions)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// FuzzParse: no input makes Parse or Play panic, and whatever Play
// accepts loads as a definition (Play checks it with unitgen.Parse) and
// stays below its directories.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimalPod))
	f.Add([]byte(billionLaughs))
	for _, s := range []string{
		minimalPod + "    ports: [{containerPort: 80, hostPort: 8080}]\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata: {a: b}\n---\n" + minimalPod + "    volumeMounts: [{name: v, mountPath: /v}]\n  volumes: [{name: v, configMap: {name: m}}]\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: i}]}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, _, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		plan, err := Play(objs, testPlayOptions)
		if err != nil {
			return
		}
		for _, file := range plan.Files {
			if !strings.HasPrefix(file.Path, testPlayOptions.DataDir+"/") || strings.Contains(file.Path, "/../") {
				t.Fatalf("file outside the data directory: %s", file.Path)
			}
		}
		for _, c := range plan.Containers {
			if c.Def == nil || c.Def.Name != c.Name {
				t.Fatalf("container %s: no definition", c.Name)
			}
		}
	})
}
