package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"sigs.k8s.io/yaml"
)

// Limits on a manifest file: it is hostile input, and a single host has
// no use for more.
const (
	// MaxFileSize is the largest manifest file Parse reads.
	MaxFileSize = 4 << 20
	// MaxDocuments is the most documents of one file.
	MaxDocuments = 1000
)

// Kinds Parse accepts, with their apiVersion.
var kinds = map[string]string{
	"Pod":                   "v1",
	"Service":               "v1",
	"ConfigMap":             "v1",
	"Secret":                "v1",
	"PersistentVolumeClaim": "v1",
	"Deployment":            "apps/v1",
}

const acceptedKinds = "Pod, Deployment (apps/v1), Service, ConfigMap, Secret, PersistentVolumeClaim (v1)"

// Object is one document of a manifest: exactly one of the pointers is set.
type Object struct {
	// File and Line are where the document starts; Doc counts from 1.
	File string
	Line int
	Doc  int

	Pod        *Pod
	Deployment *Deployment
	Service    *Service
	ConfigMap  *ConfigMap
	Secret     *Secret
	Claim      *PersistentVolumeClaim
}

// Kind returns the object's kind.
func (o Object) Kind() string {
	switch {
	case o.Pod != nil:
		return "Pod"
	case o.Deployment != nil:
		return "Deployment"
	case o.Service != nil:
		return "Service"
	case o.ConfigMap != nil:
		return "ConfigMap"
	case o.Secret != nil:
		return "Secret"
	default:
		return "PersistentVolumeClaim"
	}
}

func (o Object) meta() *ObjectMeta {
	switch {
	case o.Pod != nil:
		return &o.Pod.Metadata
	case o.Deployment != nil:
		return &o.Deployment.Metadata
	case o.Service != nil:
		return &o.Service.Metadata
	case o.ConfigMap != nil:
		return &o.ConfigMap.Metadata
	case o.Secret != nil:
		return &o.Secret.Metadata
	default:
		return &o.Claim.Metadata
	}
}

// Name returns the object's metadata.name.
func (o Object) Name() string { return o.meta().Name }

// where is how errors and warnings name the object.
func (o Object) where() string {
	return fmt.Sprintf("%s:%d: %s %s", o.File, o.Line, o.Kind(), o.Name())
}

// Warning is something of a manifest or definition that dockah does not
// carry over as it is; it is printed, never dropped silently.
type Warning struct {
	Where string // FILE:LINE: KIND NAME, or the definition's name
	Msg   string
}

func (w Warning) String() string { return w.Where + ": " + w.Msg }

// Parse reads the documents of one manifest file strictly: an unknown
// field, kind or apiVersion is an error naming the file, the line where
// the document starts and what is accepted. Fields that a cluster uses
// and one host has no use for (nodeSelector, tolerations, status...) come
// back as warnings. Empty documents are skipped.
func Parse(file string, data []byte) ([]Object, []Warning, error) {
	if len(data) > MaxFileSize {
		return nil, nil, fmt.Errorf("%s: %d bytes: larger than %d (a manifest of one host's Pods is far smaller)", file, len(data), MaxFileSize)
	}
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	var objs []Object
	var warnings []Warning
	var errs []error
	for i, d := range docs {
		o := Object{File: file, Line: d.line, Doc: i + 1}
		ok, err := decode(d.text, &o)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: document %d: %w", file, d.line, i+1, err))
			continue
		}
		if !ok {
			continue
		}
		if err := validate(o); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o.where(), err))
			continue
		}
		if ns := o.meta().Namespace; ns != "" && ns != "default" {
			warnings = append(warnings, Warning{o.where(), fmt.Sprintf("namespace %q: one host has one namespace", ns)})
		}
		for _, f := range objectIgnored(o) {
			warnings = append(warnings, Warning{o.where(), f + ": has no meaning on one host, ignored"})
		}
		objs = append(objs, o)
	}
	return objs, warnings, errors.Join(errs...)
}

// document is one YAML document and the line it starts on.
type document struct {
	text []byte
	line int
}

// splitDocuments splits a multi-document YAML stream at its "---" lines,
// as kubectl does. A "---" inside a block scalar would have to be
// indented, so a line that starts with it always separates documents.
func splitDocuments(data []byte) ([]document, error) {
	var docs []document
	cur := document{line: 1}
	var buf bytes.Buffer
	line := 0
	for len(data) > 0 {
		line++
		l, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		trimmed := bytes.TrimRight(l, " \t\r")
		if bytes.Equal(trimmed, []byte("---")) || bytes.HasPrefix(l, []byte("--- ")) {
			cur.text = bytes.Clone(buf.Bytes())
			docs = append(docs, cur)
			buf.Reset()
			cur = document{line: line + 1}
			if len(docs) > MaxDocuments {
				return nil, fmt.Errorf("more than %d documents", MaxDocuments)
			}
			if after := bytes.TrimPrefix(trimmed, []byte("---")); len(bytes.TrimSpace(after)) > 0 {
				buf.Write(bytes.TrimSpace(after))
				buf.WriteByte('\n')
				cur.line = line
			}
			continue
		}
		if bytes.Equal(trimmed, []byte("...")) {
			continue
		}
		buf.Write(l)
		buf.WriteByte('\n')
	}
	cur.text = buf.Bytes()
	docs = append(docs, cur)
	return docs, nil
}

// decode decodes one document into o; false for an empty document.
func decode(text []byte, o *Object) (bool, error) {
	j, err := yaml.YAMLToJSONStrict(text)
	if err != nil {
		return false, fmt.Errorf("not valid YAML: %w", err)
	}
	if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
		return false, nil
	}
	var tm TypeMeta
	if err := json.Unmarshal(j, &tm); err != nil {
		return false, fmt.Errorf("not a Kubernetes object (a map with apiVersion and kind): %w", err)
	}
	want, known := kinds[tm.Kind]
	switch {
	case tm.Kind == "":
		return false, fmt.Errorf("no kind (accepted: %s)", acceptedKinds)
	case !known:
		return false, fmt.Errorf("kind %q is not supported (accepted: %s)", tm.Kind, acceptedKinds)
	case tm.APIVersion != want:
		return false, fmt.Errorf("%s: apiVersion %q (accepted: %s)", tm.Kind, tm.APIVersion, want)
	}
	var target any
	switch tm.Kind {
	case "Pod":
		o.Pod = new(Pod)
		target = o.Pod
	case "Deployment":
		o.Deployment = new(Deployment)
		target = o.Deployment
	case "Service":
		o.Service = new(Service)
		target = o.Service
	case "ConfigMap":
		o.ConfigMap = new(ConfigMap)
		target = o.ConfigMap
	case "Secret":
		o.Secret = new(Secret)
		target = o.Secret
	case "PersistentVolumeClaim":
		o.Claim = new(PersistentVolumeClaim)
		target = o.Claim
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(target); err != nil {
		return false, fmt.Errorf("%s: %w (dockah reads the fields one host can honour: see docs/kube.md)", tm.Kind, err)
	}
	return true, nil
}

// objectIgnored lists the Ignored fields set in o, as JSON paths.
func objectIgnored(o Object) []string {
	switch {
	case o.Pod != nil:
		return ignoredFields(reflect.ValueOf(o.Pod.Spec), "spec")
	case o.Deployment != nil:
		return ignoredFields(reflect.ValueOf(o.Deployment.Spec), "spec")
	case o.Service != nil:
		return ignoredFields(reflect.ValueOf(o.Service.Spec), "spec")
	}
	return nil
}

var ignoredType = reflect.TypeFor[Ignored]()

// ignoredFields walks v and returns the paths of the Ignored fields set.
func ignoredFields(v reflect.Value, path string) []string {
	var out []string
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			out = ignoredFields(v.Elem(), path)
		}
	case reflect.Slice:
		for i := range v.Len() {
			out = append(out, ignoredFields(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Struct:
		if v.Type() == ignoredType {
			if v.Interface().(Ignored).IsSet() {
				out = append(out, path)
			}
			return out
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || !f.IsExported() {
				continue
			}
			out = append(out, ignoredFields(v.Field(i), path+"."+name)...)
		}
	}
	return out
}
