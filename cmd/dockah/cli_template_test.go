package main

import (
	"bytes"
	"testing"
)

func TestRowFormat(t *testing.T) {
	type row struct {
		Name  string
		Count int
		Tags  []string
	}
	rows := []row{{"web", 3, []string{"a", "b"}}, {"database", 12, nil}}
	tests := []struct{ format, want string }{
		{`{{.Name}}\t{{.Count}}`, "web\t3\ndatabase\t12\n"},
		{`{{.Name}}={{.Count}}\n`, "web=3\ndatabase=12\n"},
		{"{{json .}}", `{"Name":"web","Count":3,"Tags":["a","b"]}` + "\n" + `{"Name":"database","Count":12,"Tags":null}` + "\n"},
		{"table {{.Name}} {{.Count}}", "NAME       N\nweb        3\ndatabase   12\n"},
		{`table {{.Name}}\t{{.Count}}`, "NAME       N\nweb        3\ndatabase   12\n"},
		// Only blanks between two actions separate columns.
		{"table {{.Name}}: {{.Count}}", "NAME: N\nweb: 3\ndatabase: 12\n"},
		// A header cannot run a function on a list: no header line.
		{`table {{.Name}} {{join .Tags ","}}`, "web        a,b\ndatabase   \n"},
	}
	for _, tt := range tests {
		f := newRowFormat(row{}, map[string]string{"Name": "NAME", "Count": "N"}, "{{.Name}}")
		if err := f.Set(tt.format); err != nil {
			t.Errorf("Set(%q): %v", tt.format, err)
			continue
		}
		var out bytes.Buffer
		if err := f.execute(&out, rows); err != nil {
			t.Errorf("%q: %v", tt.format, err)
		}
		if out.String() != tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.format, out.String(), tt.want)
		}
	}
	f := newRowFormat(row{}, nil, "{{.Name}}")
	for _, bad := range []string{"yaml", "{{.Missing}}", "{{.Name"} {
		if err := f.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	if err := f.Set("json"); err != nil || f.isTemplate() || f.String() != "json" {
		t.Errorf("Set(json): %v %v", err, f.isTemplate())
	}
}
