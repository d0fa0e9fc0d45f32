package photos

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vitrinehq/vitrine/eval/labels"
	"github.com/vitrinehq/vitrine/serving"
)

// ViewAdder attaches photos to products as extra image views through the
// served image model and the real store, and removes them again.
// *serving.Service satisfies it.
type ViewAdder interface {
	AddImageViews(ctx context.Context, source string, photos []serving.ViewPhoto) error
	RemoveImageViews(ctx context.Context, source string) (int64, error)
}

// ViewsSource is the source name views attached from a photos file carry.
func ViewsSource(file string) string { return "eval-photos:" + file }

// AttachViews attaches every photo to the products of its fine class as
// an extra view (source: ViewsSource of the file), batch photos at a
// time, and returns how many views it stored. Photos of a class no
// product has are skipped.
func AttachViews(ctx context.Context, cat labels.Lister, a ViewAdder, source string, ps []Photo, batch int) (int, error) {
	products, err := labels.Products(ctx, cat)
	if err != nil {
		return 0, err
	}
	t := newTruth(products)
	var pending []serving.ViewPhoto
	n := 0
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := a.AddImageViews(ctx, source, pending); err != nil {
			return err
		}
		n += len(pending)
		pending = pending[:0]
		return nil
	}
	for _, p := range ps {
		ids := t.byFine[p.Fine]
		if len(ids) == 0 {
			continue
		}
		img, err := os.ReadFile(p.Path)
		if err != nil {
			return n, fmt.Errorf("view on line %d: %w", p.Line, err)
		}
		for _, id := range ids {
			pending = append(pending, serving.ViewPhoto{ProductID: id, View: p.Path, Image: img})
		}
		if len(pending) >= max(batch, 1) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}

// ViewsReport compares search by photo without and with extra views.
type ViewsReport struct {
	ViewsFile string `json:"views_file"`
	Views     int    `json:"views"`
	Without   Report `json:"catalog_only"`
	With      Report `json:"with_views"`
}

// ViewsText writes both reports for a terminal.
func ViewsText(w io.Writer, r ViewsReport) error {
	fmt.Fprintln(w, "catalog images only:")
	if err := Text(w, r.Without); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nwith %d views attached from %s:\n", r.Views, r.ViewsFile)
	return Text(w, r.With)
}

// ViewsMarkdown writes both reports as Markdown.
func ViewsMarkdown(w io.Writer, r ViewsReport) error {
	var b strings.Builder
	b.WriteString("## Catalog images only\n\n")
	if err := Markdown(&b, r.Without); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\n## With %d views attached from `%s`\n\n", r.Views, r.ViewsFile)
	if err := Markdown(&b, r.With); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}
