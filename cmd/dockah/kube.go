//go:build !lean

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/kube"
	"github.com/dockah/dockah/unitgen"
)

func newKubeCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kube",
		Short: "Kubernetes YAML from definitions, and Pods run as definitions",
		Long: `Move containers between this host and a Kubernetes cluster.

"dockah kube generate" writes the YAML of definitions (Pods or Deployments,
PersistentVolumeClaims, Services); "dockah kube play" runs Pods,
Deployments, Services, ConfigMaps, Secrets and PersistentVolumeClaims from
manifests as definitions of this host. See docs/kube.md.`,
		Example: `  dockah kube generate --service web > web.yaml
  dockah kube play web.yaml`,
	}
	cmd.AddCommand(newKubeGenerateCommand(g), newKubePlayCommand(g))
	requireSubcommand(cmd)
	return cmd
}

type kubeGenerateOptions struct {
	kind    string
	service bool
	sysroot string
}

func newKubeGenerateCommand(g *globalOptions) *cobra.Command {
	o := &kubeGenerateOptions{}
	cmd := &cobra.Command{
		Use:   "generate NAME...",
		Short: "Print the Kubernetes YAML of containers",
		Long: `Print the Kubernetes objects that run the containers NAME... in a cluster.

Containers on one network become one Pod named after the network (they
reach each other by name here, by localhost there: their names are the
Pod's hostAliases of 127.0.0.1); any other container is a Pod of its own.
Named volumes become PersistentVolumeClaims, bind mounts hostPath volumes
and tmpfs emptyDir volumes in memory. With --service, a Service per Pod
listens on the sockets' ports and forwards to the container ports.

What has no Kubernetes field (idle_timeout, tasks_max, stop_signal...)
is kept in annotations under dockah.io/ and listed on standard error;
"dockah kube play" puts it back. The output depends only on the
definitions.`,
		Example: `  dockah kube generate web > web.yaml
  dockah kube generate --type deployment --service web db | kubectl apply -f -`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeContainers,
		RunE: func(c *cobra.Command, names []string) error {
			var defs []*unitgen.Definition
			fsys := os.DirFS(o.sysroot)
			for _, name := range names {
				def, err := loadDefinedOrRun(fsys, name)
				if err != nil {
					return err
				}
				defs = append(defs, def)
			}
			opts := kube.Options{Type: o.kind, Service: o.service}
			// The name the store holds an image by says where it came
			// from: localhost/ for an imported one.
			if store, err := openStore(g); err == nil {
				opts.StoredName = func(image string) string {
					ref, _, err := store.LookupName(image)
					if err != nil {
						return ""
					}
					return ref.String()
				}
			}
			out, warnings, err := kube.Generate(defs, opts)
			if err != nil {
				return err
			}
			printWarnings(c.ErrOrStderr(), warnings)
			_, err = c.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&o.kind, "type", kube.TypePod, "what runs the containers: `pod` or deployment")
	cmd.Flags().BoolVar(&o.service, "service", false, "add a Service for the sockets of each Pod")
	addSysrootFlag(cmd, &o.sysroot)
	return cmd
}

func printWarnings(w io.Writer, warnings []kube.Warning) {
	for _, wn := range warnings {
		fmt.Fprintf(w, "dockah: warning: %s\n", wn)
	}
}

type kubePlayOptions struct {
	down, replace, persist, noStart bool
	sysroot                         string
}

func newKubePlayCommand(g *globalOptions) *cobra.Command {
	o := &kubePlayOptions{}
	cmd := &cobra.Command{
		Use:   "play FILE...",
		Short: "Run the Pods of Kubernetes manifests as containers of this host",
		Long: `Run the Pods and Deployments of manifests ("-" is standard input), with
their ConfigMaps, Secrets, PersistentVolumeClaims and Services.

Each container becomes a definition in /run/dockah/containers (with
--persist /etc/dockah/containers, started at boot) named POD, or
POD-CONTAINER in a Pod of several containers, which share a network named
after the Pod and reach each other by container name. A Service's ports
become sockets: the Service's port is the listen address (127.0.0.1 for a
ClusterIP Service, every address for NodePort and LoadBalancer), its
targetPort the container port connections are forwarded to. ConfigMaps and
Secrets mounted as volumes are files in /run/dockah/kube/POD (Secrets
mode 0600 unless defaultMode says otherwise); a PersistentVolumeClaim is
a named volume. systemd reloads and the containers start.

Manifests are read strictly: an unknown field or kind is an error; what
one host cannot honour (replicas, nodeSelector, probes other than TCP...)
is listed as a warning. --down stops the containers of the manifests and
removes their definitions, network and files (named volumes stay).`,
		Example: `  dockah kube play shop.yaml
  dockah kube play --replace - < shop.yaml
  dockah kube play --down shop.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, files []string) error { return kubePlay(c, g, o, files) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.down, "down", false, "stop the containers of the manifests and remove what play wrote")
	f.BoolVar(&o.replace, "replace", false, "replace containers a play of the same Pods wrote (stop, rewrite, start)")
	f.BoolVar(&o.persist, "persist", false, "write to /etc (kept, started at boot) instead of /run")
	f.BoolVar(&o.noStart, "no-start", false, "write the definitions and reload, start nothing")
	addSysrootFlag(cmd, &o.sysroot)
	return cmd
}

// kubeDirs are where play writes, below the sysroot.
func kubeDirs(persist bool) kube.PlayOptions {
	base := "/run/dockah"
	if persist {
		base = "/etc/dockah"
	}
	return kube.PlayOptions{ContainersDir: base + "/containers", NetworksDir: base + "/networks", DataDir: base + "/kube", Persist: persist}
}

func kubePlay(c *cobra.Command, g *globalOptions, o *kubePlayOptions, files []string) error {
	var objs []kube.Object
	var warnings []kube.Warning
	var errs []error
	for _, name := range files {
		data, err := readManifest(c.InOrStdin(), name)
		if err != nil {
			return err
		}
		got, w, err := kube.Parse(name, data)
		objs, warnings = append(objs, got...), append(warnings, w...)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	plan, err := kube.Play(objs, kubeDirs(o.persist))
	if err != nil {
		return err
	}
	if !o.down {
		printWarnings(c.ErrOrStderr(), append(warnings, plan.Warnings...))
	}
	ctx := c.Context()
	conn, err := openSystemd(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if o.down {
		return kubeDown(ctx, c.ErrOrStderr(), g, conn, o.sysroot, plan)
	}
	if err := checkPlayFree(o.sysroot, plan, o.replace); err != nil {
		return err
	}
	if o.replace {
		if err := kubeDown(ctx, c.ErrOrStderr(), g, conn, o.sysroot, plan); err != nil {
			return err
		}
	}
	if err := writePlan(o.sysroot, plan); err != nil {
		return err
	}
	if err := conn.ReloadContext(ctx); err != nil {
		return fmt.Errorf("reload systemd: %w", err)
	}
	if o.noStart {
		return nil
	}
	errs = nil
	for _, pc := range plan.Containers {
		for _, unit := range playUnits(pc.Def) {
			if err := runJob(ctx, conn, "start", unit, true); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) == 0 {
			fmt.Fprintln(c.OutOrStdout(), pc.Name)
		}
	}
	return summarize(c.ErrOrStderr(), "start", len(plan.Containers), errs)
}

// playUnits are what play starts: the sockets, then the service (a Pod
// runs at once, not on the first connection).
func playUnits(def *unitgen.Definition) []string {
	var units []string
	for _, s := range def.SocketUnits() {
		units = append(units, s.Unit)
	}
	return append(units, def.ServiceUnit())
}

func readManifest(stdin io.Reader, name string) ([]byte, error) {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	// One byte more than allowed, so that Parse sees the file is too big.
	data, err := io.ReadAll(io.LimitReader(r, kube.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return data, nil
}

// checkPlayFree refuses to overwrite definitions that another play or a
// person wrote, unless --replace says the play's own may go.
func checkPlayFree(root string, plan *kube.Plan, replace bool) error {
	fsys := os.DirFS(root)
	for _, pc := range plan.Containers {
		def, err := unitgen.LoadUnit(fsys, pc.Name)
		if errors.Is(err, unitgen.ErrNotFound) {
			continue
		}
		if err == nil && replace && def.Container.Labels[kube.PodLabel] == pc.Pod {
			continue
		}
		if err == nil && def.Container.Labels[kube.PodLabel] == pc.Pod {
			return fmt.Errorf("container %s exists (%s): it is of the Pod %s, played before (use --replace, or --down first)", pc.Name, def.SourcePath, pc.Pod)
		}
		where := pc.Name
		if def != nil {
			where = def.SourcePath
		}
		return fmt.Errorf("container %s exists (%s) and is not of the Pod %s: rename the Pod", pc.Name, where, pc.Pod)
	}
	for _, n := range plan.Networks {
		p := filepath.Join(root, n.Path)
		if _, err := os.Stat(p); err == nil && !replace {
			return fmt.Errorf("network %s exists (%s): rename the Pod, or --replace", n.Name, n.Path)
		}
	}
	return nil
}

// writePlan writes the definitions, networks and files.
func writePlan(root string, plan *kube.Plan) error {
	// The Pods' directories hold Secrets: only root gets through them
	// (a container sees the directory bind-mounted, not its parents).
	for _, d := range plan.Dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return err
		}
		if err := os.Chmod(filepath.Join(root, filepath.Dir(d)), 0o700); err != nil {
			return err
		}
	}
	for _, d := range plan.Mkdirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	var files []kube.PlannedFile
	files = append(files, plan.Files...)
	files = append(files, plan.Networks...)
	for _, pc := range plan.Containers {
		files = append(files, kube.PlannedFile{Path: pc.Path, Data: pc.Data, Mode: 0o644})
	}
	for _, f := range files {
		p := filepath.Join(root, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := writeFileMode(p, f.Data, f.Mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

// writeFileMode writes data to p through a temporary file of mode, so
// that a Secret is never readable by others, not even while written.
func writeFileMode(p string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), ".dockah-kube-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// kubeDown stops the containers of plan and removes what play wrote.
func kubeDown(ctx context.Context, w io.Writer, g *globalOptions, conn *sdbus.Conn, root string, plan *kube.Plan) error {
	var errs []error
	for _, pc := range slices.Backward(plan.Containers) {
		if _, err := os.Stat(filepath.Join(root, pc.Path)); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		units := []string{pc.Def.ServiceUnit()}
		for _, s := range pc.Def.SocketUnits() {
			units = append(units, s.Unit)
		}
		for _, unit := range units {
			if err := runJob(ctx, conn, "stop", unit, true); err != nil && !isNoSuchUnit(err) {
				errs = append(errs, err)
			}
			_ = conn.ResetFailedUnitContext(ctx, unit)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	store, _ := openStore(g)
	for _, pc := range plan.Containers {
		if err := removeIfExists(filepath.Join(root, pc.Path)); err != nil {
			errs = append(errs, err)
		}
		if store != nil {
			if err := store.RemoveContainer(pc.Name); err != nil {
				errs = append(errs, fmt.Errorf("remove the writable layer of %s: %w", pc.Name, err))
			}
		}
	}
	for _, n := range plan.Networks {
		errs = append(errs, removeIfExists(filepath.Join(root, n.Path)))
	}
	for _, d := range plan.Dirs {
		if err := os.RemoveAll(filepath.Join(root, d)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := conn.ReloadContext(ctx); err != nil {
		return fmt.Errorf("reload systemd: %w", err)
	}
	for _, pc := range plan.Containers {
		fmt.Fprintf(w, "removed %s\n", pc.Name)
	}
	return nil
}

func removeIfExists(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
