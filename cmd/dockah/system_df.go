package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// dfRow is a line of system df as a --format template sees it, with
// podman's field names.
type dfRow struct {
	Type           string // "Images", "Containers", "Local Volumes"
	Total          int
	Active         int
	Size           string // "281MB"
	Reclaimable    string // "168MB (59%)"
	RawSize        int64
	RawReclaimable int64
}

var dfHeaders = map[string]string{
	"Type": "TYPE", "Total": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE",
	"RawSize": "SIZE", "RawReclaimable": "RECLAIMABLE",
}

func newDfFormat() rowFormat[dfRow] {
	return newRowFormat(dfRow{Type: "Images"}, dfHeaders, "{{.Type}} {{.Size}}")
}

// rows are the three lines of system df.
func (du *diskUsage) rows() []dfRow {
	return []dfRow{
		summaryRow("Images", du.Images.usageSummary),
		summaryRow("Containers", du.Containers.usageSummary),
		summaryRow("Local Volumes", du.Volumes.usageSummary),
	}
}

func summaryRow(kind string, s usageSummary) dfRow {
	return dfRow{
		Type: kind, Total: s.Total, Active: s.Active,
		Size: decimalSize(uint64(s.Size)), Reclaimable: reclaimable(s.Reclaimable, s.Size),
		RawSize: s.Size, RawReclaimable: s.Reclaimable,
	}
}

// reclaimable is "168MB (59%)", as podman prints it.
func reclaimable(n, of int64) string {
	p := 0
	if of > 0 {
		p = int(float64(n)/float64(of)*100 + 0.5)
	}
	return fmt.Sprintf("%s (%d%%)", decimalSize(uint64(n)), p)
}

// printDf prints the summary table.
func printDf(w io.Writer, du *diskUsage) error {
	tw := newTable(w, "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE")
	for _, r := range du.rows() {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", r.Type, r.Total, r.Active, r.Size, r.Reclaimable)
	}
	return tw.Flush()
}

// printDfVerbose prints a table per kind, an item a line, as podman's
// system df -v.
func printDfVerbose(w io.Writer, du *diskUsage) error {
	fmt.Fprint(w, "Images space usage:\n\n")
	tw := newTable(w, "NAME", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "USED BY")
	for _, img := range du.Images.Items {
		names := img.Names
		if len(names) == 0 {
			names = []string{"<none>"}
		}
		for _, n := range names {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n, imageID(img.ID, false), createdAt(img.Created),
				decimalSize(uint64(img.Size)), decimalSize(uint64(img.SharedSize)), decimalSize(uint64(img.UniqueSize)), describeUsers(img.UsedBy))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprint(w, "\nContainers space usage:\n\n")
	tw = newTable(w, "NAME", "IMAGE ID", "SIZE", "STATE", "DEFINITION")
	for _, c := range du.Containers.Items {
		image := "-"
		if strings.HasPrefix(c.Image, "sha256:") && len(c.Image) >= 19 {
			image = imageID(c.Image, false)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, image, decimalSize(uint64(c.Size)), c.State, orDash(c.Definition))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprint(w, "\nLocal Volumes space usage:\n\n")
	tw = newTable(w, "VOLUME NAME", "LINKS", "SIZE", "USED BY")
	for _, v := range du.Volumes.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Name, strconv.Itoa(len(v.UsedBy)), decimalSize(uint64(v.Size)), describeUsers(v.UsedBy))
	}
	return tw.Flush()
}

// createdAt is an image's creation time as image ls prints it.
func createdAt(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.DateTime)
}
