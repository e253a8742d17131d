//go:build !lean

package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      string // part of the error, when one is wanted
	}{
		{name: "nginx", in: `-g "daemon off;"`, want: []string{"-g", "daemon off;"}},
		{name: "empty value", in: "", want: nil},
		{name: "only blanks", in: " \t\n ", want: nil},
		{name: "plain words", in: "  /bin/sh\t-c  \n true ", want: []string{"/bin/sh", "-c", "true"}},
		{name: "empty single quotes", in: "''", want: []string{""}},
		{name: "empty double quotes", in: `""`, want: []string{""}},
		{name: "empty words between others", in: `a '' "" b`, want: []string{"a", "", "", "b"}},
		{name: "adjacent parts", in: `a"b c"'d'`, want: []string{"ab cd"}},
		{name: "empty part joins nothing", in: `a''b ""c`, want: []string{"ab", "c"}},
		{name: "single quotes keep all", in: `'a\b "c" $d \'`, want: []string{`a\b "c" $d \`}},
		{name: "single quotes keep newlines", in: "'a\nb'", want: []string{"a\nb"}},
		{name: "double quote escapes", in: `"\" \\ \$ \` + "`" + `"`, want: []string{"\" \\ $ `"}},
		{name: "double quotes keep other backslashes", in: `"\a\n\'"`, want: []string{`\a\n\'`}},
		{name: "double quotes drop backslash newline", in: "\"a\\\nb\"", want: []string{"ab"}},
		{name: "double quotes keep single quotes", in: `"it's"`, want: []string{"it's"}},
		{name: "single quotes keep double quotes", in: `'say "hi"'`, want: []string{`say "hi"`}},
		{name: "backslash escapes a blank", in: `a\ b c`, want: []string{"a b", "c"}},
		{name: "backslash escapes quotes", in: `\'\"\\`, want: []string{`'"\`}},
		{name: "backslash escapes any character", in: `\a\$\*`, want: []string{"a$*"}},
		{name: "backslash newline continues", in: "a\\\nb \\\n c", want: []string{"ab", "c"}},
		{name: "backslash newline alone is no word", in: "\\\n", want: nil},
		{name: "no expansion", in: `echo $HOME ${X} $(id) ` + "`id`" + ` *.txt ~ # a;b | c`, want: []string{"echo", "$HOME", "${X}", "$(id)", "`id`", "*.txt", "~", "#", "a;b", "|", "c"}},
		{name: "carriage return is not a blank", in: "a\r b", want: []string{"a\r", "b"}},
		{name: "UTF-8", in: `'héllo wörld' 日本`, want: []string{"héllo wörld", "日本"}},
		{name: "JSON array", in: ` ["/bin/sh", "-c", "echo \"hi\""] `, want: []string{"/bin/sh", "-c", `echo "hi"`}},
		{name: "empty JSON array", in: `[]`, want: []string{}},
		{name: "quoted bracket is a word", in: `'[' -f /x ]`, want: []string{"[", "-f", "/x", "]"}},
		{name: "bad JSON", in: `[ -f /x ]`, err: "not a JSON array of strings"},
		{name: "JSON of numbers", in: `[1]`, err: "not a JSON array of strings"},
		{name: "unclosed double quote", in: `-g "daemon off;`, err: `the " at position 4 is not closed`},
		{name: "unclosed single quote", in: `a 'b`, err: `the ' at position 3 is not closed`},
		{name: "escaped quote does not close", in: `"a\"`, err: `the " at position 1 is not closed`},
		{name: "single quote inside double does not close", in: `"a' b`, err: `the " at position 1 is not closed`},
		{name: "position counts characters", in: `é "x`, err: `the " at position 3 is not closed`},
		{name: "position counts leading blanks", in: `  'x`, err: `the ' at position 3 is not closed`},
		{name: "backslash at the end", in: `a\`, err: `the \ at position 2 escapes nothing`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := words(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("words(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("words(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("words(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// TestImageConfigNamesTheFlag checks that an error says which flag it is
// about, and that --cmd and --entrypoint are split alike.
func TestImageConfigNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		flags importFlags
		err   string
	}{
		{importFlags{cmd: `-g "daemon off;`}, `--cmd: the " at position 4 is not closed`},
		{importFlags{entrypoint: `/bin/sh 'x`}, `--entrypoint: the ' at position 9 is not closed`},
	} {
		if _, err := tc.flags.imageConfig(); err == nil || err.Error() != tc.err {
			t.Errorf("%+v: got %v, want %s", tc.flags, err, tc.err)
		}
	}
	f := importFlags{entrypoint: "/usr/sbin/nginx", cmd: `-g "daemon off;"`}
	cfg, err := f.imageConfig()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/usr/sbin/nginx"}, cfg.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"-g", "daemon off;"}, cfg.Cmd); diff != "" {
		t.Errorf("cmd (-want +got):\n%s", diff)
	}
}

// The ways a shell user may quote words, each to be split back to the
// same words.
var shellJoins = map[string]func(string) string{
	// 'it'\''s': the quoting that works for any bytes.
	"single": func(w string) string {
		return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	},
	// "...", escaping the four characters a backslash escapes there.
	"double": func(w string) string {
		var b strings.Builder
		b.WriteByte('"')
		for i := 0; i < len(w); i++ {
			if strings.IndexByte("$`\"\\", w[i]) >= 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(w[i])
		}
		b.WriteByte('"')
		return b.String()
	},
	// A backslash before every byte but a newline, which a backslash
	// would remove (a line continuation), so it is quoted.
	"backslash": func(w string) string {
		if w == "" {
			return "''"
		}
		var b strings.Builder
		for i := 0; i < len(w); i++ {
			if w[i] == '\n' {
				b.WriteString("'\n'")
				continue
			}
			b.WriteByte('\\')
			b.WriteByte(w[i])
		}
		return b.String()
	},
}

func FuzzWords(f *testing.F) {
	for _, seed := range []string{
		`-g "daemon off;"`, `''`, `a"b c"'d'`, `"\" \\ \$ \` + "`" + `"`, "a\\\nb",
		`'it'\''s'`, `["a", "b c"]`, `[`, `a\`, `"`, `'`, "\t\n ", `é "x`, "\x00\xff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := words(s)
		if err != nil {
			return
		}
		for name, quote := range shellJoins {
			quoted := make([]string, len(got))
			for i, w := range got {
				quoted[i] = quote(w)
			}
			joined := strings.Join(quoted, " ")
			again, err := words(joined)
			if err != nil {
				t.Fatalf("words(%q) = %q; %s quoting %q: %v", s, got, name, joined, err)
			}
			if diff := cmp.Diff(got, again, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("words(%q) = %q; %s quoting %q splits to another (-first +again):\n%s", s, got, name, joined, diff)
			}
		}
	})
}
