package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds mdebot's Prometheus metrics on a registry of its own (no
// global state, so tests and replicas in one process do not collide). It
// satisfies handlers.Metrics. A nil *Metrics records nothing.
type Metrics struct {
	reg            *prometheus.Registry
	commands       *prometheus.CounterVec
	ack            *prometheus.HistogramVec
	defenderCalls  *prometheus.CounterVec
	defenderTime   *prometheus.HistogramVec
	limiterQueue   prometheus.Gauge
	limiterWait    prometheus.Histogram
	deliveries     *prometheus.CounterVec
	deliveredBytes prometheus.Counter
	approvals      prometheus.Gauge
	jobFailures    *prometheus.CounterVec
}

// NewMetrics registers every metric, plus the Go and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mdebot_commands_total", Help: "Slash commands by kind (get, collect, status, login, ...) and outcome.",
		}, []string{"kind", "outcome"}),
		ack: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mdebot_ack_seconds", Help: "Time from receiving a Slack request to acknowledging it (Slack allows 3 s).",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3},
		}, []string{"kind"}),
		defenderCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mdebot_defender_calls_total", Help: "Defender API calls by endpoint and HTTP status (error: no response).",
		}, []string{"endpoint", "status"}),
		defenderTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mdebot_defender_call_seconds", Help: "Defender API call duration by endpoint.",
			Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"endpoint"}),
		limiterQueue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mdebot_limiter_queue_length", Help: "Actions waiting for a getPackageUri slot.",
		}),
		limiterWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "mdebot_limiter_wait_seconds", Help: "Estimated wait for a getPackageUri slot, as told to requesters.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600},
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mdebot_deliveries_total", Help: "Package deliveries by mode (link, link_in_channel, upload) and outcome.",
		}, []string{"mode", "outcome"}),
		deliveredBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mdebot_delivered_bytes_total", Help: "Bytes of packages uploaded into Slack.",
		}),
		approvals: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mdebot_approvals_pending", Help: "Requests awaiting approval.",
		}),
		jobFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mdebot_job_failures_total", Help: "Failed job runs by job kind.",
		}, []string{"job"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.commands, m.ack, m.defenderCalls, m.defenderTime, m.limiterQueue, m.limiterWait,
		m.deliveries, m.deliveredBytes, m.approvals, m.jobFailures,
	)
	// Job kinds are known: show their failure counters at 0 from the start,
	// so a rate() alert has a series before the first failure.
	for _, job := range []string{"request", "fetch", "sweep"} {
		m.jobFailures.WithLabelValues(job)
	}
	return m
}

// Handler serves the registry in the Prometheus exposition format (GET /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Command counts a command by kind and outcome.
func (m *Metrics) Command(kind, outcome string) {
	if m != nil {
		m.commands.WithLabelValues(kind, outcome).Inc()
	}
}

// AckLatency records how long acknowledging a Slack request of this kind took.
func (m *Metrics) AckLatency(kind string, d time.Duration) {
	if m != nil {
		m.ack.WithLabelValues(kind).Observe(d.Seconds())
	}
}

// DefenderCall records a Defender API call. endpoint is a route name
// (getPackageUri, machineaction, ...), never a URL with IDs in it; status 0
// means no HTTP response.
func (m *Metrics) DefenderCall(endpoint string, status int, d time.Duration) {
	if m == nil {
		return
	}
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.defenderCalls.WithLabelValues(endpoint, code).Inc()
	m.defenderTime.WithLabelValues(endpoint).Observe(d.Seconds())
}

// LimiterQueue sets the number of actions waiting for a getPackageUri slot.
func (m *Metrics) LimiterQueue(n int) {
	if m != nil {
		m.limiterQueue.Set(float64(n))
	}
}

// LimiterWait records the ETA told to a waiter.
func (m *Metrics) LimiterWait(wait time.Duration) {
	if m != nil {
		m.limiterWait.Observe(wait.Seconds())
	}
}

// Delivery counts a delivery by mode and outcome, and the bytes delivered.
func (m *Metrics) Delivery(mode, outcome string, bytes int64) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(mode, outcome).Inc()
	if bytes > 0 {
		m.deliveredBytes.Add(float64(bytes))
	}
}

// ApprovalsPending sets the number of requests awaiting approval.
func (m *Metrics) ApprovalsPending(n int) {
	if m != nil {
		m.approvals.Set(float64(n))
	}
}

// JobFailure counts a failed job run by job kind.
func (m *Metrics) JobFailure(job string) {
	if m != nil {
		m.jobFailures.WithLabelValues(job).Inc()
	}
}
