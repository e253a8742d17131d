//go:build !lean

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/network"
	"github.com/dockah/dockah/unitgen"
)

func newNetworkCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network COMMAND",
		Short: "List, inspect, create and remove container networks",
		Long: `Networks are definitions in /etc/dockah/networks/NAME.toml (and /run,
/usr/lib, with drop-ins, as containers); the network "dockah" exists without
one. Containers join them with network = "NAME" in [container]; see
docs/networks.md.`,
		Example: "  dockah network ls\n  dockah network create app",
	}
	cmd.AddCommand(newNetworkLsCommand(opts), newNetworkInspectCommand(opts), newNetworkCreateCommand(opts),
		newNetworkRmCommand(opts), newNetworkServeDNSCommand(opts))
	requireSubcommand(cmd)
	return cmd
}

var networkFS = os.DirFS("/")

func newNetworkLsCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Short:   "List the networks: subnet, bridge, and the containers running on each",
		Example: "  dockah network ls",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			nets, err := network.LoadAll(networkFS)
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tSUBNET\tBRIDGE\tINTERNAL\tDNS\tRUNNING")
			for _, n := range nets {
				st, _ := network.ReadState(filepath.Join(network.StateDir(opts.storeRoot), n.Name+".json"))
				subnet := "(at first use)"
				if n = n.WithSubnet(st.Subnet); n.Subnet.IsValid() {
					subnet = n.Subnet.String()
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%t\t%t\t%d\n", n.Name, subnet, n.Bridge, n.Internal, n.DNS, st.ActiveCount())
			}
			w.Flush()
			return err
		},
	}
}

// networkInfo is what inspect prints of a network.
type networkInfo struct {
	Name     string                    `json:"name"`
	File     string                    `json:"file,omitempty"`
	Subnet   string                    `json:"subnet,omitempty"`
	Gateway  string                    `json:"gateway,omitempty"`
	Subnet6  string                    `json:"subnet6,omitempty"`
	Gateway6 string                    `json:"gateway6,omitempty"`
	Internal bool                      `json:"internal"`
	DNS      bool                      `json:"dns"`
	Bridge   string                    `json:"bridge"`
	MTU      int                       `json:"mtu,omitempty"`
	Leases   map[string]*network.Lease `json:"leases"`
}

func orEmpty[T interface{ IsValid() bool }](v T, s func() string) string {
	if v.IsValid() {
		return s()
	}
	return ""
}

func newNetworkInspectCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "inspect NAME...",
		Short:   "Print networks as JSON: the definition, the subnet in use and the leases",
		Example: "  dockah network inspect dockah",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out []networkInfo
			for _, name := range args {
				n, err := network.Load(networkFS, name)
				if err != nil {
					return err
				}
				st, err := network.ReadState(filepath.Join(network.StateDir(opts.storeRoot), name+".json"))
				if err != nil {
					return err
				}
				n = n.WithSubnet(st.Subnet)
				out = append(out, networkInfo{
					Name: n.Name, File: n.File, Internal: n.Internal, DNS: n.DNS, Bridge: n.Bridge, MTU: n.MTU, Leases: st.Leases,
					Subnet: orEmpty(n.Subnet, n.Subnet.String), Gateway: orEmpty(n.Gateway, n.Gateway.String),
					Subnet6: orEmpty(n.Subnet6, n.Subnet6.String), Gateway6: orEmpty(n.Gateway6, n.Gateway6.String),
				})
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
}

func newNetworkCreateCommand(opts *globalOptions) *cobra.Command {
	var subnet, gateway, subnet6 string
	var internal, noDNS bool
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Write the definition /etc/dockah/networks/NAME.toml",
		Long: `Write the definition of a new network. Without --subnet, a /24 of
10.90.0.0/16-10.99.0.0/16 that clashes with none of the host's routes and no
other network is chosen now and written into the file.`,
		Example: "  dockah network create app\n  dockah network create --internal --subnet 10.91.0.0/24 back",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if _, err := network.Load(networkFS, name); err == nil || !errors.Is(err, network.ErrNotFound) {
				return fmt.Errorf("network %s exists already", name)
			}
			if subnet == "" {
				p, err := freeSubnet(opts.storeRoot)
				if err != nil {
					return err
				}
				subnet = p.String()
			}
			var b strings.Builder
			b.WriteString("[network]\n")
			fmt.Fprintf(&b, "subnet = %q\n", subnet)
			for k, v := range map[string]string{"gateway": gateway, "subnet6": subnet6} {
				if v != "" {
					fmt.Fprintf(&b, "%s = %q\n", k, v)
				}
			}
			if internal {
				b.WriteString("internal = true\n")
			}
			if noDNS {
				b.WriteString("dns = false\n")
			}
			path := "/" + network.SearchPath[0] + "/" + name + ".toml"
			if _, err := network.Parse(name, network.File{Path: path, Data: []byte(b.String())}); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), name)
			return nil
		},
	}
	cmd.Flags().StringVar(&subnet, "subnet", "", "IPv4 subnet, e.g. 10.90.5.0/24")
	cmd.Flags().StringVar(&gateway, "gateway", "", "the bridge's IPv4 address (default: the subnet's first)")
	cmd.Flags().StringVar(&subnet6, "subnet6", "", "an IPv6 subnet as well")
	cmd.Flags().BoolVar(&internal, "internal", false, "no route out: no masquerading, no forwarding")
	cmd.Flags().BoolVar(&noDNS, "disable-dns", false, "containers use the host's resolvers, not each other's names")
	return cmd
}

// freeSubnet picks a subnet no route, network definition or network
// state uses.
func freeSubnet(store string) (netip.Prefix, error) {
	used, err := network.HostRoutes(-1)
	if err != nil {
		return netip.Prefix{}, err
	}
	nets, _ := network.LoadAll(networkFS)
	for _, n := range nets {
		used = append(used, n.Subnet)
	}
	for _, st := range network.ReadStates(store) {
		used = append(used, st.Subnet)
	}
	return network.ChooseSubnet(used)
}

func newNetworkRmCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME",
		Short:   "Remove the definition of a network no container definition uses",
		Example: "  dockah network rm app",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			n, err := network.Load(networkFS, name)
			if err != nil {
				return err
			}
			defs, _ := unitgen.LoadAll(networkFS)
			var users []string
			for _, d := range defs {
				if slices.Contains(d.Container.Networks, name) {
					users = append(users, d.Name)
				}
			}
			if len(users) > 0 {
				return fmt.Errorf("network %s is used by %s: change their definitions first", name, strings.Join(users, ", "))
			}
			if n.File == "" || !strings.HasPrefix(n.File, "/"+network.SearchPath[0]+"/") {
				return fmt.Errorf("network %s has no definition in /%s to remove (mask it there with an empty file)", name, network.SearchPath[0])
			}
			st, _ := network.ReadState(filepath.Join(network.StateDir(opts.storeRoot), name+".json"))
			if st.ActiveCount() > 0 {
				return fmt.Errorf("network %s has %d running containers", name, st.ActiveCount())
			}
			return os.Remove(n.File)
		},
	}
}

func newNetworkServeDNSCommand(opts *globalOptions) *cobra.Command {
	var idle time.Duration
	cmd := &cobra.Command{
		Use:     "serve-dns",
		Short:   "Answer the containers' queries on the sockets of dockah-dns.socket",
		Hidden:  true,
		Example: "  dockah network serve-dns --idle 1m",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			files := activation.Files(true)
			var pc net.PacketConn
			var l net.Listener
			for _, f := range files {
				if c, err := net.FilePacketConn(f); err == nil {
					pc = c
				} else if ln, err := net.FileListener(f); err == nil {
					l = ln
				}
				f.Close()
			}
			if pc == nil && l == nil {
				return errors.New("no sockets passed: run it as dockah-dns.service")
			}
			r := &network.Resolver{Store: opts.storeRoot, Idle: idle, Log: func(s string) { fmt.Fprintln(os.Stderr, s) }}
			return r.Serve(pc, l)
		},
	}
	cmd.Flags().DurationVar(&idle, "idle", time.Minute, "exit after this long without a query (the socket stays)")
	return cmd
}
