package unitgen

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// splitWords splits a value as systemd's extract_first_word does with
// EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE (ExecStart=, LogExtraFields=): words
// separated by blanks, "..." and '...' quoting, C escapes. It is the
// reference the escaping is tested against.
func splitWords(s string) ([]string, error) {
	var words []string
	for {
		s = strings.TrimLeft(s, " \t\n\r")
		if s == "" {
			return words, nil
		}
		var w strings.Builder
		var quote byte
		for s != "" {
			c := s[0]
			switch {
			case c == '\\':
				r, n, err := cUnescapeOne(s[1:])
				if err != nil {
					return nil, err
				}
				w.WriteString(r)
				s = s[1+n:]
				continue
			case quote != 0 && c == quote:
				quote = 0
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
			case quote == 0 && strings.IndexByte(" \t\n\r", c) >= 0:
				goto done
			default:
				w.WriteByte(c)
			}
			s = s[1:]
		}
		if quote != 0 {
			return nil, errors.New("unbalanced quotes")
		}
	done:
		words = append(words, w.String())
	}
}

// cUnescapeOne decodes the escape after a backslash, as systemd's
// cunescape_one does, and returns it and the bytes it used.
func cUnescapeOne(s string) (string, int, error) {
	if s == "" {
		return "", 0, errors.New("unbalanced escape")
	}
	if i := strings.IndexByte(`abfnrtv\"'s`, s[0]); i >= 0 {
		return string("\a\b\f\n\r\t\v\\\"' "[i]), 1, nil
	}
	n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[0]]
	if n == 0 || len(s) < 1+n {
		return "", 0, errors.New("unknown escape")
	}
	v, err := strconv.ParseUint(s[1:1+n], 16, 32)
	if err != nil || v == 0 {
		return "", 0, errors.New("bad escape")
	}
	if s[0] == 'x' {
		return string([]byte{byte(v)}), 3, nil
	}
	return string(rune(v)), 1 + n, nil
}

// unspecify undoes specifiers for a unit that is no template.
func unspecify(s string) string { return strings.ReplaceAll(s, "%%", "%") }

func TestWordRoundTrip(t *testing.T) {
	for _, s := range []string{
		"web", "web\\x2d1", "has space", `quote"s`, "tab\there", "new\nline",
		"single'quote", "", "$HOME", "%i", "100%", "ünïcödé", "\x7f", "a;b", ";",
	} {
		checkWord(t, s)
	}
}

func checkWord(t *testing.T, s string) {
	t.Helper()
	for _, tc := range []struct {
		name    string
		escaped string
		undo    func(string) string
	}{
		{"word", word(specifiers(s, false)), unspecify},
		{"execWord", execWord(specifiers(s, false)), func(w string) string {
			return unspecify(strings.ReplaceAll(w, "$$", "$"))
		}},
	} {
		if strings.ContainsAny(tc.escaped, "\n\r") {
			t.Errorf("%s(%q) = %q has a line break", tc.name, s, tc.escaped)
		}
		if s == ";" && tc.name == "execWord" {
			if tc.escaped != `\;` {
				t.Errorf("execWord(\";\") = %q, want \\;", tc.escaped)
			}
			continue
		}
		words, err := splitWords(tc.escaped)
		if err != nil || len(words) != 1 {
			t.Errorf("%s(%q) = %q splits into %q, %v; want one word", tc.name, s, tc.escaped, words, err)
			continue
		}
		if got := tc.undo(words[0]); got != s {
			t.Errorf("%s(%q) = %q reads back as %q", tc.name, s, tc.escaped, got)
		}
	}
}

// FuzzWord checks that every escaped word reads back as itself.
func FuzzWord(f *testing.F) {
	for _, s := range []string{"web", "a b", `"x"`, "\\", "%i%%", "$x", "\x01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return // definitions reject both
		}
		checkWord(t, s)
	})
}

func TestSpecifiers(t *testing.T) {
	for _, tc := range []struct {
		in       string
		template bool
		want     string
	}{
		{"plain", false, "plain"},
		{"50%", false, "50%%"},
		{"%i", false, "%%i"},
		{"%i-%%-%n-%", true, "%i-%%-%%n-%%"},
		{"%", true, "%%"},
	} {
		if got := specifiers(tc.in, tc.template); got != tc.want {
			t.Errorf("specifiers(%q, %v) = %q, want %q", tc.in, tc.template, got, tc.want)
		}
	}
}

func TestExpandSpecifiers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"web-%i", "web-blue"},
		{"100%%", "100%"},
		{"50%", "50%"},
		{"%%i", "%i"},
		{"%n %", "%n %"},
	} {
		if got := expandSpecifiers(tc.in, "blue"); got != tc.want {
			t.Errorf("expandSpecifiers(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	got := text("a\nb\\", false) + "|" + text(" 5% ", true)
	if diff := cmp.Diff("a b|5%%", got); diff != "" {
		t.Error(diff)
	}
}
