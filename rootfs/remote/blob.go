package remote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// blobFetch streams one blob with resumption: the bytes an interrupted
// pull left in the partial file come first, then the rest from the
// registry with a range request, appended to the partial file as they
// arrive. The reader checks the size and the digest itself; a blob whose
// digest is wrong loses its partial file, so the next pull starts over.
type blobFetch struct {
	client  *http.Client
	url     string
	digest  string
	size    int64
	partial string
}

func (b blobFetch) open(ctx context.Context) (io.ReadCloser, error) {
	f, err := os.OpenFile(b.partial, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", b.digest, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob %s: %w", b.digest, err)
	}
	have := fi.Size()
	if have > b.size {
		have = 0 // not a prefix of this blob
	}
	r := &resumeReader{f: f, h: sha256.New(), fetch: b}
	if have < b.size {
		body, from, err := b.get(ctx, have)
		if err != nil {
			f.Close()
			if have == 0 {
				os.Remove(b.partial) // nothing to resume from
			}
			return nil, err
		}
		have, r.body, r.pos = from, body, from
	}
	if err := f.Truncate(have); err != nil {
		f.Close()
		if r.body != nil {
			r.body.Close()
		}
		return nil, fmt.Errorf("blob %s: %w", b.digest, err)
	}
	r.local = io.NewSectionReader(f, 0, have)
	return r, nil
}

// get requests the blob from byte from on; it returns the body and where
// it starts, 0 when the registry ignored the range.
func (b blobFetch) get(ctx context.Context, from int64) (io.ReadCloser, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("blob %s: %w", b.digest, err)
	}
	if from > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(from, 10)+"-")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("blob %s: %w", b.digest, err)
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent && from > 0 && contentRangeStart(resp) == from:
	case resp.StatusCode == http.StatusOK:
		from = 0
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && from > 0:
		// Some registries refuse open ranges (go-containerregistry's
		// answers 416 to bytes=N-): start over rather than fail forever.
		resp.Body.Close()
		return b.get(ctx, 0)
	default:
		defer resp.Body.Close()
		if err := transport.CheckError(resp, http.StatusOK, http.StatusPartialContent); err != nil {
			return nil, 0, fmt.Errorf("blob %s: %w", b.digest, classify(err))
		}
		return nil, 0, fmt.Errorf("blob %s: status %d with a range the request did not ask for: %w", b.digest, resp.StatusCode, ErrHostile)
	}
	if want := b.size - from; resp.ContentLength >= 0 && resp.ContentLength != want {
		resp.Body.Close()
		return nil, 0, fmt.Errorf("blob %s: the registry sends %d bytes where the manifest says %d: %w", b.digest, resp.ContentLength, want, ErrHostile)
	}
	return resp.Body, from, nil
}

func contentRangeStart(resp *http.Response) int64 {
	cr := strings.TrimPrefix(resp.Header.Get("Content-Range"), "bytes ")
	start, _, _ := strings.Cut(cr, "-")
	n, err := strconv.ParseInt(start, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// resumeReader reads the partial file, then the body, appending the body
// to the file, hashing everything, and checking at the end that the blob
// has its size and digest.
type resumeReader struct {
	f     *os.File
	local *io.SectionReader
	body  io.ReadCloser
	pos   int64 // where the next body byte goes in the file
	read  int64
	h     hash.Hash
	fetch blobFetch
	done  bool
	cut   bool // the connection failed: what was received is worth keeping
}

func (r *resumeReader) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	if n, err := r.local.Read(p); n > 0 || (err != nil && err != io.EOF) {
		return r.account(p[:n], err)
	}
	if r.body == nil {
		return r.finish()
	}
	if left := r.fetch.size - r.read; int64(len(p)) > left {
		// Read one byte past the declared size to catch an endless body.
		p = p[:left+1]
	}
	n, err := r.body.Read(p)
	if n > 0 {
		if r.read+int64(n) > r.fetch.size {
			return 0, fmt.Errorf("blob %s: longer than the %d bytes the manifest says: %w", r.fetch.digest, r.fetch.size, ErrHostile)
		}
		if _, werr := r.f.WriteAt(p[:n], r.pos); werr != nil {
			return 0, fmt.Errorf("blob %s: keep for resuming: %w", r.fetch.digest, werr)
		}
		r.pos += int64(n)
	}
	if err == io.EOF {
		if n > 0 {
			return r.account(p[:n], nil)
		}
		return r.finish()
	}
	if err != nil {
		r.cut = true
		err = fmt.Errorf("blob %s: %w (the %d bytes received are kept; pull again to resume)", r.fetch.digest, err, r.read+int64(n))
	}
	return r.account(p[:n], err)
}

func (r *resumeReader) account(p []byte, err error) (int, error) {
	r.h.Write(p)
	r.read += int64(len(p))
	return len(p), err
}

func (r *resumeReader) finish() (int, error) {
	r.done = true
	if r.read != r.fetch.size {
		return 0, fmt.Errorf("blob %s: %d bytes, the manifest says %d (pull again to resume): %w", r.fetch.digest, r.read, r.fetch.size, io.ErrUnexpectedEOF)
	}
	if got := "sha256:" + hex.EncodeToString(r.h.Sum(nil)); got != r.fetch.digest {
		// Whatever is in the partial file is wrong: start over next time.
		os.Remove(r.fetch.partial)
		return 0, fmt.Errorf("blob %s: digest mismatch: content is %s: %w", r.fetch.digest, got, ErrHostile)
	}
	return 0, io.EOF
}

func (r *resumeReader) Close() error {
	var errs []error
	if r.body != nil {
		errs = append(errs, r.body.Close())
	}
	errs = append(errs, r.f.Close())
	if !r.done && !r.cut {
		// The reader gave up before the end for what it read (bad
		// compression or tar, a refused entry, a body too long), not for
		// the network: the kept bytes may be what is wrong, so the next
		// pull starts over instead of failing the same way forever.
		os.Remove(r.fetch.partial)
	}
	return errors.Join(errs...)
}
