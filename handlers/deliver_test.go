package handlers

import "testing"

// A link posted as <url|label> must keep Slack's markup intact whatever its
// query holds, or part of the credential shows as text.
func TestSlackSafeURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://h.example/p.zip?token=abc", "https://h.example/p.zip?token=abc"},
		{"https://h.example/p.zip?token=a|b", "https://h.example/p.zip?token=a%7Cb"},
		{"https://h.example/p.zip?token=a>b<c", "https://h.example/p.zip?token=a%3Eb%3Cc"},
		{"https://h.example/p.zip?t=a b", "https://h.example/p.zip?t=a%20b"},
	}
	for _, tt := range tests {
		if got := slackSafeURL(tt.in); got != tt.want {
			t.Errorf("slackSafeURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
