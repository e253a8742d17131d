package layer

import (
	"fmt"

	"github.com/dockah/dockah/rootfs"
)

// Limits bound what one layer may hold. A zero field takes the default.
type Limits struct {
	// MaxEntries is the most tar entries a layer may have.
	MaxEntries int64
	// MaxTarSize is the most bytes the uncompressed tar may have; it stops
	// decompression bombs.
	MaxTarSize int64
	// MaxFileSize is the largest single file.
	MaxFileSize int64
	// MaxPathLen is the longest entry name or link target in bytes.
	MaxPathLen int
}

// DefaultLimits are generous for real images and stop absurd ones.
var DefaultLimits = Limits{
	MaxEntries:  1 << 21,  // 2 Mi entries
	MaxTarSize:  64 << 30, // 64 GiB
	MaxFileSize: 32 << 30, // 32 GiB
	MaxPathLen:  4096,     // PATH_MAX
}

func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultLimits.MaxEntries
	}
	if l.MaxTarSize <= 0 {
		l.MaxTarSize = DefaultLimits.MaxTarSize
	}
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = DefaultLimits.MaxFileSize
	}
	if l.MaxPathLen <= 0 {
		l.MaxPathLen = DefaultLimits.MaxPathLen
	}
	return l
}

// Options tune Unpack.
type Options struct {
	// Name names the layer in errors, usually its digest.
	Name string
	// Limits bound the layer; zero fields take DefaultLimits.
	Limits Limits
	// AllowDevices creates character and block devices other than
	// whiteouts; by default they are left out and counted in
	// Result.SkippedDevices.
	AllowDevices bool
	// Split receives the layer's tar-split (see Rebuild); nil records none.
	Split *SplitWriter
	// Progress, when set, is called now and then with the bytes of
	// uncompressed tar read so far.
	Progress func(read int64)
}

// Result describes an unpacked layer.
type Result struct {
	// DiffID is the digest of the uncompressed tar.
	DiffID string
	// TarSize is the length of the uncompressed tar.
	TarSize int64
	// Size is the bytes of file content written.
	Size int64
	// Entries is the number of tar entries.
	Entries int64
	// SkippedDevices counts device nodes (and hard links to them) left
	// out because devices were not allowed.
	SkippedDevices int
}

// unsafe wraps rootfs.ErrUnsafePath with the reason.
func unsafe(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), rootfs.ErrUnsafePath)
}
