package unitgen

import (
	"strconv"
	"strings"
)

// Values written into unit files go through these functions. systemd reads
// a unit file line by line, expands specifiers ("%n", "%i"; "%%" is a
// literal "%") in most values, splits some of them into words with C-style
// quoting (ExecStart=, LogExtraFields=), and expands "$VAR" in ExecStart=.
// Which function applies depends on the directive; the golden tests run
// systemd-analyze verify on the results.

// specifiers escapes "%" for a directive that expands specifiers. A
// template's values keep "%i" (its instance) and "%%" as the definition
// wrote them; everywhere else every "%" is literal.
func specifiers(s string, template bool) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if template && i+1 < len(s) && (s[i+1] == 'i' || s[i+1] == '%') {
			b.WriteString(s[i : i+2])
			i++
			continue
		}
		b.WriteString("%%")
	}
	return b.String()
}

// execWord quotes s as one word of ExecStart=, after specifiers: "$" is
// doubled, since ExecStart= expands "$VAR", and a lone ";" (which would end
// the command) is escaped.
func execWord(s string) string {
	if s == ";" {
		return `\;`
	}
	return word(strings.ReplaceAll(s, "$", "$$"))
}

// word quotes s as one word of a word list (LogExtraFields=), after
// specifiers: systemd's extract_first_word with unquoting and C unescaping
// gives s back.
func word(s string) string {
	if s != "" && !strings.ContainsFunc(s, needsQuote) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f {
				b.WriteString(`\x`)
				b.WriteString(strconv.FormatUint(uint64(r)>>4, 16))
				b.WriteString(strconv.FormatUint(uint64(r)&0xf, 16))
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func needsQuote(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '"' || r == '\'' || r == '\\'
}

// text makes free text (a Description=) safe for one line of a unit file:
// control characters become blanks, a trailing backslash (which would join
// the next line) is dropped, and specifiers are escaped.
func text(s string, template bool) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimRight(strings.TrimSpace(s), `\`)
	return specifiers(s, template)
}

// comment makes text safe for a comment line: nothing in it may end the
// line.
func comment(s string) string {
	if hasControl(s) {
		return strconv.Quote(s)
	}
	return s
}
