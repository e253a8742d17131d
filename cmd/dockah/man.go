package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newManCommand writes the man pages, one per command, from the same
// help text `--help` prints. It is hidden: it is for packaging (the
// Makefile's man target), not for users.
//
// The pages are roff written here, not by cobra/doc: that links a
// Markdown library and a YAML one whose initialisation every run of the
// command would pay (0.35 ms of its 1.4 ms, GODEBUG=inittrace=1), for a
// command that runs once per package build.
func newManCommand(_ *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "man DIR",
		Short:  "Write the man pages (dockah.1, dockah-ps.1, ...) into DIR",
		Hidden: true,
		Example: `  dockah man man/
  man -l man/dockah-exec.1`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			header := manHeader{title: "DOCKAH", section: "1", date: time.Now().Format("Jan 2006"), source: "dockah " + version, manual: "dockah manual"}
			if err := writeManTree(c.Root(), header, args[0]); err != nil {
				return fmt.Errorf("write man pages into %s: %w", args[0], err)
			}
			return nil
		},
	}
}

// manHeader is a page's .TH line.
type manHeader struct {
	title, section, date, source, manual string
}

// writeManTree writes the page of cmd and of every command below it that
// a user can run.
func writeManTree(cmd *cobra.Command, h manHeader, dir string) error {
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() && !c.IsAdditionalHelpTopicCommand() {
			if err := writeManTree(c, h, dir); err != nil {
				return err
			}
		}
	}
	name := strings.ReplaceAll(cmd.CommandPath(), " ", "-")
	return os.WriteFile(filepath.Join(dir, name+"."+h.section), []byte(manPage(cmd, h)), 0o644)
}

// manPage is the roff of one command's page: name, synopsis, description,
// options, examples and the related pages.
func manPage(cmd *cobra.Command, h manHeader) string {
	cmd.InitDefaultHelpFlag()
	name := strings.ReplaceAll(cmd.CommandPath(), " ", "-")
	var b strings.Builder
	fmt.Fprintf(&b, ".nh\n.TH %q %q %q %q %q\n\n", h.title, h.section, h.date, h.source, h.manual)
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n\n", name, roffText(cmd.Short))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n\\fB%s\\fP\n\n", roffText(cmd.UseLine()))
	description := cmd.Long
	if description == "" {
		description = cmd.Short
	}
	b.WriteString(".SH DESCRIPTION\n")
	for i, para := range strings.Split(strings.TrimSpace(description), "\n\n") {
		if i > 0 {
			b.WriteString(".PP\n")
		}
		b.WriteString(roffText(para) + "\n")
	}
	manFlags(&b, "OPTIONS", cmd.NonInheritedFlags())
	manFlags(&b, "OPTIONS INHERITED FROM PARENT COMMANDS", cmd.InheritedFlags())
	if cmd.Example != "" {
		b.WriteString("\n.SH EXAMPLE\n.PP\n.RS\n.nf\n" + roffText(cmd.Example) + "\n.fi\n.RE\n")
	}
	var also []string
	if cmd.HasParent() {
		also = append(also, fmt.Sprintf("\\fB%s(%s)\\fP", strings.ReplaceAll(cmd.Parent().CommandPath(), " ", "-"), h.section))
	}
	children := slices.Clone(cmd.Commands())
	slices.SortFunc(children, func(a, b *cobra.Command) int { return strings.Compare(a.Name(), b.Name()) })
	for _, c := range children {
		if c.IsAvailableCommand() && !c.IsAdditionalHelpTopicCommand() {
			also = append(also, fmt.Sprintf("\\fB%s-%s(%s)\\fP", name, c.Name(), h.section))
		}
	}
	if len(also) > 0 {
		b.WriteString("\n.SH SEE ALSO\n" + strings.Join(also, ", ") + "\n")
	}
	return b.String()
}

// manFlags writes a section of flags, as --help lists them.
func manFlags(b *strings.Builder, title string, flags *pflag.FlagSet) {
	if !flags.HasAvailableFlags() {
		return
	}
	fmt.Fprintf(b, "\n.SH %s\n", title)
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Deprecated != "" {
			return
		}
		b.WriteString(".TP\n\\fB")
		if f.Shorthand != "" && f.ShorthandDeprecated == "" {
			b.WriteString("-" + f.Shorthand + "\\fP, \\fB")
		}
		def := "=" + f.DefValue
		if f.Value.Type() == "string" {
			def = fmt.Sprintf("=%q", f.DefValue)
		}
		if f.NoOptDefVal != "" {
			def = "[" + def + "]" // as in --quiet[=false]: the value is optional
		}
		fmt.Fprintf(b, "--%s\\fP%s\n%s\n", f.Name, roffText(def), roffText(f.Usage))
	})
}

// roffText escapes text for roff: backslashes, and the control
// characters a line may not start with.
func roffText(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}
