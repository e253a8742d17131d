package registries

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// The system files, relative to the root directory.
const (
	systemMain   = "etc/containers/registries.conf"
	systemDropin = "etc/containers/registries.conf.d"
)

// EnvConfigFile names the environment variable that replaces the system
// files by a single file, without drop-ins.
const EnvConfigFile = "CONTAINERS_REGISTRIES_CONF"

// Load reads the main file, if it exists, then every *.conf file in
// dropinDir in lexical order (subdirectories and other files are
// skipped), and merges them as containers-registries.conf.d(5) says: a
// later file's unqualified-search-registries and short-name-mode replace
// the earlier ones, a [[registry]] table replaces the earlier table with
// the same prefix, and aliases merge, the later file winning and an empty
// value erasing. Paths are relative to fsys. The problems of every file
// are reported together.
func Load(fsys fs.FS, main, dropinDir string) (*Config, error) {
	return load(fsys, "", main, dropinDir)
}

// LoadSystem reads the host's configuration: the file named by
// $CONTAINERS_REGISTRIES_CONF alone (it must exist), else
// /etc/containers/registries.conf and /etc/containers/registries.conf.d.
func LoadSystem() (*Config, error) {
	if name := os.Getenv(EnvConfigFile); name != "" {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read registries configuration from $%s: %w", EnvConfigFile, err)
		}
		cfg, err := Parse(name, data)
		if err != nil {
			return nil, err
		}
		return merge(&Config{}, cfg), nil
	}
	return load(os.DirFS("/"), "/", systemMain, systemDropin)
}

// load is Load with root, the directory fsys stands for, prepended to the
// file names in diagnostics.
func load(fsys fs.FS, root, main, dropinDir string) (*Config, error) {
	cfg := &Config{}
	var errs []error
	add := func(name string) {
		data, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			// No main file is an empty one; a drop-in removed since the
			// directory was listed is no drop-in.
			return
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read registries configuration: %w", err))
			return
		}
		file, err := Parse(path.Join(root, name), data)
		if err != nil {
			errs = append(errs, err)
			return
		}
		merge(cfg, file)
	}
	if main != "" {
		add(main)
	}
	if dropinDir != "" {
		entries, err := fs.ReadDir(fsys, dropinDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("read registries configuration drop-ins: %w", err))
		}
		// fs.ReadDir sorts by name: the lexical order of the man page.
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".conf") {
				add(path.Join(dropinDir, e.Name()))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

// merge applies the settings of a later file to cfg and returns cfg.
func merge(cfg, later *Config) *Config {
	if later.UnqualifiedSearchRegistries != nil {
		cfg.UnqualifiedSearchRegistries = later.UnqualifiedSearchRegistries
	}
	if later.ShortNameMode != "" {
		cfg.ShortNameMode = later.ShortNameMode
	}
	byPrefix := make(map[string]Registry, len(cfg.Registries)+len(later.Registries))
	for _, r := range cfg.Registries {
		byPrefix[r.Prefix] = r
	}
	for _, r := range later.Registries {
		byPrefix[r.Prefix] = r
	}
	cfg.Registries = nil
	for _, prefix := range sortedKeys(byPrefix) {
		cfg.Registries = append(cfg.Registries, byPrefix[prefix])
	}
	if len(later.Aliases) > 0 && cfg.Aliases == nil {
		cfg.Aliases = map[string]string{}
	}
	for name, value := range later.Aliases {
		if value == "" {
			delete(cfg.Aliases, name)
		} else {
			cfg.Aliases[name] = value
		}
	}
	return cfg
}
