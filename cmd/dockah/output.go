package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// Output formats of the listing commands.
const (
	formatTable = "table"
	formatJSON  = "json"
)

// outputFormat is a --format flag: "table" or "json".
type outputFormat string

func (f *outputFormat) String() string { return string(*f) }
func (f *outputFormat) Type() string   { return "FORMAT" }

func (f *outputFormat) Set(s string) error {
	switch s {
	case formatTable, formatJSON:
		*f = outputFormat(s)
		return nil
	}
	return fmt.Errorf("%q is not a format (accepted: %s, %s)", s, formatTable, formatJSON)
}

// addFormatFlag adds --format to cmd, "table" by default, with completion.
func addFormatFlag(cmd *cobra.Command, f *outputFormat) {
	*f = formatTable
	cmd.Flags().Var(f, "format", "output as a `table` or as json")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{formatTable, formatJSON}, cobra.ShellCompDirectiveNoFileComp))
}

// writeJSON prints v as indented JSON, as `image inspect` does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable returns the tab writer every table of the CLI uses: columns
// three spaces apart, headers in capitals.
func newTable(w io.Writer, headers ...string) *tabwriter.Writer {
	tw := newAligned(w)
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	return tw
}

// newAligned returns a tab writer that aligns columns as newTable's, for
// a table whose header is printed by the caller.
func newAligned(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
}

// humanDuration prints an uptime the way people say it: "45s", "12m",
// "3h20m", "2d4h".
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// cpuTime prints CPU time used, in seconds with a precision that fits.
func cpuTime(nsec uint64) string {
	s := float64(nsec) / 1e9
	switch {
	case s < 10:
		return fmt.Sprintf("%.2fs", s)
	case s < 3600:
		return fmt.Sprintf("%.0fs", s)
	}
	return humanDuration(time.Duration(nsec))
}
