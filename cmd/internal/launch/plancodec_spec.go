package launch

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The runtime spec's fields that dockah sets (unitgen.Spec, configure);
// any other one makes a plan fail its round trip, and it is not stored.

func (w *planWriter) spec(s *specs.Spec) {
	w.str(s.Version)
	if p := s.Process; w.bool(p != nil) {
		w.bool(p.Terminal)
		w.uint(uint64(p.User.UID))
		w.uint(uint64(p.User.GID))
		if w.count(len(p.User.AdditionalGids), p.User.AdditionalGids == nil) {
			for _, g := range p.User.AdditionalGids {
				w.uint(uint64(g))
			}
		}
		w.str(p.User.Username)
		w.strs(p.Args)
		w.strs(p.Env)
		w.str(p.Cwd)
		if c := p.Capabilities; w.bool(c != nil) {
			for _, set := range [][]string{c.Bounding, c.Effective, c.Inheritable, c.Permitted, c.Ambient} {
				w.strs(set)
			}
		}
		if w.count(len(p.Rlimits), p.Rlimits == nil) {
			for _, l := range p.Rlimits {
				w.str(l.Type)
				w.uint(l.Hard)
				w.uint(l.Soft)
			}
		}
		w.bool(p.NoNewPrivileges)
		w.str(p.SelinuxLabel)
	}
	if root := s.Root; w.bool(root != nil) {
		w.str(root.Path)
		w.bool(root.Readonly)
	}
	w.str(s.Hostname)
	if w.count(len(s.Mounts), s.Mounts == nil) {
		for _, m := range s.Mounts {
			w.str(m.Destination)
			w.str(m.Type)
			w.str(m.Source)
			w.strs(m.Options)
		}
	}
	if l := s.Linux; w.bool(l != nil) {
		if w.count(len(l.Namespaces), l.Namespaces == nil) {
			for _, ns := range l.Namespaces {
				w.str(string(ns.Type))
				w.str(ns.Path)
			}
		}
		if res := l.Resources; w.bool(res != nil) {
			if m := res.Memory; w.bool(m != nil) {
				w.optInt(m.Limit)
			}
			if p := res.Pids; w.bool(p != nil) {
				w.optInt(p.Limit)
			}
			if c := res.CPU; w.bool(c != nil) {
				w.optInt(c.Quota)
				if w.bool(c.Period != nil) {
					w.uint(*c.Period)
				}
			}
		}
		w.strs(l.MaskedPaths)
		w.strs(l.ReadonlyPaths)
		w.str(l.MountLabel)
	}
	w.stringMap(s.Annotations)
}

func (w *planWriter) optInt(v *int64) {
	if w.bool(v != nil) {
		w.int(*v)
	}
}

func (r *planReader) optInt() *int64 {
	if !r.bool() {
		return nil
	}
	v := r.int()
	return &v
}

func (r *planReader) spec() *specs.Spec {
	s := &specs.Spec{Version: r.str()}
	if r.bool() {
		p := &specs.Process{Terminal: r.bool()}
		p.User.UID = uint32(r.uint())
		p.User.GID = uint32(r.uint())
		if n, ok := r.count(); ok {
			p.User.AdditionalGids = make([]uint32, n)
			for i := range p.User.AdditionalGids {
				p.User.AdditionalGids[i] = uint32(r.uint())
			}
		}
		p.User.Username = r.str()
		p.Args = r.strs()
		p.Env = r.strs()
		p.Cwd = r.str()
		if r.bool() {
			p.Capabilities = &specs.LinuxCapabilities{Bounding: r.strs(), Effective: r.strs(), Inheritable: r.strs(), Permitted: r.strs(), Ambient: r.strs()}
		}
		if n, ok := r.count(); ok {
			p.Rlimits = make([]specs.POSIXRlimit, n)
			for i := range p.Rlimits {
				p.Rlimits[i] = specs.POSIXRlimit{Type: r.str(), Hard: r.uint(), Soft: r.uint()}
			}
		}
		p.NoNewPrivileges = r.bool()
		p.SelinuxLabel = r.str()
		s.Process = p
	}
	if r.bool() {
		s.Root = &specs.Root{Path: r.str(), Readonly: r.bool()}
	}
	s.Hostname = r.str()
	if n, ok := r.count(); ok {
		s.Mounts = make([]specs.Mount, n)
		for i := range s.Mounts {
			s.Mounts[i] = specs.Mount{Destination: r.str(), Type: r.str(), Source: r.str(), Options: r.strs()}
		}
	}
	if r.bool() {
		l := &specs.Linux{}
		if n, ok := r.count(); ok {
			l.Namespaces = make([]specs.LinuxNamespace, n)
			for i := range l.Namespaces {
				l.Namespaces[i] = specs.LinuxNamespace{Type: specs.LinuxNamespaceType(r.str()), Path: r.str()}
			}
		}
		if r.bool() {
			res := &specs.LinuxResources{}
			if r.bool() {
				res.Memory = &specs.LinuxMemory{Limit: r.optInt()}
			}
			if r.bool() {
				res.Pids = &specs.LinuxPids{Limit: r.optInt()}
			}
			if r.bool() {
				res.CPU = &specs.LinuxCPU{Quota: r.optInt()}
				if r.bool() {
					period := r.uint()
					res.CPU.Period = &period
				}
			}
			l.Resources = res
		}
		l.MaskedPaths = r.strs()
		l.ReadonlyPaths = r.strs()
		l.MountLabel = r.str()
		s.Linux = l
	}
	s.Annotations = r.stringMap()
	return s
}
