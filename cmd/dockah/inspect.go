package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"text/template"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/cmd/internal/launch"
	"github.com/dockah/dockah/policy"
	"github.com/dockah/dockah/unitgen"
)

// inspection is what `inspect` prints for one container.
type inspection struct {
	Name       string              `json:"name"`
	Definition inspectedDefinition `json:"definition"`
	Units      inspectedUnits      `json:"units"`
	Image      inspectedImage      `json:"image"`
	// Spec is the OCI runtime spec the shim builds (dockah spec NAME).
	Spec json.RawMessage `json:"spec"`
	// SELinuxLabel is the process label in use, or why there is none.
	SELinuxLabel string          `json:"selinuxLabel"`
	UserNS       inspectedUserNS `json:"userns"`
	State        containerStatus `json:"state"`
	// Problems are what could not be found out, one line each.
	Problems []string `json:"problems,omitempty"`
}

type inspectedDefinition struct {
	Source  string         `json:"source"`
	DropIns []string       `json:"dropIns"`
	Merged  map[string]any `json:"merged"`
}

type inspectedUnits struct {
	Service string   `json:"service"`
	Sockets []string `json:"sockets"`
}

// inspectedImage is the image the definition names, as `image inspect`
// prints it, and the reference it was found by.
type inspectedImage struct {
	Ref string `json:"ref"`
	*inspected
}

type inspectOptions struct {
	sysroot string
	format  string
}

func newInspectCommand(opts *globalOptions) *cobra.Command {
	io := &inspectOptions{}
	cmd := containersCommand("inspect NAME...",
		"Print containers' definition, units, image, runtime spec, label and state as JSON",
		`Print, as a JSON array with one object per container:

  definition    the files read and the merged definition, keyed as in TOML
  units         NAME.service and the socket units
  image         the image the definition names, from the store
  spec          the OCI runtime spec the shim would run (as dockah spec)
  selinuxLabel  the process label in use, or "none (SELinux off)"
  userns        the user namespace: mode ("auto" or "host"), the range the
                store holds (uidMap, gidMap: container ID, host ID, count)
                and the running init's maps (runningUidMap, runningGidMap)
  state         what systemd knows (an object of dockah ps --format json)

What cannot be found out (a missing image, a spec that cannot be built)
is listed under "problems" and does not stop the rest.`,
		`  dockah inspect web
  dockah inspect web@blue | jq '.[0].spec.process.args'
  dockah inspect web | jq -r '.[0].state.mainPID'
  dockah inspect --format '{{.State.MainPID}} {{.Image.Ref}}' web`,
		func(c *cobra.Command, names []string) error {
			return runInspect(c, opts, io, names)
		})
	cmd.Flags().StringVarP(&io.format, "format", "f", "json", "json, or a Go template run on each container ({{.Name}}, {{.State.MainPID}}, {{.State.State}}, {{.Image.Ref}}, {{.Definition.Source}}, {{json .Definition.Merged}}...)")
	addSysrootFlag(cmd, &io.sysroot)
	return cmd
}

func runInspect(c *cobra.Command, opts *globalOptions, io *inspectOptions, names []string) error {
	var tmpl *template.Template
	if io.format != formatJSON {
		var err error
		if tmpl, err = parseFormatTemplate(io.format, inspection{}, "{{.State.MainPID}}"); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	ctx := c.Context()
	conn, err := openSystemd(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var out []inspection
	for _, name := range names {
		in, err := inspectContainer(ctx, conn, opts, io, name)
		if err != nil {
			return err
		}
		out = append(out, *in)
	}
	if tmpl == nil {
		return writeJSON(c.OutOrStdout(), out)
	}
	for _, in := range out {
		if err := tmpl.Execute(c.OutOrStdout(), in); err != nil {
			return fmt.Errorf("--format: %s: %w", in.Name, err)
		}
		if !strings.HasSuffix(io.format, "\n") {
			fmt.Fprintln(c.OutOrStdout())
		}
	}
	return nil
}

func inspectContainer(ctx context.Context, conn *sdbus.Conn, opts *globalOptions, io *inspectOptions, name string) (*inspection, error) {
	def, err := loadDefinedOrRun(os.DirFS(io.sysroot), name)
	if err != nil {
		return nil, err
	}
	in := &inspection{
		Name:       def.Name,
		Definition: inspectedDefinition{Source: def.SourcePath, DropIns: append([]string{}, def.DropIns...), Merged: definitionJSON(def)},
		Units:      inspectedUnits{Service: def.ServiceUnit(), Sockets: []string{}},
		Image:      inspectedImage{Ref: def.Container.Image},
	}
	for _, s := range def.SocketUnits() {
		in.Units.Sockets = append(in.Units.Sockets, s.Unit)
	}
	if err := in.addImage(opts); err != nil {
		in.Problems = append(in.Problems, "image: "+err.Error())
	}
	if in.Spec, err = runtimeSpec(opts, name); err != nil {
		in.Problems = append(in.Problems, "spec: "+err.Error())
	}
	states, err := queryStatus(ctx, conn, []*unitgen.Definition{def}, time.Now())
	if err != nil {
		return nil, err
	}
	addStopRecords(ctx, states)
	in.State = states[0]
	in.SELinuxLabel = selinuxLabel(policy.HostSELinux().Enabled(), in.State, def.Container.Init, in.Spec)
	if in.UserNS, err = userNSOf(opts, def, in.State.MainPID); err != nil {
		in.Problems = append(in.Problems, "userns: "+err.Error())
	}
	return in, nil
}

// inspectedUserNS is a container's user namespace: the definition's mode,
// the range the store holds for it (uid_map and gid_map lines: container
// ID, host ID, count), and the maps of its running init as the kernel
// shows them.
type inspectedUserNS struct {
	Mode          string `json:"mode"`
	UIDMap        string `json:"uidMap,omitempty"`
	GIDMap        string `json:"gidMap,omitempty"`
	RunningUIDMap string `json:"runningUidMap,omitempty"`
	RunningGIDMap string `json:"runningGidMap,omitempty"`
}

func userNSOf(opts *globalOptions, def *unitgen.Definition, pid uint32) (inspectedUserNS, error) {
	out := inspectedUserNS{Mode: def.Security.UserNS}
	if pid != 0 {
		for _, f := range []struct {
			name string
			to   *string
		}{{"uid_map", &out.RunningUIDMap}, {"gid_map", &out.RunningGIDMap}} {
			if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f.name)); err == nil {
				*f.to = strings.Join(strings.Fields(string(data)), " ")
			}
		}
	}
	st, err := openStore(opts)
	if err != nil {
		return out, err
	}
	reg, err := launch.UserNSRegistry(st.Root())
	if err != nil {
		return out, err
	}
	all, err := reg.List()
	if m, ok := all[def.Name]; ok {
		out.UIDMap, out.GIDMap = fmt.Sprintf("0 %d %d", m.UID, m.Size), fmt.Sprintf("0 %d %d", m.GID, m.Size)
	}
	return out, err
}

func (in *inspection) addImage(opts *globalOptions) error {
	st, err := openStore(opts)
	if err != nil {
		return err
	}
	img, err := st.Resolve(in.Image.Ref)
	if err != nil {
		return err
	}
	names, err := namesByID(st)
	if err != nil {
		return err
	}
	i := inspect(st, img, names[img.ID])
	in.Image.inspected = &i
	return nil
}

// runtimeSpec asks the shim for the container's spec, as `dockah spec`
// does: one code path for what runs and what is shown.
func runtimeSpec(opts *globalOptions, name string) (json.RawMessage, error) {
	shim := exec.Command(shimPath, "--spec", name)
	shim.Env = append(os.Environ(), "DOCKAH_ROOT="+opts.storeRoot)
	var stdout, stderr bytes.Buffer
	shim.Stdout, shim.Stderr = &stdout, &stderr
	if err := shim.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("%s", lastLine(msg))
		}
		return nil, fmt.Errorf("run %s: %w", shimPath, err)
	}
	if !json.Valid(stdout.Bytes()) {
		return nil, fmt.Errorf("%s --spec printed no JSON", shimPath)
	}
	return json.RawMessage(bytes.TrimSpace(stdout.Bytes())), nil
}

func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	return lines[len(lines)-1]
}

// selinuxLabel is the label a container's processes run with: read from
// its running main process, or from the spec when it does not run or
// when that process is dockah's init (which keeps the shim's label and
// gives the container's to the entrypoint).
func selinuxLabel(enabled bool, st containerStatus, init bool, spec json.RawMessage) string {
	if !enabled {
		return "none (SELinux off)"
	}
	if st.MainPID != 0 && !init {
		if data, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(st.MainPID), 10) + "/attr/current"); err == nil {
			return strings.TrimRight(string(data), "\x00\n")
		}
	}
	var s struct {
		Process struct {
			SelinuxLabel string `json:"selinuxLabel"`
		} `json:"process"`
	}
	if json.Unmarshal(spec, &s) == nil && s.Process.SelinuxLabel != "" {
		return s.Process.SelinuxLabel
	}
	return "none"
}
