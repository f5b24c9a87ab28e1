package triage

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// maxDistinct bounds the distinct values a parser remembers (addresses,
// ports, paths, task names), so a hostile file costs bounded memory; past
// it the figures are reported as lower bounds.
const maxDistinct = 10000

// netstatParser reads netstat -ano output (ActiveNetConnections.txt): it
// finds the connection table by its header and its columns by header name.
// The English and German headers and states are known; statistics, -b
// owner lines and UDP rows are skipped.
type netstatParser struct {
	cols      map[string]int // proto, local, foreign, state -> field index
	remotes   map[string]*Remote
	listening distinct
	loopback  int
	ports     int  // remote ports remembered, all remotes together
	bad       int  // TCP rows not understood
	over      bool // more than maxDistinct remotes or ports
}

func newNetstatParser() *netstatParser {
	return &netstatParser{remotes: map[string]*Remote{}}
}

// netstatWords turn the two-word column names into one field each.
var netstatWords = strings.NewReplacer(
	"local address", "local", "foreign address", "foreign", "remote address", "foreign",
	"lokale adresse", "local", "remoteadresse", "foreign",
)

// header returns the columns of a netstat header line, or nil.
func netstatHeader(line string) map[string]int {
	fields := strings.Fields(netstatWords.Replace(strings.Join(strings.Fields(strings.ToLower(line)), " ")))
	cols := map[string]int{}
	for i, f := range fields {
		switch f {
		case "proto", "local", "foreign":
			cols[f] = i
		case "state", "status":
			cols["state"] = i
		}
	}
	if len(cols) != 4 {
		return nil
	}
	return cols
}

func (p *netstatParser) line(line string) {
	if cols := netstatHeader(line); cols != nil {
		p.cols = cols
		return
	}
	fields := strings.Fields(line)
	if p.cols == nil || len(fields) == 0 || !strings.HasPrefix(strings.ToLower(fields[0]), "tcp") {
		return
	}
	need := max(p.cols["local"], p.cols["foreign"], p.cols["state"])
	if len(fields) <= need {
		p.bad++
		return
	}
	switch strings.ToUpper(fields[p.cols["state"]]) {
	case "ESTABLISHED", "HERGESTELLT":
		host, port := splitHostPort(fields[p.cols["foreign"]])
		switch {
		case host == "":
			p.bad++
		case isLoopback(host):
			p.loopback++
		default:
			p.addRemote(clip(host), cut(port, 32))
		}
	case "LISTENING", "LISTEN", "ABHÖREN":
		if _, port := splitHostPort(fields[p.cols["local"]]); port == "" {
			p.bad++
		} else {
			p.listening.add(cut(port, 32))
		}
	}
}

func (p *netstatParser) addRemote(host, port string) {
	r := p.remotes[host]
	if r == nil {
		if len(p.remotes) >= maxDistinct {
			p.over = true
			return
		}
		r = &Remote{Address: host}
		p.remotes[host] = r
	}
	r.Connections++
	switch {
	case port == "" || slices.Contains(r.Ports, port):
	case len(r.Ports) >= maxPortsPerRemote || p.ports >= maxDistinct:
		p.over = true
	default:
		r.Ports = append(r.Ports, port)
		p.ports++
	}
}

// maxPortsPerRemote bounds the ports remembered for one remote address
// (and maxDistinct those of all of them).
const maxPortsPerRemote = 100

// result fills n from what was parsed, or says why nothing could be.
func (p *netstatParser) result(n *Network) (problems []string) {
	if p.cols == nil {
		return []string{"no connection table (a Proto, Local Address, Foreign Address, State header) found"}
	}
	remotes := make([]Remote, 0, len(p.remotes))
	for _, r := range p.remotes {
		sortPorts(r.Ports)
		remotes = append(remotes, *r)
	}
	sort.Slice(remotes, func(i, j int) bool { return addressLess(remotes[i].Address, remotes[j].Address) })
	if len(remotes) > MaxRemotes {
		n.EstablishedMore = len(remotes) - MaxRemotes
		remotes = remotes[:MaxRemotes]
	}
	n.Established = remotes
	n.Loopback = p.loopback
	n.Listening = p.listening.sorted()
	sortPorts(n.Listening)
	if p.bad > 0 {
		problems = append(problems, fmt.Sprintf("%d TCP rows not understood", p.bad))
	}
	if p.over || p.listening.over {
		problems = append(problems, fmt.Sprintf("more than %d distinct addresses or ports: the figures are lower bounds", maxDistinct))
	}
	return problems
}

// splitHostPort splits netstat's address:port, [v6]:port or v6:port.
func splitHostPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		end := strings.LastIndexByte(s, ']')
		if end < 0 {
			return "", ""
		}
		return s[1:end], strings.TrimPrefix(s[end+1:], ":")
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// addressLess orders IPv4 before IPv6, numerically, then anything else
// (names) by text.
func addressLess(x, y string) bool {
	rank := func(s string) (int, netip.Addr) {
		a, err := netip.ParseAddr(s)
		switch {
		case err != nil:
			return 2, a
		case a.Unmap().Is4():
			return 0, a.Unmap()
		}
		return 1, a
	}
	rx, ax := rank(x)
	ry, ay := rank(y)
	if rx != ry {
		return rx < ry
	}
	if rx < 2 {
		if c := ax.Compare(ay); c != 0 {
			return c < 0
		}
	}
	return x < y
}

// sortPorts orders numeric ports numerically, then names by text.
func sortPorts(ports []string) {
	sort.Slice(ports, func(i, j int) bool {
		a, errA := strconv.ParseUint(ports[i], 10, 64)
		b, errB := strconv.ParseUint(ports[j], 10, 64)
		switch {
		case errA == nil && errB == nil && a != b:
			return a < b
		case (errA == nil) != (errB == nil):
			return errA == nil
		}
		return ports[i] < ports[j]
	})
}

// dnsRecords counts the "Record Name" lines of ipconfig /displaydns output
// (English and German).
type dnsRecords struct{ n int }

func (d *dnsRecords) line(line string) {
	t := strings.ToLower(strings.TrimSpace(line))
	if (strings.HasPrefix(t, "record name") || strings.HasPrefix(t, "eintragsname")) && strings.Contains(t, ":") {
		d.n++
	}
}
