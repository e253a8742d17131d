package main

import (
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/dockah/dockah/unitgen"
)

// definitionJSON returns a merged definition as `inspect` prints it: keyed
// as the TOML is written (snake_case names of the schema), durations as
// systemd time spans, "infinity" for unlimited, modes in octal, and
// nothing for keys not set (booleans are always shown). It walks the
// Definition by reflection, so a key added to the schema shows up here
// without a change.
func definitionJSON(d *unitgen.Definition) map[string]any {
	v, _ := jsonValue(reflect.ValueOf(*d))
	m, _ := v.(map[string]any)
	return m
}

// tomlKeys renames the fields whose TOML key is not their snake_case name.
var tomlKeys = map[string]string{"sockets": "socket", "volumes": "volume"}

var (
	durationType = reflect.TypeFor[time.Duration]()
	modeType     = reflect.TypeFor[fs.FileMode]()
	argvType     = reflect.TypeFor[unitgen.Argv]()
)

// jsonValue converts one value; ok is false for a value not set, which
// still comes back converted (an empty table, an empty string).
func jsonValue(v reflect.Value) (any, bool) {
	switch v.Type() {
	case durationType:
		d := time.Duration(v.Int())
		if d == unitgen.Infinity {
			return "infinity", true
		}
		return d.String(), d != 0
	case modeType:
		return fmt.Sprintf("%#o", v.Uint()), v.Uint() != 0
	case argvType:
		argv := v.Interface().(unitgen.Argv)
		return append([]string{}, argv.Args...), argv.Set
	}
	switch v.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			// Fields that are not keys of the schema (json:"-", such
			// as Definition.Scope, the state of a run) are left out.
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			if val, ok := jsonValue(v.Field(i)); ok {
				key := snakeCase(f.Name)
				if k, renamed := tomlKeys[key]; renamed {
					key = k
				}
				m[key] = val
			}
		}
		return m, len(m) > 0
	case reflect.Slice:
		list := make([]any, 0, v.Len())
		for i := range v.Len() {
			// An element is shown even when it has nothing set.
			val, _ := jsonValue(v.Index(i))
			list = append(list, val)
		}
		return list, v.Len() > 0
	case reflect.Map:
		return v.Interface(), v.Len() > 0
	case reflect.String:
		return v.String(), v.String() != ""
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Int, reflect.Int64:
		return v.Int(), v.Int() != 0
	case reflect.Uint32, reflect.Uint64:
		if v.Uint() == unitgen.Unlimited {
			return "infinity", true
		}
		return v.Uint(), v.Uint() != 0
	}
	return v.Interface(), !v.IsZero()
}

// snakeCase turns a Go field name into the schema's key: CPUQuota is
// cpu_quota, SELinuxType selinux_type, NoNewPrivileges no_new_privileges.
func snakeCase(name string) string {
	name = strings.ReplaceAll(name, "SELinux", "Selinux")
	name = strings.ReplaceAll(name, "UserNS", "Userns")
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 {
			prevLower := unicode.IsLower(r[i-1])
			acronymEnd := unicode.IsUpper(r[i-1]) && i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || acronymEnd {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}
