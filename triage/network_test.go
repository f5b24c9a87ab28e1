package triage

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func parseNetstatText(text string) (Network, []string) {
	p := newNetstatParser()
	for _, l := range strings.Split(text, "\n") {
		p.line(strings.TrimRight(l, "\r"))
	}
	var n Network
	problems := p.result(&n)
	return n, problems
}

func addresses(rs []Remote) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Address)
	}
	return out
}

func TestNetstat(t *testing.T) {
	for _, tt := range []struct {
		name      string
		text      string
		remotes   []string
		listening []string
		loopback  int
		problems  []string
	}{
		{
			name: "windows with owners (-b) and UDP",
			text: `
Active Connections

  Proto  Local Address          Foreign Address        State           PID
  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1044
  RpcSs
 [svchost.exe]
  TCP    192.168.1.5:50000      93.184.216.34:443      ESTABLISHED     6000
 [chrome.exe]
  TCP    192.168.1.5:50001      93.184.216.34:80       ESTABLISHED     6000
  TCP    192.168.1.5:50002      8.8.8.8:53             TIME_WAIT       0
  TCP    [::1]:5000             [::1]:50003            ESTABLISHED     77
  TCP    [2001:db8::1]:50004    [2001:db8::2]:443      ESTABLISHED     88
  UDP    0.0.0.0:500            *:*                                    4
 Can not obtain ownership information
`,
			remotes:   []string{"93.184.216.34", "2001:db8::2"},
			listening: []string{"135"},
			loopback:  1,
		},
		{
			name: "german",
			text: `
Aktive Verbindungen

  Proto  Lokale Adresse         Remoteadresse          Status           PID
  TCP    0.0.0.0:445            0.0.0.0:0              ABHÖREN          4
  TCP    10.0.0.2:49700         20.1.2.3:443           HERGESTELLT      900
  TCP    10.0.0.2:49701         20.1.2.4:443           WARTEND          0
`,
			remotes:   []string{"20.1.2.3"},
			listening: []string{"445"},
		},
		{
			name: "linux netstat -tanp columns by name",
			text: `Active Internet connections (servers and established)
Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name
tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN      812/sshd
tcp        0     36 10.0.0.9:22             198.51.100.7:51515      ESTABLISHED 4242/sshd: alice
tcp6       0      0 :::80                   :::*                    LISTEN      900/nginx
tcp6       0      0 ::1:631                 ::1:40000               ESTABLISHED 1/cupsd
`,
			remotes:   []string{"198.51.100.7"},
			listening: []string{"22", "80"},
			loopback:  1,
		},
		{
			name: "order: IPv4 numerically, then IPv6, then names",
			text: `  Proto  Local Address          Foreign Address        State           PID
  TCP    10.0.0.2:1             server01:https         ESTABLISHED     1
  TCP    10.0.0.2:2             [2001:db8::10]:443     ESTABLISHED     1
  TCP    10.0.0.2:3             100.0.0.1:443          ESTABLISHED     1
  TCP    10.0.0.2:4             9.0.0.1:443            ESTABLISHED     1
  TCP    10.0.0.2:5             [::ffff:8.0.0.1]:443   ESTABLISHED     1
  TCP    10.0.0.2:6             localhost:8080         ESTABLISHED     1
`,
			remotes:  []string{"::ffff:8.0.0.1", "9.0.0.1", "100.0.0.1", "2001:db8::10", "server01"},
			loopback: 1,
		},
		{
			name:     "no table",
			text:     "IPv4 Statistics\n\n  Packets Received = 12\n",
			problems: []string{"no connection table (a Proto, Local Address, Foreign Address, State header) found"},
		},
		{
			name: "rows cut short are reported",
			text: `  Proto  Local Address          Foreign Address        State           PID
  TCP    10.0.0.2:1             1.1.1.1:443
  TCP    10.0.0.2:2             1.0.0.1:443            ESTABLISHED     5
`,
			remotes:  []string{"1.0.0.1"},
			problems: []string{"1 TCP rows not understood"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, problems := parseNetstatText(tt.text)
			if got := addresses(n.Established); !reflect.DeepEqual(got, tt.remotes) {
				t.Errorf("established %q, want %q", got, tt.remotes)
			}
			if len(n.Listening) != 0 || len(tt.listening) != 0 {
				if !reflect.DeepEqual(n.Listening, tt.listening) {
					t.Errorf("listening %q, want %q", n.Listening, tt.listening)
				}
			}
			if n.Loopback != tt.loopback {
				t.Errorf("loopback %d, want %d", n.Loopback, tt.loopback)
			}
			if !reflect.DeepEqual(problems, tt.problems) {
				t.Errorf("problems %q, want %q", problems, tt.problems)
			}
		})
	}
}

func TestNetstatCaps(t *testing.T) {
	var b strings.Builder
	b.WriteString("Proto  Local Address  Foreign Address  State  PID\n")
	for i := range 30 {
		for port := range 3 {
			b.WriteString("TCP 10.0.0.2:5000 203.0.113." + strconv.Itoa(i) + ":" + strconv.Itoa(443+port) + " ESTABLISHED 4\n")
		}
	}
	n, problems := parseNetstatText(b.String())
	if len(n.Established) != MaxRemotes || n.EstablishedMore != 10 || len(problems) != 0 {
		t.Fatalf("%d remotes and %d more (problems %q), want %d and 10", len(n.Established), n.EstablishedMore, problems, MaxRemotes)
	}
	first := n.Established[0]
	if first.Address != "203.0.113.0" || first.Connections != 3 || !reflect.DeepEqual(first.Ports, []string{"443", "444", "445"}) {
		t.Fatalf("first remote %+v", first)
	}
}

func TestSplitHostPort(t *testing.T) {
	for _, tt := range []struct{ in, host, port string }{
		{"10.0.0.1:443", "10.0.0.1", "443"},
		{"[::]:0", "::", "0"},
		{"[fe80::1%12]:445", "fe80::1%12", "445"},
		{"::1:631", "::1", "631"},
		{"*:*", "*", "*"},
		{"[broken", "", ""},
		{"name", "name", ""},
	} {
		if h, p := splitHostPort(tt.in); h != tt.host || p != tt.port {
			t.Errorf("splitHostPort(%q) = %q %q, want %q %q", tt.in, h, p, tt.host, tt.port)
		}
	}
}

func TestDNSRecords(t *testing.T) {
	d := &dnsRecords{}
	for _, l := range []string{
		"Windows IP Configuration", "    example.com", "    ----------",
		"    Record Name . . . . . : example.com", "    Record Type . . . . . : 1",
		"    Eintragsname . . . . : beispiel.de", "    Name does not exist.", "Record Name without colon",
	} {
		d.line(l)
	}
	if d.n != 2 {
		t.Fatalf("%d records, want 2", d.n)
	}
}
