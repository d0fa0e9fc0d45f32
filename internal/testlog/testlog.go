// Package testlog holds slog handlers for tests that assert on what was
// logged rather than on the text of the log.
package testlog

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// WarnCounter is a slog handler that counts records at warn and above
// (the store logs each transaction it runs again at warn, for one). It is
// safe for concurrent use.
type WarnCounter struct{ n atomic.Int64 }

// Count is how many records at warn and above were handled.
func (h *WarnCounter) Count() int64 { return h.n.Load() }

// Enabled reports whether l is warn or above.
func (h *WarnCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

// Handle counts the record.
func (h *WarnCounter) Handle(context.Context, slog.Record) error { h.n.Add(1); return nil }

// WithAttrs returns h: attributes do not change the count.
func (h *WarnCounter) WithAttrs([]slog.Attr) slog.Handler { return h }

// WithGroup returns h: groups do not change the count.
func (h *WarnCounter) WithGroup(string) slog.Handler { return h }
