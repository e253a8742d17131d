package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dockah/dockah/rootfs"
	"github.com/spf13/cobra"
)

// imageListOptions are the flags of `image ls`.
type imageListOptions struct {
	digests, quiet, noTrunc, all bool
	format                       listFormat
}

func newImageListCommand(opts *globalOptions) *cobra.Command {
	lo := &imageListOptions{format: listFormat{name: formatTable}}
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List images: name, tag, ID, created, size and the size shared with other images",
		Long: `List images: a table with a line per name (an image without one shows
<none>), -q the image IDs only, one line per image, or --format json (an array
of objects: id, names, digests, created, size, sharedSize; sizes in bytes,
created in RFC 3339 or null).

--format also takes a Go template, applied to each image as podman's does,
with the fields ID, Names, Digests (lists: {{join .Names ","}}), Created,
Size and SharedSize, as the table shows them. IDs are 12 hex digits unless
--no-trunc.

The images dockah build made for each step (its cache, without a name)
are left out unless -a.`,
		Example: `  dockah image ls
  dockah image ls -q --no-trunc
  dockah image ls --format '{{.ID}} {{join .Names ","}}'
  dockah --root /srv/dockah image ls --format json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := openStore(opts)
			if err != nil {
				return err
			}
			list, err := st.List()
			if err != nil {
				return err
			}
			if !lo.all {
				if list, err = withoutIntermediates(st, list); err != nil {
					return err
				}
			}
			return printImages(c.OutOrStdout(), list, lo)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&lo.all, "all", "a", false, "also list the intermediate images of dockah build (its cache)")
	fl.BoolVar(&lo.digests, "digests", false, "show the manifest digest each name was pulled or pushed by")
	fl.BoolVarP(&lo.quiet, "quiet", "q", false, "print only the image IDs, one per image")
	fl.BoolVar(&lo.noTrunc, "no-trunc", false, "print full image IDs (sha256:...)")
	fl.Var(&lo.format, "format", "output as a `table`, as json, or through a Go template")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{formatTable, formatJSON}, cobra.ShellCompDirectiveNoFileComp))
	cmd.MarkFlagsMutuallyExclusive("quiet", "format")
	return cmd
}

// printImages prints the listing in the form lo asks for.
func printImages(w io.Writer, list []rootfs.Summary, lo *imageListOptions) error {
	switch {
	case lo.quiet:
		for _, s := range list {
			fmt.Fprintln(w, imageID(s.ID, lo.noTrunc))
		}
		return nil
	case lo.format.tmpl != nil:
		return lo.format.execute(w, list, lo.noTrunc)
	case lo.format.name == formatJSON:
		return writeJSON(w, listedImages(list))
	}
	return printImageTable(w, list, lo)
}

// printImageTable prints a line per name of each image.
func printImageTable(w io.Writer, list []rootfs.Summary, lo *imageListOptions) error {
	headers := []string{"NAME", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED"}
	if lo.digests {
		headers = slices.Insert(headers, 2, "DIGEST")
	}
	tw := newTable(w, headers...)
	for _, s := range list {
		names := s.Names
		if len(names) == 0 {
			names = []rootfs.Reference{{Name: "<none>", Tag: "<none>"}}
		}
		for _, n := range names {
			digest := ""
			if lo.digests {
				digest = nameDigest(s, n.Name) + "\t"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s%s\t%s\t%s\t%s\n", n.Name, n.Tag, digest, imageID(s.ID, lo.noTrunc),
				created(s.Image), humanSize(s.Size), humanSize(s.SharedSize))
		}
	}
	return tw.Flush()
}

// nameDigest is the manifest digest the image was pulled or pushed by
// under name, or <none>.
func nameDigest(s rootfs.Summary, name string) string {
	for _, d := range s.Digests {
		if d.Name == name {
			return d.Digest
		}
	}
	return "<none>"
}

// imageID is an image ID as listings print it: the first 12 hex digits,
// or all of it with "sha256:" when not truncated.
func imageID(id string, noTrunc bool) string {
	if noTrunc {
		return id
	}
	return strings.TrimPrefix(id, "sha256:")[:12]
}

func created(img *rootfs.Image) string { return createdAt(img.Config.Created) }

func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// inspected is what `image inspect` prints for one image.
type inspected struct {
	ID    string   `json:"id"`
	Names []string `json:"names"`
	// Digests are NAME@DIGEST: the manifest digests the image was pulled
	// or pushed by (podman's RepoDigests).
	Digests []string         `json:"digests"`
	Stored  time.Time        `json:"stored"`
	Config  json.RawMessage  `json:"config"`
	Layers  []inspectedLayer `json:"layers"`
}

type inspectedLayer struct {
	DiffID  string `json:"diffID"`
	Dir     string `json:"dir"`
	Size    int64  `json:"size"`
	TarSize int64  `json:"tarSize"`
}

func newImageInspectCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect IMAGE...",
		Short: "Print images' config and layers as JSON",
		Example: `  dockah image inspect nginx:1.25
  dockah image inspect nginx:1.25 | jq '.[0].config.config.Env'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := openStore(opts)
			if err != nil {
				return err
			}
			list, err := st.List()
			if err != nil {
				return err
			}
			var out []inspected
			for _, ref := range args {
				img, err := st.Resolve(ref)
				if err != nil {
					return err
				}
				in := inspect(st, img, nil)
				for _, s := range list {
					if s.ID == img.ID {
						in.Names, in.Digests = referenceStrings(s.Names), referenceStrings(s.Digests)
					}
				}
				out = append(out, in)
			}
			enc := json.NewEncoder(c.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
}

func inspect(st *rootfs.Store, img *rootfs.Image, names []string) inspected {
	in := inspected{ID: img.ID, Names: names, Digests: []string{}, Stored: img.Stored, Config: img.RawConfig, Layers: []inspectedLayer{}}
	if in.Names == nil {
		in.Names = []string{}
	}
	for _, l := range img.Layers {
		info, _ := st.LayerInfo(l.DiffID)
		in.Layers = append(in.Layers, inspectedLayer{DiffID: l.DiffID, Dir: l.Dir, Size: info.Size, TarSize: info.TarSize})
	}
	return in
}

func referenceStrings(rs []rootfs.Reference) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

func namesByID(st *rootfs.Store) (map[string][]string, error) {
	list, err := st.List()
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, s := range list {
		for _, n := range s.Names {
			out[s.ID] = append(out[s.ID], n.String())
		}
	}
	return out, nil
}

// withoutIntermediates leaves out the unnamed images of the build cache,
// as docker images and podman images leave out intermediate images.
func withoutIntermediates(st *rootfs.Store, list []rootfs.Summary) ([]rootfs.Summary, error) {
	cached, err := st.CachedImageIDs()
	if err != nil || len(cached) == 0 {
		return list, err
	}
	return slices.DeleteFunc(list, func(s rootfs.Summary) bool {
		return cached[s.ID] && len(s.Names) == 0 && len(s.Digests) == 0
	}), nil
}
