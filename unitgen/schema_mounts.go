package unitgen

import (
	"io/fs"
	"strconv"
)

var socketFields = withPrefix("socket", []field[Socket]{
	{"listen", func(c *converter, n *node, key string, out *Socket) {
		if port, ok := n.value.(int64); ok {
			out.Listen = strconv.FormatInt(port, 10) // listen = 8080 is a port
			return
		}
		out.Listen, _ = c.line(n, key)
	}},
	{"type", func(c *converter, n *node, key string, out *Socket) {
		out.Type, _ = c.oneOf(n, key, SocketStream, SocketDatagram, SocketSeqPacket)
	}},
	{"port", func(c *converter, n *node, key string, out *Socket) {
		p, _ := c.integer(n, key, 1, 65535)
		out.Port = int(p)
	}},
	{"name", func(c *converter, n *node, key string, out *Socket) {
		out.Name, _ = c.checked(n, key, acceptFDName, checkFDName)
	}},
})

// checkSockets checks what depends on several keys of a socket, or on
// several sockets: the listen address for the type, forwarding only for
// streams, and no address twice.
func checkSockets(c *converter, n *node, key string, sockets []Socket) {
	seen := map[string]bool{}
	for i, s := range sockets {
		if i >= len(n.list) || n.list[i].table == nil {
			continue
		}
		e := n.list[i].table
		if l := e["listen"]; l != nil && s.Listen != "" {
			if msg := checkListen(c.probe(s.Listen), s.Type); msg != "" {
				c.fail(l, key+".listen", acceptListen, "%s %s", quote(s.Listen), msg)
			}
			id := s.Type + " " + s.Listen
			if seen[id] {
				c.fail(l, key+".listen", "each address once", "%s is already a listening %s socket", quote(s.Listen), s.Type)
			}
			seen[id] = true
		}
		if p := e["port"]; p != nil && s.Port != 0 && s.Type != SocketStream {
			c.fail(p, key+".port", `port with type = "stream" only`, "forwarding to a container port needs a stream socket, not %s", s.Type)
		}
	}
}

var volumeFields = withPrefix("volume", []field[Volume]{
	{"source", func(c *converter, n *node, key string, out *Volume) {
		out.Source, _ = c.checked(n, key, acceptVolumeName, checkVolumeSource)
	}},
	{"target", func(c *converter, n *node, key string, out *Volume) {
		out.Target = c.containerPath(n, key)
	}},
	{"read_only", func(c *converter, n *node, key string, out *Volume) { out.ReadOnly, _ = c.boolean(n, key) }},
	{"relabel", func(c *converter, n *node, key string, out *Volume) {
		out.Relabel, _ = c.oneOf(n, key, RelabelPrivate, RelabelShared, RelabelNone)
	}},
	{"copy", func(c *converter, n *node, key string, out *Volume) { out.Copy, _ = c.boolean(n, key) }},
	{"idmap", func(c *converter, n *node, key string, out *Volume) {
		if idmap, ok := c.boolean(n, key); ok {
			out.HostIDs = !idmap
		}
	}},
	{"chown", func(c *converter, n *node, key string, out *Volume) { out.Chown, _ = c.boolean(n, key) }},
})

// checkVolumes checks what depends on several keys of a volume: copy is a
// named volume's (a bind mount shows the host directory as it is, so a
// copy key there says the author expects something that will not happen).
func checkVolumes(c *converter, n *node, key string, volumes []Volume) {
	for i := range volumes {
		var table map[string]*node
		if i < len(n.list) {
			table = n.list[i].table
		}
		if volumes[i].Chown {
			at := n
			if table != nil && table["chown"] != nil {
				at = table["chown"]
			}
			// chown gives a host directory to the range; a named volume
			// is the store's, made for the container's own IDs.
			if volumes[i].IsNamed() {
				c.fail(at, key+".chown", "chown with a bind volume (an absolute source path) only", "%s is a named volume, which is idmapped", quote(volumes[i].Source))
			} else if im := table["idmap"]; table != nil && im != nil && !volumes[i].HostIDs {
				c.fail(im, key+".idmap", "idmap = false, or no idmap key, with chown = true", "chown = true gives the files to the range on disk instead of idmapping them")
			}
		}
		if volumes[i].IsNamed() {
			continue
		}
		volumes[i].Copy = false
		if i >= len(n.list) || n.list[i].table == nil {
			continue
		}
		if cp := n.list[i].table["copy"]; cp != nil {
			c.fail(cp, key+".copy", "copy with a named volume only", "%s is a bind mount of a host directory, which is never copied into", quote(volumes[i].Source))
		}
	}
}

var tmpfsFields = withPrefix("tmpfs", []field[Tmpfs]{
	{"target", func(c *converter, n *node, key string, out *Tmpfs) {
		out.Target = c.containerPath(n, key)
	}},
	{"size", func(c *converter, n *node, key string, out *Tmpfs) {
		out.Size = c.size(n, key)
		if out.Size == Unlimited {
			c.fail(n, key, "a size in bytes with an optional K, M, G or T suffix", "a tmpfs cannot be infinite")
			out.Size = 0
		}
	}},
	{"mode", func(c *converter, n *node, key string, out *Tmpfs) {
		out.Mode = c.mode(n, key)
	}},
})

// size returns a byte size given as an integer or a string.
func (c *converter) size(n *node, key string) uint64 {
	if v, ok := n.value.(int64); ok && v > 0 {
		return uint64(v)
	}
	s, ok := n.value.(string)
	if ok {
		if v, ok := parseSize(s); ok && v > 0 {
			return v
		}
	}
	c.fail(n, key, acceptSize, "expected a size, got %s", describe(n))
	return 0
}

// mode returns permission bits given as an octal string ("1777") or an
// integer (0o1777).
func (c *converter) mode(n *node, key string) fs.FileMode {
	var v uint64
	var err error
	switch x := n.value.(type) {
	case int64:
		v = uint64(x)
		if x < 0 {
			v = 1 << 20
		}
	case string:
		v, err = strconv.ParseUint(x, 8, 32)
	default:
		err = strconv.ErrSyntax
	}
	if err != nil || v > 0o7777 || v == 0 {
		c.fail(n, key, `octal permission bits, e.g. "1777" or 0o755`, "expected a mode, got %s", describe(n))
		return 0
	}
	m := fs.FileMode(v & 0o777)
	if v&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	if v&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if v&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	return m
}
