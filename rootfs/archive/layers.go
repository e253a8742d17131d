package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/layer"
)

// Event reports progress on one layer.
type Event struct {
	// Layer is the layer's digest (diff ID, or blob digest before the
	// diff ID is known).
	Layer string
	// State is "exists" (already stored), "unpacking", "done", or
	// "notice" (Message says something the user should know).
	State string
	// Done and Total are bytes of the blob; Total is 0 when unknown.
	Done, Total int64
	// Message is the text of a notice.
	Message string
}

// layerJob is one layer to import.
type layerJob struct {
	open   func() (io.ReadCloser, error)
	diffID string // expected; "" when only the content tells
	blob   string // expected digest of the blob as stored; "" when unknown
	total  int64
}

// layerOptions are what every layer of an import shares.
type layerOptions struct {
	limits       layer.Limits
	allowDevices bool
	progress     func(Event)
}

func (o layerOptions) report(ev Event) {
	if o.progress != nil {
		o.progress(ev)
	}
}

// label names a layer in messages before its diff ID is verified.
func (j layerJob) label() string {
	switch {
	case j.diffID != "":
		return j.diffID
	case j.blob != "":
		return j.blob
	}
	return "(rootfs)"
}

// importLayer stores one layer unless it is stored already. The caller
// holds the store lock shared. Two imports of the same layer at once
// serialise on the layer lock; the second finds it stored.
func importLayer(st *rootfs.Store, j layerJob, o layerOptions) (rootfs.LayerInfo, error) {
	if j.diffID != "" {
		if info, err := st.LayerInfo(j.diffID); err == nil {
			o.report(Event{Layer: j.diffID, State: "exists", Done: j.total, Total: j.total})
			return info, nil
		}
		lk, err := st.LockLayer(j.diffID)
		if err != nil {
			return rootfs.LayerInfo{}, err
		}
		defer lk.Release()
		if info, err := st.LayerInfo(j.diffID); err == nil {
			o.report(Event{Layer: j.diffID, State: "exists", Done: j.total, Total: j.total})
			return info, nil
		}
	}
	tmp, err := st.TempDir()
	if err != nil {
		return rootfs.LayerInfo{}, err
	}
	defer tmp.Remove()
	res, err := unpackLayer(tmp.Path, j, o)
	if err != nil {
		return rootfs.LayerInfo{}, err
	}
	if j.diffID == "" {
		lk, err := st.LockLayer(res.DiffID)
		if err != nil {
			return rootfs.LayerInfo{}, err
		}
		defer lk.Release()
	}
	info, err := st.InstallLayer(tmp, rootfs.LayerInfo{DiffID: res.DiffID, TarSize: res.TarSize, Size: res.Size})
	if err != nil {
		return rootfs.LayerInfo{}, err
	}
	if res.SkippedDevices > 0 {
		o.report(Event{Layer: res.DiffID, State: "notice", Message: fmt.Sprintf(
			"%d device nodes left out (containers get a fresh /dev; --allow-devices keeps them)", res.SkippedDevices)})
	}
	o.report(Event{Layer: res.DiffID, State: "done", Done: j.total, Total: j.total})
	return info, nil
}

// unpackLayer unpacks j into dir/diff and its tar-split into
// dir/tar-split, verifying the blob digest and the diff ID.
func unpackLayer(dir string, j layerJob, o layerOptions) (layer.Result, error) {
	if err := os.Mkdir(filepath.Join(dir, "diff"), 0o755); err != nil {
		return layer.Result{}, fmt.Errorf("unpack layer: %w", err)
	}
	sf, err := os.Create(filepath.Join(dir, "tar-split"))
	if err != nil {
		return layer.Result{}, fmt.Errorf("unpack layer: %w", err)
	}
	defer sf.Close()
	sw, err := layer.NewSplitWriter(sf)
	if err != nil {
		return layer.Result{}, err
	}
	rc, err := j.open()
	if err != nil {
		return layer.Result{}, fmt.Errorf("layer %s: %w", j.label(), err)
	}
	defer rc.Close()
	cr := &countingReader{r: rc, job: j, o: o}
	// An uncompressed blob's digest is its diff ID, checked anyway.
	if j.blob != "" && j.blob != j.diffID {
		cr.h = sha256.New()
	}
	o.report(Event{Layer: j.label(), State: "unpacking", Total: j.total})
	res, err := layer.Unpack(filepath.Join(dir, "diff"), cr, layer.Options{
		Name: j.label(), Limits: o.limits, AllowDevices: o.allowDevices, Split: sw,
	})
	if err != nil {
		return layer.Result{}, err
	}
	// Bytes after the compressed stream's end still count for its digest.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return layer.Result{}, fmt.Errorf("layer %s: %w", j.label(), err)
	}
	if cr.h != nil {
		if got := "sha256:" + hex.EncodeToString(cr.h.Sum(nil)); got != j.blob {
			return layer.Result{}, fmt.Errorf("blob %s: digest mismatch: content is %s", j.blob, got)
		}
	}
	if j.diffID != "" && res.DiffID != j.diffID {
		return layer.Result{}, fmt.Errorf("layer %s: diff ID mismatch: uncompressed content is %s", j.label(), res.DiffID)
	}
	if err := sw.Close(); err != nil {
		return layer.Result{}, err
	}
	if err := sf.Close(); err != nil {
		return layer.Result{}, fmt.Errorf("unpack layer: %w", err)
	}
	return res, nil
}

// countingReader hashes the blob as read and reports progress.
type countingReader struct {
	r       io.Reader
	h       hash.Hash
	n, last int64
	job     layerJob
	o       layerOptions
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.h != nil { // nil when the format gives no blob digest to check
		c.h.Write(p[:n])
	}
	c.n += int64(n)
	if c.o.progress != nil && c.n-c.last >= 4<<20 {
		c.last = c.n
		c.o.report(Event{Layer: c.job.label(), State: "unpacking", Done: c.n, Total: c.job.total})
	}
	return n, err
}

// importLayers imports jobs, up to n at once, and returns their records in
// order.
func importLayers(st *rootfs.Store, jobs []layerJob, o layerOptions, n int) ([]rootfs.LayerInfo, error) {
	infos := make([]rootfs.LayerInfo, len(jobs))
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			infos[i], errs[i] = importLayer(st, j, o)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return infos, nil
}
