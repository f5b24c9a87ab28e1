package demo

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mdebot/mdebot/config"
)

// The written file loads back to the same configuration.
func TestWriteConfigRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := Start(ctx, Options{NoApp: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := e.WriteConfig(p); err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if ps := got.Validate(); len(ps) > 0 {
		t.Fatalf("written config invalid: %v", ps)
	}
	// %+v prints nil and empty lists alike, which is the equality that matters here.
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", e.Config) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, e.Config)
	}
}
