package layer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
)

// A tar-split is a zstd stream of records that, with the unpacked tree,
// rebuild a layer's tar byte for byte:
//
//	magic       "dockah-tar-split 1\n"
//	'S' n bytes raw bytes of the tar: headers, padding, anything not a file's content
//	'F' n path size  the next size bytes are the content of the file path in the tree
//	'E'         end
//
// n, size: unsigned varints.
const splitMagic = "dockah-tar-split 1\n"

// maxSegment is how many raw bytes are buffered before they are written.
const maxSegment = 1 << 20

// SplitWriter writes a tar-split.
type SplitWriter struct {
	zw  *zstd.Encoder
	bw  *bufio.Writer
	err error
	tmp [binary.MaxVarintLen64]byte
}

// NewSplitWriter starts a tar-split on w.
func NewSplitWriter(w io.Writer) (*SplitWriter, error) {
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("write tar-split: %w", err)
	}
	s := &SplitWriter{zw: zw, bw: bufio.NewWriterSize(zw, 1<<16)}
	s.bw.WriteString(splitMagic)
	return s, nil
}

func (s *SplitWriter) uvarint(v uint64) {
	n := binary.PutUvarint(s.tmp[:], v)
	s.bw.Write(s.tmp[:n])
}

func (s *SplitWriter) segment(b []byte) {
	if len(b) == 0 {
		return
	}
	s.bw.WriteByte('S')
	s.uvarint(uint64(len(b)))
	s.bw.Write(b)
}

func (s *SplitWriter) file(path string, size int64) {
	s.bw.WriteByte('F')
	s.uvarint(uint64(len(path)))
	s.bw.WriteString(path)
	s.uvarint(uint64(size))
}

// Close ends the tar-split and flushes it; it does not close the
// underlying writer.
func (s *SplitWriter) Close() error {
	s.bw.WriteByte('E')
	if err := s.bw.Flush(); err != nil {
		return fmt.Errorf("write tar-split: %w", err)
	}
	if err := s.zw.Close(); err != nil {
		return fmt.Errorf("write tar-split: %w", err)
	}
	return nil
}

// recorder sits between the decompressed layer and the tar reader. It
// hashes everything (the diff ID), counts it (the bomb limit), and keeps
// the bytes that are not file contents for the tar-split.
type recorder struct {
	r        io.Reader
	h        hash.Hash
	n, limit int64
	payload  bool // reading a file's content: not kept
	seg      []byte
	split    *SplitWriter
	progress func(int64)
	reported int64
}

func (rc *recorder) Read(p []byte) (int, error) {
	n, err := rc.r.Read(p)
	if n > 0 {
		rc.h.Write(p[:n])
		rc.n += int64(n)
		if rc.n > rc.limit {
			return 0, unsafe("uncompressed layer larger than %d bytes (a decompression bomb?)", rc.limit)
		}
		if !rc.payload && rc.split != nil {
			rc.seg = append(rc.seg, p[:n]...)
			if len(rc.seg) >= maxSegment {
				rc.flush()
			}
		}
		if rc.progress != nil && rc.n-rc.reported >= 1<<20 {
			rc.reported = rc.n
			rc.progress(rc.n)
		}
	}
	return n, err
}

// flush writes the kept raw bytes as a segment.
func (rc *recorder) flush() {
	if rc.split != nil {
		rc.split.segment(rc.seg)
	}
	rc.seg = rc.seg[:0]
}

// content marks that the next size bytes are the content of path.
func (rc *recorder) content(path string, size int64) {
	rc.flush()
	if rc.split != nil {
		rc.split.file(path, size)
	}
	rc.payload = true
}

// Rebuild writes the tar a tar-split describes, reading file contents from
// tree. The caller checks the digest of what was written against the
// layer's diff ID: a tree changed since it was unpacked gives another one.
func Rebuild(w io.Writer, tree string, split io.Reader) error {
	root, err := os.OpenRoot(tree)
	if err != nil {
		return fmt.Errorf("rebuild layer: %w", err)
	}
	defer root.Close()
	zr, err := zstd.NewReader(split, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return fmt.Errorf("rebuild layer: %w", err)
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 1<<16)
	magic := make([]byte, len(splitMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != splitMagic {
		return fmt.Errorf("rebuild layer: not a tar-split")
	}
	buf := make([]byte, 1<<20)
	for {
		kind, err := br.ReadByte()
		if err != nil {
			return fmt.Errorf("rebuild layer: read tar-split: %w", err)
		}
		switch kind {
		case 'E':
			return nil
		case 'S':
			n, err := binary.ReadUvarint(br)
			if err == nil {
				_, err = io.CopyBuffer(w, io.LimitReader(br, int64(n)), buf)
			}
			if err != nil {
				return fmt.Errorf("rebuild layer: %w", err)
			}
		case 'F':
			if err := rebuildFile(w, root, br, buf); err != nil {
				return fmt.Errorf("rebuild layer: %w", err)
			}
		default:
			return fmt.Errorf("rebuild layer: bad tar-split record %q", kind)
		}
	}
}

func rebuildFile(w io.Writer, root *os.Root, br *bufio.Reader, buf []byte) error {
	n, err := binary.ReadUvarint(br)
	if err != nil || n > 1<<16 {
		return fmt.Errorf("bad tar-split file record")
	}
	name := make([]byte, n)
	if _, err := io.ReadFull(br, name); err != nil {
		return err
	}
	size, err := binary.ReadUvarint(br)
	if err != nil {
		return err
	}
	f, err := root.Open(string(name))
	if err != nil {
		return err
	}
	defer f.Close()
	copied, err := io.CopyBuffer(w, io.LimitReader(f, int64(size)), buf)
	if err != nil {
		return err
	}
	if copied != int64(size) {
		return fmt.Errorf("%s: has %d bytes, the layer had %d: %w", name, copied, size, errors.ErrUnsupported)
	}
	return nil
}
