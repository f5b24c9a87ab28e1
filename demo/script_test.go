package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The scripted demo (`mdebot demo`) plays to its end and shows what it
// narrates: the upload, the triage summary in its thread with the
// package's established addresses, one search answered privately, and
// the approval flow.
func TestScriptedDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("plays the whole scripted demo (about 15 s); skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	if err := Run(ctx, &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	t.Logf("the scripted demo took %s", time.Since(start).Round(time.Millisecond))
	transcript := out.String()
	for _, want := range []string{
		"mdebot uploaded investigation-package-",
		"*Triage summary of ws-0042.contoso.local*",
		"`185.199.108.153`",
		"alice: /mde-package search ",
		"*6 matching lines for `updater.exe`",
		"`Autoruns/HKCU_Run.txt:3: Updater",
		"bob (SOC lead, no Microsoft link needed) clicks [Approve]",
		"demo finished",
	} {
		if !strings.Contains(transcript, want) {
			t.Errorf("the transcript lacks %q", want)
		}
	}
	if strings.Contains(transcript, "&lt;") || strings.Contains(transcript, "&amp;") {
		t.Errorf("the transcript shows mrkdwn escapes instead of the text")
	}
}
