package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

// BenchmarkHTTPEventAck measures a signed app_home_opened through the real
// HTTP server to its acknowledgement: verification, the event_id recorded in
// a SQLite replay table, parsing, the handler.
func BenchmarkHTTPEventAck(b *testing.B) {
	db := replayDB(b)
	rs := newRecSurfaces()
	rs.calls = make(chan struct{}, 1)
	env := newHTTPEnv(b, func(o *Options) { o.Surfaces, o.Replays = rs, db })
	go func() {
		for range rs.calls { // drain
		}
	}()
	defer close(rs.calls)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ev := env.fake.AppHomeOpened(slackfake.HomeOpenedParams{UserID: "U1"})
		d, err := env.fake.PostEvent(context.Background(), env.url+"/slack/events", testSecret, ev)
		if err != nil || d.Status != http.StatusOK {
			b.Fatalf("ack %+v %v", d, err)
		}
	}
}

// BenchmarkRenderHome measures rendering a full Home tab (account, 10
// requests, 20 approvals) to the JSON views.publish sends.
func BenchmarkRenderHome(b *testing.B) {
	h := sampleHome(20)
	for i := range 10 {
		h.Sections[1].Items = append(h.Sections[1].Items, handlers.HomeItem{
			Text:    handlers.Tf("%s · get ws-%d.contoso.local · 3m ago\nRequest %s in %s", handlers.Code("delivered"), i, handlers.Code("0123456789abcdef"), handlers.Channel("C0UPLOAD1")),
			Buttons: []handlers.Button{{Label: "Download", ActionID: handlers.ActionDownload, Value: "0123456789abcdef"}},
		})
	}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		out, err := json.Marshal(renderHome(h))
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.ReportMetric(float64(size), "bytes/view")
	b.ReportMetric(float64(len(renderHome(h))), "blocks/view")
}
