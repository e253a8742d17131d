package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"runtime"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// The cache key: SHA-256 of a canonical encoding of everything a compiled
// program depends on. Every string is length-prefixed and every number a
// fixed 8 bytes, so no two inputs encode alike. A test fails when
// specs.LinuxSeccomp grows a field this encoding does not cover.

// CacheKey is the SHA-256 under which the program for s is cached.
func CacheKey(s *specs.LinuxSeccomp) [32]byte {
	k := newKeyWriter()
	k.header(s.DefaultAction, s.DefaultErrnoRet, s.Architectures, s.Flags, s.ListenerPath, s.ListenerMetadata)
	for _, r := range s.Syscalls {
		k.rule(r.Names, r.Action, r.ErrnoRet, r.Args)
	}
	return k.sum()
}

// cacheKey equals CacheKey(p.Resolve(bounding)) without building it.
func (p *SeccompProfile) cacheKey(bounding CapSet) [32]byte {
	k := newKeyWriter()
	k.header(p.defaultAction, p.defaultErrno, p.arches, p.flags, "", "")
	for _, r := range p.rules {
		if p.applies(r, bounding) {
			k.rule(r.Names, r.Action, r.Errno, r.Args)
		}
	}
	return k.sum()
}

type keyWriter struct {
	h   hash.Hash
	buf []byte
}

func newKeyWriter() *keyWriter {
	k := &keyWriter{h: sha256.New(), buf: make([]byte, 0, 8192)}
	major, minor, micro := libseccompVersion()
	k.str(cacheMagic)
	k.num(cacheVersion)
	k.num(uint64(major)<<32 | uint64(minor)<<16 | uint64(micro))
	k.str(runtime.GOARCH)
	return k
}

func (k *keyWriter) num(n uint64) { k.buf = binary.LittleEndian.AppendUint64(k.buf, n) }

func (k *keyWriter) str(s string) {
	k.num(uint64(len(s)))
	k.buf = append(k.buf, s...)
	if len(k.buf) > 4096 {
		k.h.Write(k.buf)
		k.buf = k.buf[:0]
	}
}

func (k *keyWriter) opt(u *uint) {
	if u == nil {
		k.num(0)
		return
	}
	k.num(1)
	k.num(uint64(*u))
}

func (k *keyWriter) header(act specs.LinuxSeccompAction, errno *uint, arches []specs.Arch, flags []specs.LinuxSeccompFlag, listener, meta string) {
	k.str(string(act))
	k.opt(errno)
	k.num(uint64(len(arches)))
	for _, a := range arches {
		k.str(string(a))
	}
	k.num(uint64(len(flags)))
	for _, f := range flags {
		k.str(string(f))
	}
	k.str(listener)
	k.str(meta)
}

func (k *keyWriter) rule(names []string, act specs.LinuxSeccompAction, errno *uint, args []specs.LinuxSeccompArg) {
	k.num(uint64(len(names)))
	for _, n := range names {
		k.str(n)
	}
	k.str(string(act))
	k.opt(errno)
	k.num(uint64(len(args)))
	for _, a := range args {
		k.num(uint64(a.Index))
		k.num(a.Value)
		k.num(a.ValueTwo)
		k.str(string(a.Op))
	}
}

func (k *keyWriter) sum() [32]byte {
	k.h.Write(k.buf)
	var out [32]byte
	k.h.Sum(out[:0])
	return out
}
