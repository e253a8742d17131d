//go:build !lean

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dockah/dockah/inventory"
	"github.com/dockah/dockah/inventory/vulndb"
	"github.com/dockah/dockah/rootfs"
)

// Exit statuses of image audit, for scripts.
const (
	auditAffected = 1 // a vulnerability matches
	auditFailed   = 2 // the audit could not be made
	auditUnknown  = 3 // nothing matches, but something could not be told
)

type auditOptions struct {
	dbs     []string
	format  outputFormat
	sysroot string
}

func newImageAuditCommand(opts *globalOptions) *cobra.Command {
	ao := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit [IMAGE...] --db PATH",
		Short: "Match the images' inventories against vulnerability data (OSV, Debian's security tracker)",
		Long: `Match what the images carry (see image packages; every image of the store
without IMAGE arguments) against vulnerability data you download, given
with --db (repeatable):

  OSV records: a .json file, a directory of them, or the zip OSV publishes
    per ecosystem (Debian, Alpine, Go, Rocky Linux, ... /all.zip)
  Debian's security tracker JSON (security-tracker.debian.org/tracker/data/json)

Versions compare by each ecosystem's rules: Debian's (epochs, ~), RPM's,
Alpine's and Go's semantic versions. Debian packages are looked up by their
source package in the image's release (bookworm), as the tracker and OSV
key them; copies outside packages (a vendored libz.so, a static zlib) by
the upstream versions OSV lists for the project.

Each line is a CVE, the package and its version, the fixed version ("-"
when none is known), the image and the containers using it. An image
without a package database is "unknown": never reported clean. So is a
copy whose version could not be told.

Exit status: 0 nothing matches and everything was known, 1 a vulnerability
matches, 2 the audit failed, 3 nothing matches but something is unknown.`,
		Example: `  dockah image audit --db debian-tracker.json --db Debian-all.zip
  dockah image audit dockah/nginx --db osv/ --format json`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(ao.dbs) == 0 {
				return auditFailure(c, errors.New("no vulnerability data: give --db PATH (OSV records or Debian's tracker JSON)"))
			}
			status, err := runAudit(c, opts, ao, args)
			if err != nil {
				return auditFailure(c, err)
			}
			if status != 0 {
				return exitStatusError{status}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&ao.dbs, "db", nil, "vulnerability data: an OSV file, directory or zip, or Debian's tracker JSON (repeatable, required)")
	// A bad flag is a failed audit (2), not a finding (1).
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return auditFailure(c, err) })
	addFormatFlag(cmd, &ao.format)
	addSysrootFlag(cmd, &ao.sysroot)
	return cmd
}

// auditFailure says why the audit could not be made and exits with 2.
func auditFailure(c *cobra.Command, err error) error {
	fmt.Fprintf(c.ErrOrStderr(), "dockah: %v\n", err)
	return exitStatusError{auditFailed}
}

// auditedImage is an image's part of the audit.
type auditedImage struct {
	Image string   `json:"image"`
	Names []string `json:"names"`
	// Status is "affected", "clean" or "unknown".
	Status string `json:"status"`
	// Unknown says why the status is unknown.
	Unknown    string             `json:"unknown,omitempty"`
	Findings   []vulndb.Finding   `json:"findings"`
	Containers []containerOfImage `json:"containers"`
}

// auditReport is the JSON of image audit.
type auditReport struct {
	Images []auditedImage `json:"images"`
	// Data says what was read of the vulnerability data.
	Data []string `json:"data"`
}

func runAudit(c *cobra.Command, opts *globalOptions, ao *auditOptions, args []string) (int, error) {
	st, err := openStore(opts)
	if err != nil {
		return 0, err
	}
	list, err := auditedImages(st, args)
	if err != nil {
		return 0, err
	}
	invs, err := inventories(st, list, io.Discard)
	if err != nil {
		return 0, err
	}
	names := map[string]bool{}
	for _, inv := range invs {
		if inv != nil {
			for n := range vulndb.Names(inv) {
				names[n] = true
			}
		}
	}
	db, err := vulndb.Load(ao.dbs, func(n string) bool { return names[n] })
	if err != nil {
		return 0, err
	}
	users := imageUsersByID(c.Context(), st, os.DirFS(ao.sysroot), c.ErrOrStderr())
	report := auditReport{Images: []auditedImage{}, Data: db.Read}
	for i, s := range list {
		report.Images = append(report.Images, auditImage(s, invs[i], db, nonNil(users[s.ID])))
	}
	if ao.format == formatJSON {
		err = writeJSONText(c.OutOrStdout(), report)
	} else {
		err = printAudit(c.OutOrStdout(), report.Images)
	}
	if err != nil {
		return 0, err
	}
	status, summary := auditStatus(report.Images)
	if !opts.quiet {
		fmt.Fprintln(c.ErrOrStderr(), summary)
	}
	return status, nil
}

// auditedImages are the images args name, or every image of the store.
func auditedImages(st *rootfs.Store, args []string) ([]rootfs.Summary, error) {
	list, err := st.List()
	if err != nil || len(args) == 0 {
		return list, err
	}
	byID := map[string]rootfs.Summary{}
	for _, s := range list {
		byID[s.ID] = s
	}
	var out []rootfs.Summary
	var errs []error
	for _, a := range args {
		img, err := st.Resolve(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, byID[img.ID])
	}
	return out, errors.Join(errs...)
}

func auditImage(s rootfs.Summary, inv *inventory.Inventory, db *vulndb.DB, users []containerOfImage) auditedImage {
	a := auditedImage{Image: s.ID, Names: referenceStrings(s.Names), Findings: []vulndb.Finding{}, Containers: users}
	if inv == nil {
		a.Status, a.Unknown = vulndb.Unknown, "no inventory could be made"
		return a
	}
	a.Findings = nonNil(db.Match(inv))
	a.Status = "clean"
	for _, f := range a.Findings {
		if f.Status == vulndb.Unknown && a.Status == "clean" {
			a.Status, a.Unknown = vulndb.Unknown, "a copy's version is unknown"
		}
	}
	if !inv.HasDatabase() && a.Status == "clean" {
		a.Status, a.Unknown = vulndb.Unknown, "no package database"
	}
	for _, f := range a.Findings {
		if f.Status == vulndb.Affected {
			a.Status = vulndb.Affected
		}
	}
	if a.Status == vulndb.Affected && !inv.HasDatabase() {
		a.Unknown = "no package database: only what is outside packages was matched"
	}
	return a
}

func printAudit(w io.Writer, images []auditedImage) error {
	tw := newTable(w, "CVE", "STATUS", "PACKAGE", "INSTALLED", "FIXED", "IMAGE", "CONTAINERS", "FOUND IN")
	for _, a := range images {
		image := shortDigest(a.Image)
		if len(a.Names) > 0 {
			image = a.Names[0]
		}
		var users []string
		for _, u := range a.Containers {
			users = append(users, u.String())
		}
		containers := orDash(strings.Join(users, ", "))
		for _, f := range a.Findings {
			fmt.Fprintf(tw, "%s\t%s\t%s (%s)\t%s\t%s\t%s\t%s\t%s\n", f.CVE, f.Status, f.Package.Name, f.Package.Type,
				f.Installed, orDash(f.Fixed), image, containers, foundColumn(f.Package.Found))
		}
		if a.Status == vulndb.Unknown && len(a.Findings) == 0 || a.Unknown != "" && a.Status == vulndb.Affected {
			fmt.Fprintf(tw, "-\t%s\t(%s)\t-\t-\t%s\t%s\t-\n", vulndb.Unknown, a.Unknown, image, containers)
		}
	}
	return tw.Flush()
}

// auditStatus is the exit status of an audit and its one-line summary.
func auditStatus(images []auditedImage) (int, string) {
	affected, unknown, findings := 0, 0, 0
	for _, a := range images {
		findings += len(a.Findings)
		switch {
		case a.Status == vulndb.Affected:
			affected++
		case a.Status == vulndb.Unknown:
			unknown++
		}
		if a.Status == vulndb.Affected && a.Unknown != "" {
			unknown++
		}
	}
	summary := fmt.Sprintf("%s in %d of %s, %d unknown", plural(findings, "finding", "findings"),
		affected, plural(len(images), "image", "images"), unknown)
	switch {
	case affected > 0:
		return auditAffected, summary
	case unknown > 0:
		return auditUnknown, summary
	}
	return 0, summary
}
