package auth

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// Env is the part of the environment the credential files depend on.
// Each field is the variable of the same name; Home is $HOME, or the
// home directory of the user when $HOME is unset (systemd starts
// services without it).
type Env struct {
	// AuthFile is the file of --authfile or $REGISTRY_AUTH_FILE; when set
	// it is the only file read and written.
	AuthFile      string
	XDGRuntimeDir string
	XDGConfigHome string
	DockerConfig  string
	Home          string
	// UID names /run/containers/UID/auth.json when XDGRuntimeDir is empty.
	UID int
}

// File is one credentials file of the search order.
type File struct {
	// Path is absolute.
	Path string
	// Legacy marks the ~/.dockercfg format: a top-level map of
	// registries, no "auths".
	Legacy bool
}

// OSEnv reads Env from the process: authfile (the --authfile flag; empty
// when not given) or else $REGISTRY_AUTH_FILE, the XDG and Docker
// variables, the uid, and the home directory ($HOME, else the passwd
// entry's, else /root for uid 0). Relative paths are made absolute.
func OSEnv(authfile string) Env {
	if authfile == "" {
		authfile = os.Getenv("REGISTRY_AUTH_FILE")
	}
	uid := os.Getuid()
	passwdHome := ""
	if os.Getenv("HOME") == "" {
		if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
			passwdHome = u.HomeDir
		}
	}
	return Env{
		AuthFile:      absolute(authfile),
		XDGRuntimeDir: absolute(os.Getenv("XDG_RUNTIME_DIR")),
		XDGConfigHome: absolute(os.Getenv("XDG_CONFIG_HOME")),
		DockerConfig:  absolute(os.Getenv("DOCKER_CONFIG")),
		Home:          absolute(homeDir(os.Getenv("HOME"), passwdHome, uid)),
		UID:           uid,
	}
}

// homeDir chooses the home directory: $HOME when set, else the passwd
// entry's, else /root for root (whose entry may be missing in a minimal
// root file system), else none.
func homeDir(envHome, passwdHome string, uid int) string {
	switch {
	case envHome != "":
		return envHome
	case passwdHome != "":
		return passwdHome
	case uid == 0:
		return "/root"
	}
	return ""
}

func absolute(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// Files returns the credential files to read, in order: only AuthFile
// when set; else the primary auth.json, the one in the XDG config
// directory, Docker's config.json and ~/.dockercfg (the last three need a
// home directory or their variables).
func (e Env) Files() []File {
	if e.AuthFile != "" {
		return []File{{Path: e.AuthFile}}
	}
	files := []File{{Path: e.primary()}}
	config := e.XDGConfigHome
	if config == "" && e.Home != "" {
		config = filepath.Join(e.Home, ".config")
	}
	if config != "" {
		files = append(files, File{Path: filepath.Join(config, "containers", "auth.json")})
	}
	switch {
	case e.DockerConfig != "":
		files = append(files, File{Path: filepath.Join(e.DockerConfig, "config.json")})
	case e.Home != "":
		files = append(files, File{Path: filepath.Join(e.Home, ".docker", "config.json")})
	}
	if e.Home != "" {
		files = append(files, File{Path: filepath.Join(e.Home, ".dockercfg"), Legacy: true})
	}
	return files
}

// WriteFile returns the file Login and Logout change: AuthFile when set,
// else the primary auth.json (what podman login writes).
func (e Env) WriteFile() string {
	if e.AuthFile != "" {
		return e.AuthFile
	}
	return e.primary()
}

func (e Env) primary() string {
	if e.XDGRuntimeDir != "" {
		return filepath.Join(e.XDGRuntimeDir, "containers", "auth.json")
	}
	return filepath.Join("/run/containers", strconv.Itoa(e.UID), "auth.json")
}
