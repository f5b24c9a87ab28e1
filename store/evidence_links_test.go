package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/store"
)

// Link tokens are kept by hash; a lookup finds the row by hash only; rows
// expired for more than a day go when the next link is saved, fresher
// expired ones stay (so a late click is told "expired").
func TestLinkTokens(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		hash := func(c string) string { return strings.Repeat(c, 64) }
		saves := []evidence.LinkToken{
			{Hash: hash("a"), RequestID: "r1", Actor: "U1", CreatedAt: now.Add(-72 * time.Hour), ExpiresAt: now.Add(-71 * time.Hour)},
			{Hash: hash("b"), RequestID: "r1", Actor: "U2", CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
			{Hash: hash("c"), RequestID: "r2", Actor: "U3", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)},
		}
		for _, s := range saves {
			if err := db.SaveLinkToken(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			hash string
			want evidence.LinkToken
			err  error
		}{
			{hash("a"), evidence.LinkToken{}, evidence.ErrUnknownToken}, // deleted when c was saved
			{hash("b"), saves[1], nil},
			{hash("c"), saves[2], nil},
			{hash("d"), evidence.LinkToken{}, evidence.ErrUnknownToken},
		}
		for _, tt := range tests {
			got, err := db.LinkToken(ctx, tt.hash)
			if !errors.Is(err, tt.err) {
				t.Errorf("LinkToken(%.8s…): err %v, want %v", tt.hash, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("LinkToken(%.8s…) = %+v, want %+v", tt.hash, got, tt.want)
			}
		}
		if err := db.SaveLinkToken(ctx, saves[2]); err == nil {
			t.Error("saving the same token hash twice succeeded")
		}
		if err := db.SaveLinkToken(ctx, evidence.LinkToken{Hash: "short", RequestID: "r", ExpiresAt: now}); err == nil {
			t.Error("a malformed hash was accepted")
		}
	})
}
