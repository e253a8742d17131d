package registries

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// certRoots are the containers-certs.d(5) directories, relative to the
// root directory, in the order they are searched.
var certRoots = []string{"etc/containers/certs.d", "etc/docker/certs.d"}

// CertDirs returns the directories that may hold the TLS files of a
// registry host[:port], relative to the root directory, in the order they
// are searched; nil when hostport could name something other than one
// directory.
func CertDirs(hostport string) []string {
	if !validCertHost(hostport) {
		return nil
	}
	dirs := make([]string, len(certRoots))
	for i, root := range certRoots {
		dirs[i] = path.Join(root, hostport)
	}
	return dirs
}

// validCertHost reports whether hostport names exactly one directory
// under a certs.d root: no separator, nothing path.Join would clean away.
func validCertHost(hostport string) bool {
	return hostport != "" && hostport != "." && hostport != ".." &&
		!strings.ContainsAny(hostport, "/\\\x00")
}

// TLSConfig returns the TLS configuration for a registry host[:port] from
// the first of CertDirs that exists in fsys (the rule of containers/image):
// every *.crt is a CA certificate added to the system roots, every *.cert
// a client certificate whose key is the *.key of the same name. Without a
// directory, or without *.crt files, RootCAs is nil: the system roots.
// A file that does not parse, a certificate without its key or a key
// without its certificate is an error naming the file.
func TLSConfig(fsys fs.FS, hostport string) (*tls.Config, error) {
	if !validCertHost(hostport) {
		return nil, fmt.Errorf("tls configuration for %q: not a registry host[:port]", hostport)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	for _, dir := range CertDirs(hostport) {
		entries, err := fs.ReadDir(fsys, dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("tls configuration for %s: %w", hostport, err)
		}
		if err := loadCertDir(fsys, dir, entries, cfg); err != nil {
			return nil, fmt.Errorf("tls configuration for %s: %w", hostport, err)
		}
		break
	}
	return cfg, nil
}

// SystemTLSConfig is TLSConfig on the host's root file system.
func SystemTLSConfig(hostport string) (*tls.Config, error) {
	return TLSConfig(os.DirFS("/"), hostport)
}

// loadCertDir adds the CA certificates and client key pairs of dir to cfg.
func loadCertDir(fsys fs.FS, dir string, entries []fs.DirEntry, cfg *tls.Config) error {
	has := make(map[string]bool, len(entries))
	for _, e := range entries {
		has[e.Name()] = !e.IsDir()
	}
	for _, e := range entries {
		name := e.Name()
		file := path.Join(dir, name)
		if e.IsDir() {
			continue
		}
		switch {
		case strings.HasSuffix(name, ".crt"):
			if err := addRoots(fsys, file, cfg); err != nil {
				return err
			}
		case strings.HasSuffix(name, ".cert"):
			key := strings.TrimSuffix(name, ".cert") + ".key"
			if !has[key] {
				return fmt.Errorf("%s: no key %s beside the client certificate (CA certificates end in .crt)", file, key)
			}
			pair, err := loadKeyPair(fsys, file, path.Join(dir, key))
			if err != nil {
				return err
			}
			cfg.Certificates = append(cfg.Certificates, pair)
		case strings.HasSuffix(name, ".key"):
			if cert := strings.TrimSuffix(name, ".key") + ".cert"; !has[cert] {
				return fmt.Errorf("%s: no client certificate %s beside the key", file, cert)
			}
		}
	}
	return nil
}

// addRoots adds the PEM certificates of file to cfg.RootCAs, which starts
// as a copy of the system roots.
func addRoots(fsys fs.FS, file string, cfg *tls.Config) error {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return err
	}
	if cfg.RootCAs == nil {
		pool, err := x509.SystemCertPool()
		if err != nil {
			// No system roots (a minimal root file system): the
			// registry's own CA is still enough to reach it.
			pool = x509.NewCertPool()
		}
		cfg.RootCAs = pool
	}
	if !cfg.RootCAs.AppendCertsFromPEM(data) {
		return fmt.Errorf("%s: no PEM certificate", file)
	}
	return nil
}

func loadKeyPair(fsys fs.FS, certFile, keyFile string) (tls.Certificate, error) {
	cert, err := fs.ReadFile(fsys, certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := fs.ReadFile(fsys, keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", certFile, err)
	}
	return pair, nil
}
