package activation

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// IsDynamic reports whether the executable at path needs a dynamic loader
// (has a PT_INTERP program header). It reads the ELF header and the
// program headers, nothing else: debug/elf would link DWARF and
// compression code, and their package initialisation, into the shim and
// the stage binary.
func IsDynamic(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var hdr [64]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil || string(hdr[:4]) != "\x7fELF" {
		return false, fmt.Errorf("%s: not an ELF executable", path)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if hdr[5] == 2 { // EI_DATA: ELFDATA2MSB
		order = binary.BigEndian
	}
	var off uint64
	var size, count uint16
	switch hdr[4] { // EI_CLASS
	case 1: // ELFCLASS32
		off, size, count = uint64(order.Uint32(hdr[28:])), order.Uint16(hdr[42:]), order.Uint16(hdr[44:])
	case 2: // ELFCLASS64
		off, size, count = order.Uint64(hdr[32:]), order.Uint16(hdr[54:]), order.Uint16(hdr[56:])
	default:
		return false, fmt.Errorf("%s: unknown ELF class %d", path, hdr[4])
	}
	// PN_XNUM (0xffff) would put the count in a section header; no
	// executable has that many program headers.
	if size < 4 || count == 0xffff {
		return false, fmt.Errorf("%s: malformed ELF program headers", path)
	}
	progs := make([]byte, int(size)*int(count))
	if _, err := f.ReadAt(progs, int64(off)); err != nil {
		return false, fmt.Errorf("%s: read ELF program headers: %w", path, errors.Unwrap(err))
	}
	const ptInterp = 3
	for i := 0; i < int(count); i++ {
		if order.Uint32(progs[i*int(size):]) == ptInterp {
			return true, nil
		}
	}
	return false, nil
}
