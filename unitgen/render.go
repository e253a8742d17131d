package unitgen

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dockah/dockah/internal/tomldiag"
)

// Options are what Render needs besides the definition.
type Options struct {
	// ShimPath is the absolute path of dockah-activate, which every
	// NAME.service runs as "SHIM NAME".
	ShimPath string
}

func (o Options) check() error {
	if !strings.HasPrefix(o.ShimPath, "/") || path.Clean(o.ShimPath) != o.ShimPath || hasControl(o.ShimPath) {
		return fmt.Errorf("render units: shim path %s is not a clean absolute path", quote(o.ShimPath))
	}
	return nil
}

// Unit is a generated unit file.
type Unit struct {
	Name string // "web.service"
	Text string
}

// Link is a generated symbolic link: a .wants/ entry, or a mask.
type Link struct {
	Path   string // relative to the output directory: "multi-user.target.wants/web.socket"
	Target string // what the link points to: "../web.socket" or "/dev/null"
}

// Output is what Render and Generate make: files to write into the
// generator's output directory.
type Output struct {
	Units []Unit
	Links []Link
}

// SocketUnit is one socket unit of a container and the sockets it holds.
// FileDescriptorName= applies to a whole socket unit, so sockets are
// grouped by name (a socket without a name has the container's name): the
// group of the first [[socket]] is NAME.socket, every other group is
// NAME-GROUP.socket (NAME-GROUP@INST.socket for an instance). The shim
// finds each socket among the passed fds by FDName (LISTEN_FDNAMES) and its
// position in Sockets.
type SocketUnit struct {
	Unit    string
	FDName  string
	Sockets []Socket
}

// SocketUnits returns the socket units of d, in the order of their first
// socket; none when d declares no socket.
func (d *Definition) SocketUnits() []SocketUnit {
	var units []SocketUnit
	index := map[string]int{}
	for _, s := range d.Sockets {
		name := s.Name
		if name == "" {
			name = strings.ReplaceAll(d.Prefix(), ":", "_")
		}
		i, ok := index[name]
		if !ok {
			i = len(units)
			index[name] = i
			extra := name
			if i == 0 {
				extra = ""
			}
			units = append(units, SocketUnit{Unit: d.unitName(extra, "socket", d.Instance), FDName: name})
		}
		units[i].Sockets = append(units[i].Sockets, s)
	}
	return units
}

// unitName returns the name of a unit of d: NAME[-EXTRA][@INSTANCE].TYPE;
// a template keeps its "@" with the given instance, which may be empty.
func (d *Definition) unitName(extra, typ, instance string) string {
	name := d.Prefix()
	if extra != "" {
		name += "-" + extra
	}
	if strings.Contains(d.Name, "@") {
		name += "@" + instance
	}
	return name + "." + typ
}

// ServiceUnit returns the name of d's service: "web.service", "web@.service"
// for a template, "web@blue.service" for an instance; for the scope of an
// attached dockah run (Scope), "NAME.scope", the unit that holds it.
func (d *Definition) ServiceUnit() string {
	if d.Scope {
		return d.unitName("", "scope", d.Instance)
	}
	return d.unitName("", "service", d.Instance)
}

// Render renders the units of one definition: NAME.service, its socket
// units, and the .wants/ links of wanted_by. The text depends only on d and
// opts.
func Render(d *Definition, opts Options) (*Output, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	r := &renderer{d: d, opts: opts, template: d.IsTemplate()}
	r.desc = r.description()
	sockets := d.SocketUnits()
	out := &Output{Units: []Unit{{Name: d.ServiceUnit(), Text: r.service(sockets)}}}
	for _, s := range sockets {
		out.Units = append(out.Units, Unit{Name: s.Unit, Text: r.socket(s)})
	}
	if u, ok := r.presentCondition(); ok {
		out.Units = append(out.Units, u)
	}
	for _, u := range out.Units {
		if len(u.Name) > 255 {
			return nil, &Diagnostic{Unit: d.Name, Diagnostic: tomldiag.Diagnostic{File: d.SourcePath, Msg: fmt.Sprintf("the unit name %s is longer than 255 characters", quote(u.Name)), Accepted: "shorter container and socket names"}}
		}
	}
	out.Links = r.links(sockets)
	return out, nil
}

type renderer struct {
	d        *Definition
	opts     Options
	template bool
	desc     string // "NAME (IMAGE)", escaped
}

// name is the container's name in the unit: a template's instance is left
// to systemd ("web@%i").
func (r *renderer) name() string {
	if r.template {
		return r.d.Name + "%i"
	}
	return r.d.Name
}

// ref returns how one unit of d names another of d's units: a template's
// units name the same instance of each other ("web@%i.socket").
func (r *renderer) ref(unit string) string {
	if r.template {
		return strings.Replace(unit, "@.", "@%i.", 1)
	}
	return specifiers(unit, false)
}

// spec escapes a value for a directive that expands specifiers.
func (r *renderer) spec(s string) string { return specifiers(s, r.template) }

// unitWriter builds the text of a unit file.
type unitWriter struct{ strings.Builder }

func (w *unitWriter) section(name string) {
	if w.Len() > 0 {
		w.WriteByte('\n')
	}
	w.WriteString("[" + name + "]\n")
}

// set writes one directive; values reach it escaped already.
func (w *unitWriter) set(key, value string) {
	w.WriteString(key)
	w.WriteByte('=')
	w.WriteString(value)
	w.WriteByte('\n')
}

// header writes the comment that says where the unit comes from.
func (r *renderer) header(w *unitWriter) {
	w.Grow(1024)
	w.WriteString("# Generated by dockah-generator from " + comment(r.d.SourcePath) + "\n")
	for _, p := range r.d.DropIns {
		w.WriteString("# and " + comment(p) + "\n")
	}
	w.WriteString("# Edit the definition, not this file, then run \"systemctl daemon-reload\".\n")
}

// sourcePath writes SourcePath=, which systemd takes only absolute.
func (r *renderer) sourcePath(w *unitWriter) {
	if strings.HasPrefix(r.d.SourcePath, "/") && !hasControl(r.d.SourcePath) {
		w.set("SourcePath", r.spec(r.d.SourcePath))
	}
}

// description returns what the Description= of d's units end with.
func (r *renderer) description() string {
	return text(r.name()+" ("+r.d.Container.Image+")", r.template)
}

// service renders NAME.service.
func (r *renderer) service(sockets []SocketUnit) string {
	d, w := r.d, &unitWriter{}
	r.header(w)
	w.section("Unit")
	w.set("Description", "dockah container "+r.desc)
	r.sourcePath(w)
	r.pullDependency(w)
	r.dependencies(w)
	writeRaw(w, d.Systemd.Unit)

	w.section("Service")
	w.set("Type", "notify")
	if d.Container.Notify {
		w.set("NotifyAccess", "all")
	} else {
		w.set("NotifyAccess", "main")
	}
	w.set("ExecStart", execWord(r.spec(r.opts.ShimPath))+" "+execWord(r.spec(r.name())))
	// The stop record of the audit trail; "-": it never fails the unit.
	w.set("ExecStopPost", "-"+execWord(r.spec(r.opts.ShimPath))+" --stopped "+execWord(r.spec(r.name())))
	if len(sockets) > 0 {
		names := make([]string, len(sockets))
		for i, s := range sockets {
			names[i] = r.ref(s.Unit)
		}
		w.set("Sockets", strings.Join(names, " "))
	}
	w.set("KillMode", "mixed")
	if d.Service.StopSignal != "" {
		w.set("KillSignal", d.Service.StopSignal)
	}
	if d.Service.StartTimeout != 0 {
		w.set("TimeoutStartSec", formatDuration(d.Service.StartTimeout))
	}
	r.stopping(w)
	if d.Service.Restart != "" {
		w.set("Restart", d.Service.Restart)
	}
	// The shim exits 78 (EX_CONFIG) when only an administrator can help
	// (bad definition, missing image): restarting would only loop.
	w.set("RestartPreventExitStatus", "78")
	w.set("SyslogIdentifier", r.spec(r.name()))
	w.set("LogExtraFields", word(r.spec("DOCKAH_CONTAINER="+r.name())))
	w.set("LogExtraFields", word(r.spec("DOCKAH_IMAGE="+d.Container.Image)))
	r.resources(w)
	r.hardening(w)
	writeRaw(w, d.Systemd.Service)
	return w.String()
}

// DefaultStopTimeout is how long a container has after its stop signal
// before SIGKILL, as in Docker and Podman (systemd's own default is 90s).
const DefaultStopTimeout = 10 * time.Second

// stopping writes the stop timeout, and makes an end by the stop signal a
// success: a shell or an init that exits 128+N after signal N, or a
// process killed by a stop signal other than SIGTERM (which systemd
// already counts as clean), leaves the unit inactive, not failed.
func (r *renderer) stopping(w *unitWriter) {
	timeout := r.d.Service.StopTimeout
	if timeout == 0 {
		timeout = DefaultStopTimeout
	}
	w.set("TimeoutStopSec", formatDuration(timeout))
	sig := r.d.Service.StopSignal
	if sig == "" {
		sig = "SIGTERM"
	}
	if n := signalNumber(sig); n > 0 {
		success := strconv.Itoa(128 + n)
		if sig != "SIGTERM" {
			success += " " + sig
		}
		w.set("SuccessExitStatus", success)
	}
}

// dependencies writes After=, Requires= and Wants=; requires implies
// after, as a container that needs another needs it started first.
func (r *renderer) dependencies(w *unitWriter) {
	s := r.d.Service
	after := append(append([]string(nil), s.After...), s.Requires...)
	wants := s.Wants
	if r.d.Container.JoinsNetworks() {
		// The containers of a network resolve each other's names
		// through the resolver, whose socket listens before the first
		// of them starts.
		after = append(after, DNSSocket)
		wants = append(slices.Clip(wants), DNSSocket)
	}
	if r.d.Security.UserNS == UserNSAuto && r.d.Security.UIDMap == nil {
		// The pool its range comes from becomes the "containers" entry
		// of /etc/subuid and /etc/subgid, which the shim cannot write.
		// No After=: the shim allocates from the same span with or
		// without the entry, so no start waits for it.
		wants = append(slices.Clip(wants), SubIDsService)
	}
	for _, dep := range []struct {
		key   string
		names []string
	}{{"After", after}, {"Requires", s.Requires}, {"Wants", wants}} {
		seen := map[string]bool{}
		var units []string
		for _, n := range dep.names {
			u := r.spec(dependencyUnit(n))
			if !seen[u] {
				seen[u] = true
				units = append(units, u)
			}
		}
		if len(units) > 0 {
			w.set(dep.key, strings.Join(units, " "))
		}
	}
}

// resources writes the resource directives that are set.
func (r *renderer) resources(w *unitWriter) {
	res := r.d.Resources
	for _, s := range []struct {
		key  string
		size uint64
	}{{"MemoryMax", res.MemoryMax}, {"MemoryHigh", res.MemoryHigh}, {"MemorySwapMax", res.MemorySwapMax}} {
		if s.size != 0 {
			w.set(s.key, formatSize(s.size))
		}
	}
	if res.CPUQuota != 0 {
		w.set("CPUQuota", strconv.Itoa(res.CPUQuota)+"%")
	}
	if res.CPUWeight != 0 {
		w.set("CPUWeight", strconv.Itoa(res.CPUWeight))
	}
	if res.TasksMax != 0 {
		w.set("TasksMax", formatSize(res.TasksMax))
	}
	if res.IOWeight != 0 {
		w.set("IOWeight", strconv.Itoa(res.IOWeight))
	}
}

// writeRaw writes pass-through directives as they are.
func writeRaw(w *unitWriter, dirs []Directive) {
	for _, d := range dirs {
		w.set(d.Key, d.Value)
	}
}

var listenDirective = map[string]string{
	SocketStream:    "ListenStream",
	SocketDatagram:  "ListenDatagram",
	SocketSeqPacket: "ListenSequentialPacket",
}

// socket renders one socket unit.
func (r *renderer) socket(s SocketUnit) string {
	w := &unitWriter{}
	r.header(w)
	w.section("Unit")
	w.set("Description", "dockah sockets of container "+r.desc)
	r.sourcePath(w)

	w.section("Socket")
	for _, sock := range s.Sockets {
		w.set(listenDirective[sock.Type], r.spec(sock.Listen))
	}
	w.set("FileDescriptorName", r.spec(s.FDName))
	w.set("Service", r.ref(r.d.ServiceUnit()))
	writeRaw(w, r.d.Systemd.Socket)
	return w.String()
}

// links returns the .wants/ links of wanted_by: a container with sockets
// listens at boot and starts on the first connection, so its socket units
// are linked; one without sockets is started at boot, so its service is.
// A template is linked as its default_instance.
func (r *renderer) links(sockets []SocketUnit) []Link {
	d := r.d
	instance := d.Instance
	if r.template {
		if d.Service.DefaultInstance == "" {
			return nil
		}
		instance = d.Service.DefaultInstance
	}
	var units [][2]string // link name, file name
	if len(sockets) == 0 {
		units = append(units, [2]string{d.unitName("", "service", instance), d.ServiceUnit()})
	}
	for i, s := range sockets {
		extra := s.FDName
		if i == 0 {
			extra = ""
		}
		units = append(units, [2]string{d.unitName(extra, "socket", instance), s.Unit})
	}
	var links []Link
	for _, target := range d.Service.WantedBy {
		if r.template {
			target = expandSpecifiers(target, instance)
		}
		for _, u := range units {
			links = append(links, Link{Path: target + ".wants/" + u[0], Target: "../" + u[1]})
		}
	}
	return links
}
