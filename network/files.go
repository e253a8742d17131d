package network

import (
	"net/netip"
	"strings"
)

// SearchDomain is the domain the containers' names have on every network
// with DNS: "db" and "db.dns.dockah" are the same container.
const SearchDomain = "dns.dockah"

// HostsFile returns the /etc/hosts of a container with the attachments
// atts: loopback, and its own addresses with its host name and name.
func HostsFile(atts []Attachment, hostname, name string) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	names := hostname
	if name != hostname && name != "" {
		names += " " + name
	}
	for _, a := range atts {
		b.WriteString(a.Lease.Addr.String() + "\t" + names + "\n")
		if a.Lease.Addr6.IsValid() {
			b.WriteString(a.Lease.Addr6.String() + "\t" + names + "\n")
		}
	}
	return b.String()
}

// ResolvConf returns the /etc/resolv.conf of a container with the
// attachments atts: dockah's resolver when one of its networks has DNS
// (it forwards the names it does not know to the host's resolvers);
// else the host's name servers from host (the host's resolv.conf), less
// those on loopback, which the container cannot reach.
func ResolvConf(atts []Attachment, host string) string {
	var search []string
	var servers []string
	var options []string
	for _, line := range strings.Split(host, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(f[1]); err == nil && !a.IsLoopback() {
				servers = append(servers, f[1])
			}
		case "search", "domain":
			search = f[1:]
		case "options":
			options = append(options, f[1:]...)
		}
	}
	for _, a := range atts {
		if a.Network.DNS {
			servers = []string{DNSAddress.String()}
			search = append([]string{SearchDomain}, search...)
			break
		}
	}
	var b strings.Builder
	b.WriteString("# written by dockah for this container\n")
	if len(search) > 0 {
		b.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	for _, s := range servers {
		b.WriteString("nameserver " + s + "\n")
	}
	if len(options) > 0 {
		b.WriteString("options " + strings.Join(options, " ") + "\n")
	}
	return b.String()
}
