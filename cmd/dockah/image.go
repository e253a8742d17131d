//go:build !lean

package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dockah/dockah/rootfs/archive"
	"github.com/dockah/dockah/rootfs/layer"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

func newImageCommand(opts *globalOptions) *cobra.Command {
	image := &cobra.Command{
		Use:   "image COMMAND",
		Short: "Import, list, inspect, save and remove images",
		Example: `  dockah image import nginx.tar
  dockah image ls
  dockah image rm nginx:1.25`,
	}
	image.AddCommand(
		newImageImportCommand(opts),
		newPullCommand(opts),
		newPushCommand(opts),
		newImageListCommand(opts),
		newImageInspectCommand(opts),
		newImageTagCommand(opts),
		newImageRemoveCommand(opts),
		newImagePruneCommand(opts),
		newImageSaveCommand(opts),
	)
	image.AddCommand(inventoryCommands(opts)...)
	requireSubcommand(image)
	return image
}

type importFlags struct {
	name, platform, entrypoint, cmd, workdir, user string
	env, ports                                     []string
	all, allowDevices                              bool
	jobs                                           int
	limits                                         layer.Limits
}

func newImageImportCommand(opts *globalOptions) *cobra.Command {
	f := &importFlags{}
	cmd := &cobra.Command{
		Use:   "import SOURCE",
		Short: "Import a docker-archive, OCI layout or root filesystem tar",
		Long: `Import images from SOURCE, telling its kind by content:

  a docker-archive (docker save, podman save): every image in it, with its tags;
  an OCI image layout, a directory or a tar of one: the image for the host
    platform (or --platform), or with --all every image the index names;
  a plain root filesystem tar (plain, gzip or zstd): one image named --name,
    configured by --entrypoint, --cmd, --env, --workdir, --user and --port.

--entrypoint and --cmd take a JSON array of strings, or words split as a
shell splits a command line: 'single' and "double" quotes, \ escapes. They
are never expanded: $VAR, globs (*), ~ and $(...) stay as they are.

SOURCE - reads the archive (any of these kinds but a directory) from
standard input, which is first copied into the store's tmp directory.

Layers may be plain, gzip or zstd tars; every digest is checked. Layers
already stored are not stored again.`,
		Example: `  docker save nginx:1.25 > nginx.tar && dockah image import nginx.tar
  dockah image import --platform linux/arm64 ./oci-layout
  dockah image save web:stable | dockah --root /srv/dockah image import -
  dockah image import rootfs.tar.zst --name hello:1 --entrypoint /hello --port 8080
  dockah image import rootfs.tar --name web:1 --entrypoint /usr/sbin/nginx --cmd '-g "daemon off;"'`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runImport(c, opts, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "NAME[:TAG] of the image (required for a root filesystem tar)")
	fl.BoolVar(&f.all, "all", false, "import every image of an OCI layout")
	fl.StringVar(&f.platform, "platform", "", "OS/ARCH[/VARIANT] to pick from a multi-platform image (default: the host's)")
	fl.StringVar(&f.entrypoint, "entrypoint", "", `entrypoint of a root filesystem image: a JSON array, or words quoted as in a shell ('...', "...", \) but not expanded (no $VAR, globs or $(...))`)
	fl.StringVar(&f.cmd, "cmd", "", `command of a root filesystem image: a JSON array, or words quoted as in a shell ('...', "...", \) but not expanded (no $VAR, globs or $(...))`)
	fl.StringArrayVar(&f.env, "env", nil, "KEY=VALUE in the environment of a root filesystem image (repeatable)")
	fl.StringVar(&f.workdir, "workdir", "", "working directory of a root filesystem image")
	fl.StringVar(&f.user, "user", "", "USER[:GROUP] of a root filesystem image")
	fl.StringArrayVar(&f.ports, "port", nil, "PORT[/tcp|udp] a root filesystem image exposes (repeatable)")
	fl.BoolVar(&f.allowDevices, "allow-devices", false, "create the device nodes of layers (left out by default: containers get a fresh /dev)")
	fl.IntVar(&f.jobs, "jobs", 0, "layers unpacked at once (default: one per CPU)")
	fl.Int64Var(&f.limits.MaxTarSize, "max-layer-size", layer.DefaultLimits.MaxTarSize, "largest uncompressed layer, in bytes")
	fl.Int64Var(&f.limits.MaxFileSize, "max-file-size", layer.DefaultLimits.MaxFileSize, "largest file in a layer, in bytes")
	fl.Int64Var(&f.limits.MaxEntries, "max-entries", layer.DefaultLimits.MaxEntries, "most entries in a layer")
	return cmd
}

func runImport(c *cobra.Command, opts *globalOptions, f *importFlags, source string) error {
	st, err := openStore(opts)
	if err != nil {
		return err
	}
	io := archive.ImportOptions{Name: f.name, All: f.all, Limits: f.limits, AllowDevices: f.allowDevices, Jobs: f.jobs}
	if f.platform != "" {
		if io.Platform, err = archive.ParsePlatform(f.platform); err != nil {
			return err
		}
	}
	if io.Config, err = f.imageConfig(); err != nil {
		return err
	}
	prog := newProgress(c.ErrOrStderr(), opts.quiet)
	io.Progress = prog.event
	imgs, err := importArchive(st, source, c.InOrStdin(), io)
	prog.finish()
	for _, img := range imgs {
		fmt.Fprintln(c.OutOrStdout(), img.ID)
	}
	return err
}

// imageConfig is the config of an image made from a root filesystem tar.
func (f *importFlags) imageConfig() (v1.ImageConfig, error) {
	var cfg v1.ImageConfig
	var err error
	if cfg.Entrypoint, err = words(f.entrypoint); err != nil {
		return cfg, fmt.Errorf("--entrypoint: %w", err)
	}
	if cfg.Cmd, err = words(f.cmd); err != nil {
		return cfg, fmt.Errorf("--cmd: %w", err)
	}
	for _, e := range f.env {
		if !strings.Contains(e, "=") {
			return cfg, fmt.Errorf("--env %q: want KEY=VALUE", e)
		}
	}
	cfg.Env, cfg.WorkingDir, cfg.User = f.env, f.workdir, f.user
	for _, p := range f.ports {
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		cfg.ExposedPorts[p] = struct{}{}
	}
	return cfg, nil
}

// words reads the value of --entrypoint or --cmd: a JSON array of
// strings, or else words as splitWords splits them.
func words(s string) ([]string, error) {
	trimmed := strings.TrimSpace(s)
	if trimmed == "" {
		return nil, nil
	}
	if strings.HasPrefix(trimmed, "[") {
		var out []string
		if err := json.Unmarshal([]byte(trimmed), &out); err != nil {
			return nil, fmt.Errorf("not a JSON array of strings (quote a first word that starts with [, as '['): %w", err)
		}
		return out, nil
	}
	return splitWords(s)
}

// splitWords splits s into words as a POSIX shell splits a simple command
// line, and removes the quoting:
//   - spaces, tabs and newlines separate words;
//   - single quotes keep everything up to the next single quote as it is;
//   - double quotes do too, but for a backslash before $ ` " \ or a
//     newline, which escapes it (a backslash and newline are removed);
//   - a backslash outside quotes escapes the next character (a backslash
//     and newline are removed);
//   - a pair of quotes with nothing between is an empty word, and quoted
//     and unquoted parts next to each other are one word.
//
// Nothing is expanded: $, `, *, ?, ~, #, ; and | are plain characters. An
// unclosed quote, or a backslash at the end, is an error that gives its
// position (in characters, from 1).
func splitWords(s string) ([]string, error) {
	var out []string
	var word strings.Builder
	inWord := false // a word has begun, though it may still be empty
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n':
			if inWord {
				out = append(out, word.String())
				word.Reset()
				inWord = false
			}
		case '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("the \\ at position %d escapes nothing: it ends the value (quote it: '\\')", position(s, i))
			}
			i++
			if s[i] != '\n' {
				word.WriteByte(s[i])
				inWord = true
			}
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("the ' at position %d is not closed", position(s, i))
			}
			word.WriteString(s[i+1 : i+1+end])
			inWord = true
			i += 1 + end
		case '"':
			end := doubleQuoted(&word, s[i+1:])
			if end < 0 {
				return nil, fmt.Errorf("the \" at position %d is not closed", position(s, i))
			}
			inWord = true
			i += 1 + end
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, word.String())
	}
	return out, nil
}

// doubleQuoted writes to word what s, the text after an opening ", means up
// to the closing ", and returns the index of the closing " in s, or -1.
func doubleQuoted(word *strings.Builder, s string) int {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i
		case c == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0:
			i++
			if s[i] != '\n' {
				word.WriteByte(s[i])
			}
		default:
			word.WriteByte(c)
		}
	}
	return -1
}

// position is the position of byte i of s, in characters from 1.
func position(s string, i int) int {
	return utf8.RuneCountInString(s[:i]) + 1
}
