package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// The audit export prints the store's events as JSON lines, filtered by --since,
// and needs only the store settings to be valid.
func TestAuditExport(t *testing.T) {
	ctx := context.Background()
	dsn := "file:" + filepath.Join(t.TempDir(), "audit.db")
	db, err := store.Open(ctx, store.DriverSQLite, dsn)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, e := range []handlers.AuditEvent{
		{At: now.Add(-48 * time.Hour), RequestID: "old", Event: "request.created", Actor: "U1"},
		{At: now.Add(-time.Hour), RequestID: "r1", Event: "approval.approved", Actor: "U2", Outcome: "approved"},
		{At: now.Add(-time.Minute), RequestID: "r1", Event: "delivery.upload", Actor: "U1", SHA256: strings.Repeat("a", 64), Bytes: 42},
	} {
		if err := db.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	// A config whose Slack/Entra settings are still placeholders: audit still works.
	cfg := writeConfig(t, "store:\n  dsn: \""+dsn+"\"\n")
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"audit", "--config", cfg}, []string{"request.created", "approval.approved", "delivery.upload"}},
		{[]string{"audit", "--config", cfg, "--since", "24h"}, []string{"approval.approved", "delivery.upload"}},
		{[]string{"audit", "--config", cfg, "--since", "10m"}, []string{"delivery.upload"}},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		if code := run(ctx, tt.args, &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", tt.args, code, errOut.String())
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var e handlers.AuditEvent
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("%v: line %q is not JSON: %v", tt.args, line, err)
			}
			got = append(got, e.Event)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%v: events %v, want %v", tt.args, got, tt.want)
		}
	}
}
