package layer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicBzip2 = []byte("BZh")
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// Compression names a layer's compression.
type Compression string

// The compressions Decompress knows.
const (
	Uncompressed Compression = "none"
	Gzip         Compression = "gzip"
	Zstd         Compression = "zstd"
)

// maxZstdWindow bounds the memory one zstd frame may make the decoder
// allocate (zstd --long=27 uses 128 MiB).
const maxZstdWindow = 256 << 20

// Decompress sniffs r's first bytes and returns a reader of the
// uncompressed stream, telling gzip and zstd from plain tar by content,
// not by media type.
func Decompress(r io.Reader) (io.ReadCloser, Compression, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(6)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, "", fmt.Errorf("read layer: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, magicGzip):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", fmt.Errorf("read gzip layer: %w", err)
		}
		return zr, Gzip, nil
	case bytes.HasPrefix(head, magicZstd):
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, "", fmt.Errorf("read zstd layer: %w", err)
		}
		return zr.IOReadCloser(), Zstd, nil
	case bytes.HasPrefix(head, magicBzip2), bytes.HasPrefix(head, magicXz):
		return nil, "", fmt.Errorf("read layer: bzip2 and xz layers are not supported (accepted: tar, gzip, zstd)")
	}
	return io.NopCloser(br), Uncompressed, nil
}
