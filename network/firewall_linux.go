package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The firewall of a network is an nftables table of its own, "inet
// dockah-NAME", made in one atomic batch and removed whole: networks are
// set up and torn down by different shims at the same time, and a table
// each never makes two of them edit one ruleset. Per network:
//
//	chain postrouting { type nat hook postrouting priority srcnat
//	  ip saddr SUBNET oifname != BRIDGE masquerade      (unless internal; ip6 too)
//	}
//	chain forward { type filter hook forward priority filter
//	  iifname BRIDGE oifname BRIDGE accept
//	  oifname BRIDGE ct state established,related accept
//	  oifname BRIDGE drop                     (nothing new in: not from other networks, not from outside)
//	  iifname BRIDGE drop                     (internal only: nothing out)
//	}
//
// A reload of the host's ruleset (nft flush ruleset) drops the table; the
// next start of a container on the network finds it missing and makes it
// again (ensureFirewall).

// TableName is the nftables table (family inet) of the network name.
func TableName(name string) string { return "dockah-" + name }

// ensureFirewall makes the network's table unless it exists.
func ensureFirewall(n *Network) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	if _, err := c.ListTableOfFamily(TableName(n.Name), nftables.TableFamilyINet); err == nil {
		return nil
	}
	addFirewall(c, n)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("add firewall table %s: %w", TableName(n.Name), err)
	}
	return nil
}

// addFirewall queues the table of n on c.
func addFirewall(c *nftables.Conn, n *Network) {
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: TableName(n.Name)})
	accept := nftables.ChainPolicyAccept
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &accept})
	fwd := c.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	br := ifname(n.Bridge)
	if !n.Internal {
		for _, s := range []netip.Prefix{n.Subnet, n.Subnet6} {
			if s.IsValid() {
				c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: concat(
					saddrIn(s), meta(expr.MetaKeyOIFNAME, expr.CmpOpNeq, br), []expr.Any{&expr.Masq{}})})
			}
		}
	}
	verdict := func(k expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: k}} }
	c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: concat(
		meta(expr.MetaKeyIIFNAME, expr.CmpOpEq, br), meta(expr.MetaKeyOIFNAME, expr.CmpOpEq, br), verdict(expr.VerdictAccept))})
	c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: concat(
		meta(expr.MetaKeyOIFNAME, expr.CmpOpEq, br), established(), verdict(expr.VerdictAccept))})
	c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: concat(
		meta(expr.MetaKeyOIFNAME, expr.CmpOpEq, br), verdict(expr.VerdictDrop))})
	if n.Internal {
		c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: concat(
			meta(expr.MetaKeyIIFNAME, expr.CmpOpEq, br), verdict(expr.VerdictDrop))})
	}
}

// removeFirewall deletes the table of the network name, if any.
func removeFirewall(name string) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	c.DelTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: TableName(name)})
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove firewall table %s: %w", TableName(name), err)
	}
	return nil
}

// FirewallPresent reports whether the network's table exists.
func FirewallPresent(name string) bool {
	c, err := nftables.New()
	if err != nil {
		return false
	}
	_, err = c.ListTableOfFamily(TableName(name), nftables.TableFamilyINet)
	return err == nil
}

func concat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ifname is an interface name as the kernel compares it: 16 bytes,
// padded with NULs.
func ifname(s string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, s)
	return b
}

func meta(key expr.MetaKey, op expr.CmpOp, data []byte) []expr.Any {
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: data}}
}

// saddrIn matches packets of the family of s whose source lies in s.
func saddrIn(s netip.Prefix) []expr.Any {
	proto, offset := byte(unix.NFPROTO_IPV4), uint32(12)
	if s.Addr().Is6() {
		proto, offset = unix.NFPROTO_IPV6, 8
	}
	size := uint32(s.Addr().BitLen() / 8)
	mask := ipNet(s, s.Addr()).Mask
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: size},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: size, Mask: mask, Xor: make([]byte, size)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: s.Masked().Addr().AsSlice()},
	}
}

// established matches packets of connections already made.
func established() []expr.Any {
	mask := binary.NativeEndian.AppendUint32(nil, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED)
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}
