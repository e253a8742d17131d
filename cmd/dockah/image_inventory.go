//go:build !lean

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dockah/dockah/inventory"
	"github.com/dockah/dockah/rootfs"
)

// inventoryCommands are the image commands that say what images carry:
// packages, which and audit (and the hidden reader of rpm databases they
// run as a child).
func inventoryCommands(opts *globalOptions) []*cobra.Command {
	return []*cobra.Command{
		newImagePackagesCommand(opts),
		newImageWhichCommand(opts),
		newImageAuditCommand(opts),
		newReadRPMDBCommand(),
	}
}

type packagesOptions struct {
	format outputFormat
}

func newImagePackagesCommand(opts *globalOptions) *cobra.Command {
	po := &packagesOptions{}
	cmd := &cobra.Command{
		Use:   "packages IMAGE",
		Short: "List what an image carries: packages, Go modules, vendored and static libraries",
		Long: `List the software in IMAGE, read from its layers as the container sees them:

  deb       dpkg's /var/lib/dpkg/status (and status.d/ of distroless images):
            the binary package, its source package and version
  rpm       the rpm database (SQLite, NDB or Berkeley DB)
  apk       apk's /lib/apk/db/installed
  golang    every Go binary's modules and Go version ("stdlib"), from its build info
  library   a shared library (lib*.so*) that no package owns: a vendored copy;
            its version from its version strings (zlib, OpenSSL) or its file name
  embedded  a library linked into another file, found by the version strings it
            carries: zlib's "deflate 1.x.y Copyright", OpenSSL's "OpenSSL 3.0.11 ..."

Each entry says where it was found: the database or file, and the layer
that holds it. The inventory is computed once per set of layers and kept
in the store (ROOT/inventory); a second run reads it back.

An image without a package database says so: what is outside packages is
still listed, but nothing can be said of the rest.

--format json prints the inventory with a package URL (purl) per entry.`,
		Example: `  dockah image packages dockah/nginx
  dockah image packages --format json web:1 | jq -r '.packages[].purl'`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeImages(opts),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := openStore(opts)
			if err != nil {
				return err
			}
			img, err := st.Resolve(args[0])
			if err != nil {
				return err
			}
			inv, _, err := inventory.Of(st, img, inventoryOptions())
			if err != nil {
				return err
			}
			warnInventory(c.ErrOrStderr(), args[0], inv)
			if po.format == formatJSON {
				return writeJSONText(c.OutOrStdout(), imageInventory{Image: img.ID, Inventory: inv})
			}
			return printPackages(c.OutOrStdout(), inv)
		},
	}
	addFormatFlag(cmd, &po.format)
	return cmd
}

// imageInventory is the JSON of `image packages`.
type imageInventory struct {
	Image string `json:"image"`
	*inventory.Inventory
}

// inventoryOptions are the scan's options: rpm databases are read by
// this program run again as a child (dockah image read-rpmdb).
func inventoryOptions() inventory.Options {
	var o inventory.Options
	if exe, err := os.Executable(); err == nil {
		o.RPM = inventory.IsolatedRPM(exe, "image", "read-rpmdb")
	}
	return o
}

// writeJSONText prints v as indented JSON, leaving &, < and > as they
// are (package URLs have &).
func writeJSONText(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// warnInventory says what an inventory cannot tell.
func warnInventory(w io.Writer, image string, inv *inventory.Inventory) {
	for _, db := range inv.Databases {
		if db.Error != "" {
			fmt.Fprintf(w, "dockah: %s: %s: %s\n", image, db.Path, db.Error)
		}
	}
	if !inv.HasDatabase() {
		fmt.Fprintf(w, "dockah: %s has no package database that could be read: only what is outside packages is listed\n", image)
	}
	for _, n := range inv.Notes {
		fmt.Fprintf(w, "dockah: %s: %s\n", image, n)
	}
}

// printPackages prints an inventory as a table.
func printPackages(w io.Writer, inv *inventory.Inventory) error {
	tw := newTable(w, "TYPE", "NAME", "VERSION", "SOURCE", "FOUND IN", "LAYER")
	for _, p := range inv.Packages {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Type, p.Name, p.Version, orDash(sourceColumn(p)), foundColumn(p.Found), shortDigest(p.Found.Layer))
	}
	return tw.Flush()
}

// sourceColumn is the source package when it is not the package itself.
func sourceColumn(p inventory.Package) string {
	if p.Source == p.Name {
		return ""
	}
	s := p.Source
	if p.SourceVersion != "" && p.SourceVersion != p.Version {
		s += " " + p.SourceVersion
	}
	return s
}

// foundColumn says where an entry was found: the file, and for what
// is not a database entry, how.
func foundColumn(f inventory.Found) string {
	switch f.How {
	case inventory.FromDpkg, inventory.FromRPM, inventory.FromAPK, inventory.FromGoBuildInfo:
		return f.Path
	}
	s := f.Path + " (" + f.How
	if f.Package != "" {
		s += ", in package " + f.Package
	}
	return s + ")"
}

// shortDigest is the first 12 hex digits of a digest.
func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return d[:12]
	}
	return orDash(d)
}

func newReadRPMDBCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "read-rpmdb PATH",
		Short:   "Read an rpm database and print its packages as JSON (the child that image packages runs)",
		Example: "  dockah image read-rpmdb /var/lib/dockah/inventory/rpmdb-123",
		Hidden:  true,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return inventory.ServeRPM(args[0], c.OutOrStdout())
		},
	}
}

// completeImages completes the names of the store's images.
func completeImages(opts *globalOptions) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		st, err := rootfs.Open(opts.storeRoot)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		list, err := st.List()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, s := range list {
			for _, n := range s.Names {
				names = append(names, n.String())
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
