package handlers

import (
	"slices"
	"testing"
)

func TestFindTargets(t *testing.T) {
	const (
		guid = "7f3c2a10-5b7e-4a8e-9b1d-2c3d4e5f6a01"
		dev  = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	)
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"Defender alert", "Alert: Suspicious PowerShell on ws-0042.contoso.local\nDevice ID: " + dev + "\nSeverity: High",
			[]string{"collect ws-0042.contoso.local", "collect " + dev}},
		{"labelled short host", "DeviceName: WS-0042, user alice", []string{"collect ws-0042"}},
		{"host=value", "computer=srv-db01 process=svchost.exe", []string{"collect srv-db01"}},
		{"action id, upper case", "Collection started, action " + "7F3C2A10-5B7E-4A8E-9B1D-2C3D4E5F6A01", []string{"get " + guid}},
		{"order of appearance, no duplicates", dev + " then " + guid + " and " + dev, []string{"collect " + dev, "get " + guid}},
		{"files, links, e-mail, IPs and versions are no hosts",
			"ran invoice.exe and payload.ps1 from https://evil.example.com/x, mailed bob@corp.example, 203.0.113.7, agent 10.8.1", nil},
		{"a device ID in a portal link still counts", "https://security.microsoft.com/machines/v2/" + dev + "/overview", []string{"collect " + dev}},
		{"a link's host is not offered bare either", "see security.microsoft.com or https://security.microsoft.com/alerts", nil},
		{"a word after host is not a host", "the host is down", nil},
		{"nothing", "Can someone look at this?", nil},
		{"at most five", "a1.contoso.local a2.contoso.local a3.contoso.local a4.contoso.local a5.contoso.local a6.contoso.local",
			[]string{"collect a1.contoso.local", "collect a2.contoso.local", "collect a3.contoso.local", "collect a4.contoso.local", "collect a5.contoso.local"}},
		{"markup around", "*Device*: `ws-0042.contoso.local`.", []string{"collect ws-0042.contoso.local"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := commands(findTargets(tt.text))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("findTargets(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}
