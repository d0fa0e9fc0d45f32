package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vitrinehq/vitrine/extractors/onnx"
)

type metrics struct {
	requests *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vitrine_http_request_duration_seconds",
			Help:    "HTTP request latency by route, method and status.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(m.requests)
	// Register runtime collectors once; a registry shared with ModelMetrics
	// may already hold them.
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// observe records each request's latency under its route pattern (not the
// raw path, so ids do not explode the label set).
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		status := c.Response().Status
		if err != nil {
			status = s.toProblem(err, c).Status
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		s.m.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
		return err
	}
}

// ModelMetrics adapts the encoders' batching measurements to Prometheus.
type ModelMetrics struct {
	batch    prometheus.Histogram
	latency  prometheus.Histogram
	wait     prometheus.Histogram
	depth    prometheus.Gauge
	failures prometheus.Counter
}

// NewModelMetrics registers the model metrics on reg.
func NewModelMetrics(reg *prometheus.Registry) *ModelMetrics {
	m := &ModelMetrics{
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vitrine_model_batch_size",
			Help: "Items per model run of the dynamic batcher.", Buckets: []float64{1, 2, 4, 8, 16, 32, 64}}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vitrine_model_batch_duration_seconds",
			Help: "Time per model batch (preprocessing and inference).", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vitrine_model_queue_wait_seconds",
			Help: "Time a request waited for its batch.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12)}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vitrine_model_queue_depth",
			Help: "Requests waiting for a model batch."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "vitrine_model_batch_failures_total",
			Help: "Model batches that failed as a whole."}),
	}
	reg.MustRegister(m.batch, m.latency, m.wait, m.depth, m.failures)
	return m
}

// ObserveBatch implements onnx.Metrics.
func (m *ModelMetrics) ObserveBatch(b onnx.BatchStats) {
	if b.Size > 0 {
		m.batch.Observe(float64(b.Size))
		m.latency.Observe(b.Duration.Seconds())
	}
	if b.Err != nil {
		m.failures.Inc()
	}
}

// ObserveQueueDepth implements onnx.Metrics.
func (m *ModelMetrics) ObserveQueueDepth(d int) { m.depth.Set(float64(d)) }

// ObserveItem implements onnx.Metrics.
func (m *ModelMetrics) ObserveItem(i onnx.ItemStats) {
	if i.Wait > 0 {
		m.wait.Observe(i.Wait.Seconds())
	}
}
