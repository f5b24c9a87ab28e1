package telemetry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
)

func TestMetricsScrape(t *testing.T) {
	m := NewMetrics()
	m.Command("get", "queued")
	m.AckLatency("command", 3*time.Millisecond)
	m.DefenderCall("getPackageUri", 200, 120*time.Millisecond)
	m.DefenderCall("machineaction", 0, time.Second)
	m.LimiterQueue(3)
	m.LimiterWait(45 * time.Second)
	m.Delivery("upload", "delivered", 15<<20)
	m.Delivery("link", "failed", 0)
	m.ApprovalsPending(2)
	m.JobFailure("fetch")

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	text := string(body)
	for _, want := range []string{
		`mdebot_commands_total{kind="get",outcome="queued"} 1`,
		`mdebot_ack_seconds_bucket{kind="command",le="0.005"} 1`,
		`mdebot_ack_seconds_bucket{kind="command",le="0.0025"} 0`,
		`mdebot_ack_seconds_bucket{kind="command",le="0.0001"} 0`,
		`mdebot_ack_seconds_bucket{kind="command",le="3"} 1`,
		`mdebot_defender_calls_total{endpoint="getPackageUri",status="200"} 1`,
		`mdebot_defender_calls_total{endpoint="machineaction",status="error"} 1`,
		`mdebot_defender_call_seconds_count{endpoint="getPackageUri"} 1`,
		`mdebot_limiter_queue_length 3`,
		`mdebot_limiter_wait_seconds_sum 45`,
		`mdebot_deliveries_total{mode="upload",outcome="delivered"} 1`,
		`mdebot_deliveries_total{mode="link",outcome="failed"} 1`,
		`mdebot_delivered_bytes_total 1.572864e+07`,
		`mdebot_approvals_pending 2`,
		`mdebot_job_failures_total{job="fetch"} 1`,
		`go_goroutines `,
		`process_start_time_seconds `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

// Two registries in one process do not collide (no global registry).
func TestMetricsIndependent(t *testing.T) {
	a, b := NewMetrics(), NewMetrics()
	a.JobFailure("sweep")
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `mdebot_job_failures_total{job="sweep"} 0`) {
		t.Error("a metric of one Metrics shows up in another")
	}
}

// Metrics is what handlers records to.
var _ handlers.Metrics = (*Metrics)(nil)

func TestNilMetricsRecordNothing(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("a nil *Metrics panicked: %v", r)
		}
	}()
	var m *Metrics
	m.Command("get", "ok")
	m.AckLatency("command", time.Millisecond)
	m.DefenderCall("x", 200, time.Millisecond)
	m.LimiterQueue(1)
	m.LimiterWait(time.Second)
	m.Delivery("link", "delivered", 1)
	m.ApprovalsPending(1)
	m.JobFailure("fetch")
}
