package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"

	"github.com/dockah/dockah/rootfs/remote/registries"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Options are what every registry operation shares.
type Options struct {
	// Registries is the registries configuration (mirrors, insecure and
	// blocked registries, short-name aliases); nil means none.
	Registries *registries.Config
	// Keychain finds credentials; nil means anonymous.
	Keychain authn.Keychain
	// SkipTLSVerify allows plain HTTP and unverified TLS for every
	// registry, as --tls-verify=false does.
	SkipTLSVerify bool
	// CertsFS holds containers-certs.d(5) directories; nil means the
	// host's root.
	CertsFS fs.FS
	// Transport is the HTTP transport under authentication; nil means a
	// clone of http.DefaultTransport.
	Transport http.RoundTripper
	// UserAgent is sent with every request.
	UserAgent string
}

// maxManifestSize bounds manifests and indexes, as containerd does: real
// ones are a few KiB, and a registry that sends more is hostile.
const maxManifestSize = 4 << 20

// maxRedirects bounds the redirects of one request.
const maxRedirects = 10

// repository parses a fully qualified reference for go-containerregistry,
// allowing plain HTTP where the endpoint or the options say so.
func (o Options) reference(ref string, insecure bool) (name.Reference, error) {
	var nopts []name.Option
	if insecure || o.SkipTLSVerify {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, append(nopts, name.StrictValidation)...)
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", ref, err)
	}
	return r, nil
}

// baseTransport is the HTTP transport for one registry host: its
// certs.d CA and client certificates, or no verification when insecure.
// Plain HTTP is refused unless the registry is insecure: go-containerregistry
// falls back to it for loopback, private-range and .local hosts, which
// would send credentials in the clear where the user asked for HTTPS.
func (o Options) baseTransport(host string, insecure bool) (http.RoundTripper, error) {
	rt, err := o.tlsTransport(host, insecure)
	if err != nil || insecure || o.SkipTLSVerify {
		return rt, err
	}
	return httpsOnly{inner: rt, host: host}, nil
}

func (o Options) tlsTransport(host string, insecure bool) (http.RoundTripper, error) {
	if o.Transport != nil {
		return o.Transport, nil
	}
	var tlsCfg *tls.Config
	if insecure || o.SkipTLSVerify {
		tlsCfg = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by --tls-verify=false or insecure = true
	} else {
		fsys := o.CertsFS
		if fsys == nil {
			fsys = os.DirFS("/")
		}
		var err error
		if tlsCfg, err = registries.TLSConfig(fsys, host); err != nil {
			return nil, err
		}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = tlsCfg
	t.ForceAttemptHTTP2 = true
	return t, nil
}

// authenticated returns a transport that authenticates to repo's registry
// with the keychain's credentials for the given scope (pull or push).
func (o Options) authenticated(ctx context.Context, repo name.Repository, insecure bool, action string) (http.RoundTripper, error) {
	base, err := o.baseTransport(repo.RegistryStr(), insecure)
	if err != nil {
		return nil, err
	}
	base = capManifests{base}
	if o.UserAgent != "" {
		base = transport.NewUserAgent(base, o.UserAgent)
	}
	auth := authn.Anonymous
	if o.Keychain != nil {
		if auth, err = o.Keychain.Resolve(repo); err != nil {
			return nil, fmt.Errorf("credentials for %s: %w", repo, err)
		}
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, base, []string{repo.Scope(action)})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", repo.RegistryStr(), err)
	}
	return rt, nil
}

// httpsOnly refuses plain HTTP requests to the registry host.
type httpsOnly struct {
	inner http.RoundTripper
	host  string
}

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && req.URL.Host == h.host {
		return nil, fmt.Errorf("%s does not answer HTTPS; a plain-HTTP registry needs insecure = true in registries.conf or --tls-verify=false", h.host)
	}
	return h.inner.RoundTrip(req)
}

// httpClient is a client over an authenticated transport that refuses
// redirect loops.
func httpClient(rt http.RoundTripper) *http.Client {
	return &http.Client{Transport: rt, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("more than %d redirects (last to %s)", maxRedirects, req.URL.Redacted())
		}
		return nil
	}}
}

// capManifests fails the read of a manifest body that grows past
// maxManifestSize, whatever Content-Length said, so that an endless body
// ends in an error instead of filling memory.
type capManifests struct{ inner http.RoundTripper }

func (c capManifests) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.inner.RoundTrip(req)
	if err != nil || !strings.Contains(req.URL.Path, "/manifests/") {
		return resp, err
	}
	if resp.ContentLength > maxManifestSize {
		resp.Body.Close()
		return nil, fmt.Errorf("manifest %s: %d bytes, more than %d: %w", req.URL.Redacted(), resp.ContentLength, maxManifestSize, ErrHostile)
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, left: maxManifestSize, what: "manifest " + req.URL.Redacted()}
	return resp, nil
}

type cappedBody struct {
	io.ReadCloser
	left int64
	what string
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more than allowed tells a long body from an exact one.
		var one [1]byte
		if n, _ := c.ReadCloser.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("%s: more than %d bytes: %w", c.what, maxManifestSize, ErrHostile)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.ReadCloser.Read(p)
	c.left -= int64(n)
	return n, err
}

// ErrHostile is wrapped by errors about a registry that sent what no
// honest registry sends: oversized manifests, bodies longer than declared,
// content that does not match its digest.
var ErrHostile = errors.New("registry sent bad content")

// ErrUnauthorized is wrapped when the registry refused the credentials (or
// their absence).
var ErrUnauthorized = errors.New("unauthorized")

// classify turns go-containerregistry's HTTP errors into what the
// registry said in words (not its Go representation) and wraps the
// sentinels callers branch on.
func classify(err error) error {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return err
	}
	said := registrySaid(terr)
	if terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden {
		return &registryError{msg: said + " (log in with dockah login)", sentinel: ErrUnauthorized, cause: err}
	}
	return &registryError{msg: said, cause: err}
}

// registrySaid is the registry's own error codes and messages, or the
// HTTP status when it sent none.
func registrySaid(terr *transport.Error) string {
	var parts []string
	for _, d := range terr.Errors {
		code := strings.ToLower(strings.ReplaceAll(string(d.Code), "_", " "))
		s := code + ": " + d.Message
		if d.Message == "" || strings.EqualFold(d.Message, code) {
			s = code
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return fmt.Sprintf("the registry answered %d %s", terr.StatusCode, http.StatusText(terr.StatusCode))
	}
	return "the registry says " + strings.Join(parts, "; ")
}

// registryError is a registry's refusal in words; Unwrap gives the
// sentinel (if any) and go-containerregistry's error.
type registryError struct {
	msg      string
	sentinel error
	cause    error
}

func (e *registryError) Error() string { return e.msg }

func (e *registryError) Unwrap() []error {
	if e.sentinel != nil {
		return []error{e.sentinel, e.cause}
	}
	return []error{e.cause}
}
