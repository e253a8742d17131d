// Package imageconfig holds the parts of an OCI image configuration
// (application/vnd.oci.image.config.v1+json) that dockah reads to run a
// container: what the image runs, and its layers.
//
// The shim and the lean CLI decode image configurations with these types
// rather than with image-spec's: image-spec's digest type comes from
// go-digest, which compiles five regular expressions when it is
// initialised, at every start of every program that links it (0.1 to 0.4
// ms of each container start, bench/results/RUN-PATH.md). Only the
// commands that pull, build, commit and save images link image-spec:
// they check a configuration with its types (or make it with Docker's)
// before the store keeps it, and the fields these types leave out are
// not looked at again.
package imageconfig

import "time"

// Config is what the image runs ("config" in an image configuration).
// Its fields are image-spec's ImageConfig's, with the same types in the
// same order, so that either converts to the other.
type Config struct {
	User         string              `json:"User,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	Volumes      map[string]struct{} `json:"Volumes,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
	StopSignal   string              `json:"StopSignal,omitempty"`
	ArgsEscaped  bool                `json:"ArgsEscaped,omitempty"`
}

// Image is the part of an image configuration the store keeps parsed:
// when it was made, what it runs and its layers. The configuration
// itself is kept as it was imported (rootfs.Image.RawConfig).
type Image struct {
	Created *time.Time `json:"created,omitempty"`
	Author  string     `json:"author,omitempty"`
	Config  Config     `json:"config,omitempty"`
	RootFS  RootFS     `json:"rootfs"`
}

// RootFS lists the image's layers by the digests of their uncompressed
// tars ("sha256:" and 64 hex digits), bottom first.
type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}
