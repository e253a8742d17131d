package main

import (
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"

	"github.com/dockah/dockah/rootfs"
)

// listFormat is the --format of `image ls`: "table", "json", or a Go
// template applied to each image, as podman's --format is.
type listFormat struct {
	name string             // "table", "json" or the template's text
	tmpl *template.Template // nil for table and json
}

func (f *listFormat) String() string { return f.name }
func (f *listFormat) Type() string   { return "FORMAT" }

// Set accepts table, json, or a template that runs on an image: a
// template naming a field images do not have fails here, not after the
// store was read (and not only when the store has an image).
func (f *listFormat) Set(s string) error {
	switch s {
	case formatTable, formatJSON:
		f.name, f.tmpl = s, nil
		return nil
	}
	t, err := parseFormatTemplate(s, sampleRow, "{{.ID}} {{.Names}}")
	if err != nil {
		return err
	}
	f.name, f.tmpl = s, t
	return nil
}

// imageRow is an image as a --format template sees it: what the table
// shows, with its names and digests as lists.
type imageRow struct {
	ID         string
	Names      []string
	Digests    []string
	Created    string
	Size       string
	SharedSize string
}

// sampleRow is what Set tries a template on.
var sampleRow = imageRow{
	ID:         "0123456789ab",
	Names:      []string{"docker.io/library/example:latest"},
	Digests:    []string{"docker.io/library/example@sha256:" + strings.Repeat("0", 64)},
	Created:    "2025-01-01 00:00:00",
	Size:       "1.0 MiB",
	SharedSize: "0 B",
}

// execute prints each image through the template, a line each.
func (f *listFormat) execute(w io.Writer, list []rootfs.Summary, noTrunc bool) error {
	for _, s := range list {
		row := imageRow{
			ID:         imageID(s.ID, noTrunc),
			Names:      referenceStrings(s.Names),
			Digests:    referenceStrings(s.Digests),
			Created:    created(s.Image),
			Size:       humanSize(s.Size),
			SharedSize: humanSize(s.SharedSize),
		}
		if err := f.tmpl.Execute(w, row); err != nil {
			return fmt.Errorf("format image %s: %w", imageID(s.ID, false), err)
		}
		if !strings.HasSuffix(f.name, "\n") {
			fmt.Fprintln(w)
		}
	}
	return nil
}

// listedImage is an image in `image ls --format json`.
type listedImage struct {
	ID      string   `json:"id"`
	Names   []string `json:"names"`
	Digests []string `json:"digests"`
	// Created is from the image config; null when the config has none.
	Created    *time.Time `json:"created"`
	Size       int64      `json:"size"`
	SharedSize int64      `json:"sharedSize"`
}

// listedImages is the JSON form of a listing: an array, empty and not
// null for an empty store.
func listedImages(list []rootfs.Summary) []listedImage {
	out := make([]listedImage, 0, len(list))
	for _, s := range list {
		out = append(out, listedImage{
			ID:         s.ID,
			Names:      referenceStrings(s.Names),
			Digests:    referenceStrings(s.Digests),
			Created:    s.Image.Config.Created,
			Size:       s.Size,
			SharedSize: s.SharedSize,
		})
	}
	return out
}
