package unitgen

import (
	"strings"

	"github.com/dockah/dockah/internal/tomldiag"
)

// Parse merges the drop-ins over the main file, in the order given, and
// converts the result into a Definition of the unit name ("web", "web@" for
// a template, "web@blue" for an instance). Every problem of every file is
// reported, as Diagnostics joined into one error.
func Parse(name string, main File, dropIns ...File) (*Definition, error) {
	return parse(name, main, dropIns, false)
}

// CheckDropIn checks a drop-in on its own, as far as a file can be checked
// without the definition it will be merged into: syntax, keys and values,
// but not the keys every definition needs.
func CheckDropIn(name string, f File) error {
	_, err := parse(name, f, nil, true)
	return err
}

func parse(name string, main File, dropIns []File, partial bool) (*Definition, error) {
	files := make([]string, 0, 1+len(dropIns))
	files = append(files, main.Path)
	for _, f := range dropIns {
		files = append(files, f.Path)
	}
	if msg := checkName(name); msg != "" {
		return nil, &Diagnostic{Unit: name, Diagnostic: tomldiag.Diagnostic{File: main.Path, Msg: "the file name makes the container name " + quote(name) + ", which " + msg, Accepted: acceptName}}
	}
	var diags []*Diagnostic
	var root *node
	for i, f := range append([]File{main}, dropIns...) {
		tree, diag := decodeFile(name, f)
		if diag != nil {
			diags = append(diags, diag)
			continue
		}
		if i == 0 || root == nil {
			root = tree
			continue
		}
		root = mergeRoot(root, tree)
	}
	if len(diags) > 0 {
		return nil, joinDiagnostics(diags, files)
	}
	_, instance, _ := strings.Cut(name, "@")
	c := &converter{unit: name, instance: instance, template: strings.HasSuffix(name, "@")}
	d := &Definition{
		Name:       name,
		Instance:   instance,
		SourcePath: main.Path,
		DropIns:    files[1:],
		Container:  Container{Network: NetworkNone, Pull: PullMissing},
		Security:   Security{Seccomp: SeccompDefault, NoNewPrivileges: true, UnitSandbox: UnitSandboxShim, UserNS: UserNSDefault, UserNSSize: DefaultUserNSSize},
	}
	walk(c, root, "", topFields, d)
	c.checkDefinition(root, d, partial)
	if len(c.diags) > 0 {
		return nil, joinDiagnostics(c.diags, files)
	}
	return d, nil
}

// lookup returns the node at the keys below root, or nil.
func lookup(root *node, keys ...string) *node {
	n := root
	for _, k := range keys {
		if n == nil || n.table == nil {
			return nil
		}
		n = n.table[k]
	}
	return n
}

// checkDefinition checks what depends on several keys.
func (c *converter) checkDefinition(root *node, d *Definition, partial bool) {
	if !partial && lookup(root, "container", "image") == nil {
		at := root
		if n := lookup(root, "container"); n != nil {
			at = n
		}
		c.fail(at, "container.image", acceptImage, "missing: every container needs an image")
	}
	c.checkTargets(root, d)
	c.checkNetworks(root, d)
	if n := lookup(root, "service", "idle_timeout"); n != nil && d.Service.IdleTimeout > 0 && !hasForwarded(d.Sockets) {
		c.fail(n, "service.idle_timeout", "idle_timeout with a [[socket]] that has a port", "only forwarded sockets (with port) can tell that the container is idle")
	}
	if n := lookup(root, "service", "default_instance"); n != nil && !c.template && c.instance == "" {
		c.fail(n, "service.default_instance", "default_instance in templates (NAME@.toml) only", "%s is not a template", d.Name)
	}
	if n := lookup(root, "service", "wanted_by"); n != nil && c.template && d.Service.DefaultInstance == "" && len(d.Service.WantedBy) > 0 && !partial {
		c.fail(n, "service.wanted_by", "default_instance with wanted_by in a template", "a template starts at boot as its default_instance, which is not set")
	}
	for _, key := range []string{"after", "requires", "wants"} {
		n := lookup(root, "service", key)
		if n == nil {
			continue
		}
		for i, dep := range n.list {
			if s, ok := dep.value.(string); ok && dependencyUnit(s) == d.Name+".service" {
				c.fail(n.list[i], "service."+key, "other containers or units", "%s is this container itself", quote(s))
			}
		}
	}
}

// checkNetworks normalizes network and networks into Networks and checks
// that ip and aliases come with a network to apply to.
func (c *converter) checkNetworks(root *node, d *Definition) {
	ct := &d.Container
	one, many := lookup(root, "container", "network"), lookup(root, "container", "networks")
	switch {
	case one != nil && many != nil:
		c.fail(many, "container.networks", "network or networks, not both", "is given with network")
	case many != nil && len(ct.Networks) == 0:
		ct.Network = NetworkNone
	case many != nil:
		seen := map[string]bool{}
		for i, name := range ct.Networks {
			if seen[name] {
				c.fail(many.list[i], "container.networks", "each network once", "%s is listed twice", quote(name))
			}
			seen[name] = true
		}
		ct.Network = ct.Networks[0]
	case ct.Network != NetworkNone && ct.Network != NetworkHost && ct.Network != "":
		ct.Networks = []string{ct.Network}
	}
	if ct.Network == "" {
		ct.Network = NetworkNone
	}
	for _, key := range []string{"ip", "aliases"} {
		if n := lookup(root, "container", key); n != nil && len(ct.Networks) == 0 {
			c.fail(n, "container."+key, `network = "NAME" or networks = [...]`, "applies to a network, and the container joins none")
		}
	}
}

// checkTargets rejects two mounts (volumes or tmpfs) at one target.
func (c *converter) checkTargets(root *node, d *Definition) {
	seen := map[string]bool{}
	see := func(table string, i int, target string) {
		if target == "" {
			return
		}
		if seen[target] {
			n := lookup(root, table)
			if n != nil && i < len(n.list) {
				if t := lookup(n.list[i], "target"); t != nil {
					n = t
				}
			}
			c.fail(n, table+".target", "each target once", "%s is already the target of a volume or tmpfs", quote(target))
		}
		seen[target] = true
	}
	for i, v := range d.Volumes {
		see("volume", i, v.Target)
	}
	for i, t := range d.Tmpfs {
		see("tmpfs", i, t.Target)
	}
}

func hasForwarded(sockets []Socket) bool {
	for _, s := range sockets {
		if s.Port != 0 {
			return true
		}
	}
	return false
}
