package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"text/tabwriter"
	"text/template"
)

// templateFuncs are the functions a --format template may call, as in
// podman's: join a list, print a value as JSON.
var templateFuncs = template.FuncMap{
	"join": strings.Join,
	"json": func(v any) (string, error) {
		data, err := json.Marshal(v)
		return string(data), err
	},
}

// parseFormatTemplate parses a --format Go template and runs it once on
// sample, so that a template naming a field rows do not have fails when
// the flag is parsed, not after the work is done (or only when there is
// a row). example is a template to suggest.
func parseFormatTemplate(s string, sample any, example string) (*template.Template, error) {
	if !strings.Contains(s, "{{") {
		return nil, fmt.Errorf("%q is not a format (accepted: %s, %s, or a Go template such as '%s')", s, formatTable, formatJSON, example)
	}
	t, err := template.New("format").Funcs(templateFuncs).Parse(s)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if err := t.Execute(io.Discard, sample); err != nil {
		return nil, fmt.Errorf("check template: %w", err)
	}
	return t, nil
}

// rowFormat is the --format of a command that prints rows of R: "table",
// "json", or a Go template run on each row, as podman's --format is. A
// template that starts with "table " prints a header line first and
// aligns the columns: the spaces or tabs between two actions ("{{.A}}
// {{.B}}" or "{{.A}}\t{{.B}}") separate them.
type rowFormat[R any] struct {
	name  string             // "table", "json" or the template as given
	text  string             // the template as parsed
	tmpl  *template.Template // nil for table and json
	table bool               // the template started with "table "
	// headers are the column headers of R's fields, for "table ...".
	headers map[string]string
	sample  R
	example string
}

// newRowFormat returns a format, "table" until set, whose templates run
// on rows like sample.
func newRowFormat[R any](sample R, headers map[string]string, example string) rowFormat[R] {
	return rowFormat[R]{name: formatTable, headers: headers, sample: sample, example: example}
}

func (f *rowFormat[R]) String() string { return f.name }
func (f *rowFormat[R]) Type() string   { return "FORMAT" }

// columnGap is the text between two actions of a "table" template.
var columnGap = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\}\}(?:[ \t]|\\t)+\{\{`) })

// Set accepts table, json, or a template that runs on the sample row.
func (f *rowFormat[R]) Set(s string) error {
	switch s {
	case formatTable, formatJSON:
		f.name, f.text, f.tmpl, f.table = s, "", nil, false
		return nil
	}
	text, table := strings.CutPrefix(s, "table ")
	if table {
		text = columnGap().ReplaceAllString(text, "}}\t{{")
	}
	// As podman's: \t and \n typed in a shell's quotes are a tab and a
	// newline.
	text = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(text)
	t, err := parseFormatTemplate(text, f.sample, f.example)
	if err != nil {
		return err
	}
	f.name, f.text, f.tmpl, f.table = s, text, t, table
	return nil
}

// isTemplate reports whether the format is a Go template.
func (f *rowFormat[R]) isTemplate() bool { return f.tmpl != nil }

// execute prints the rows through the template, a line each, after a
// header line and aligned for a "table" template.
func (f *rowFormat[R]) execute(w io.Writer, rows []R) error {
	out := w
	var tw *tabwriter.Writer
	if f.table {
		tw = newAligned(w)
		out = tw
		if header, ok := f.header(); ok {
			fmt.Fprintln(out, header)
		}
	}
	for _, r := range rows {
		if err := f.tmpl.Execute(out, r); err != nil {
			return fmt.Errorf("format: %w", err)
		}
		if !strings.HasSuffix(f.text, "\n") {
			fmt.Fprintln(out)
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// header runs the template on the column headers, each field of R
// standing for its own header; ok is false when the template cannot run
// on text (a function that wants a list).
func (f *rowFormat[R]) header() (string, bool) {
	names := map[string]string{}
	rt := reflect.TypeFor[R]()
	for i := range rt.NumField() {
		name := rt.Field(i).Name
		names[name] = f.headers[name]
		if names[name] == "" {
			names[name] = strings.ToUpper(name)
		}
	}
	var buf bytes.Buffer
	if err := f.tmpl.Execute(&buf, names); err != nil {
		return "", false
	}
	return strings.TrimSuffix(buf.String(), "\n"), true
}
