// Package cli owns what vitrine's commands share beyond their wiring: the
// tab-aligned tables that list stored records (API keys, vector spaces),
// the logger built from the log configuration, and flag groups used by
// more than a constant (fusion overrides). It holds no command and opens
// no service.
package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/internal/config"
	"github.com/vitrinehq/vitrine/records"
)

// Table starts a table on w, columns separated by two spaces, with its
// header row written; the caller writes tab-separated rows and Flushes.
func Table(w io.Writer, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}

// Stamp is how listings print a time: to the minute, "-" for none.
func Stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("2006-01-02 15:04")
}

// Keys writes the table of `vitrine keys list`; it never holds secrets.
func Keys(w io.Writer, keys []records.APIKey) error {
	tw := Table(w, "ID\tNAME\tSCOPES\tCREATED\tLAST USED\tREVOKED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\n", k.ID, k.Name, k.Scopes, Stamp(&k.CreatedAt), Stamp(k.LastUsedAt), Stamp(k.RevokedAt))
	}
	return tw.Flush()
}

// ParseScopes splits a comma-separated scope list, skipping blanks; the
// store checks the names.
func ParseScopes(s string) []records.Scope {
	var ss []records.Scope
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			ss = append(ss, records.Scope(f))
		}
	}
	return ss
}

// Spaces writes the table of `vitrine vectors list`: each space's state,
// size and fusion (fusion.Describe).
func Spaces(w io.Writer, spaces []records.Space) error {
	tw := Table(w, "VERSION\tSTATE\tDIM\tSTORAGE\tVECTORS\tCREATED\tFUSION")
	for _, s := range spaces {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%d\t%s\t%s\n", s.Version, s.State, s.Dim, s.Storage, s.Vectors, Stamp(&s.CreatedAt), fusion.Describe(s.Spec))
	}
	return tw.Flush()
}

// Logger is the logger the log configuration asks for: text or JSON on w
// at its level (info when the level does not parse).
func Logger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
