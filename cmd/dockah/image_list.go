package main

import (
	"encoding/json"
	"fmt"

	"text/tabwriter"
	"time"

	"github.com/dockah/dockah/rootfs"
	"github.com/spf13/cobra"
)

func newImageListCommand(opts *globalOptions) *cobra.Command {
	var digests bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List images: name, tag, ID, created, size and the size shared with other images",
		Example: `  dockah image ls
  dockah --root /srv/dockah image ls`,
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
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 3, ' ', 0)
			digestColumn := ""
			if digests {
				digestColumn = "DIGEST\t"
			}
			fmt.Fprintln(tw, "NAME\tTAG\t"+digestColumn+"IMAGE ID\tCREATED\tSIZE\tSHARED")
			for _, s := range list {
				names := s.Names
				if len(names) == 0 {
					names = []rootfs.Reference{{Name: "<none>", Tag: "<none>"}}
				}
				for _, n := range names {
					digest := ""
					if digests {
						digest = "<none>\t"
						for _, d := range s.Digests {
							if d.Name == n.Name {
								digest = d.Digest + "\t"
								break
							}
						}
					}
					fmt.Fprintf(tw, "%s\t%s\t%s%s\t%s\t%s\t%s\n", n.Name, n.Tag, digest, s.ID[7:19],
						created(s.Image), humanSize(s.Size), humanSize(s.SharedSize))
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&digests, "digests", false, "show the manifest digest each name was pulled or pushed by")
	return cmd
}

func created(img *rootfs.Image) string {
	if img.Config.Created == nil {
		return "-"
	}
	return img.Config.Created.UTC().Format(time.DateTime)
}

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
