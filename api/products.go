package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/serving"
)

// maxBatch bounds the products or events of one request.
const maxBatch = 1000

// ProductView is a product as the API returns it.
type ProductView struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	Brand       string         `json:"brand,omitempty"`
	Category    []string       `json:"category,omitempty"`
	Price       *float64       `json:"price,omitempty"`
	Currency    string         `json:"currency,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty"`
	Images      []string       `json:"images,omitempty"`
	Audio       []string       `json:"audio,omitempty"`
}

// view renders a product. Media given as http(s) URLs are listed as they
// are; local files (a catalog ingested from the command line names paths
// on the server) are never shown as paths: an image is listed as its
// /media/{id}/{n} URL, which serves it by product id and index, and local
// audio, which nothing serves, is left out.
func view(p catalog.Product) ProductView {
	v := ProductView{ID: p.ID, Title: p.Title, Description: p.Description, Brand: p.Brand, Category: p.Category,
		Price: p.Price, Currency: p.Currency, Attributes: p.Attributes}
	n := 0
	for _, m := range p.Media {
		remote := strings.HasPrefix(m.URI, "http://") || strings.HasPrefix(m.URI, "https://")
		switch {
		case m.Kind == catalog.MediaImage && remote:
			v.Images = append(v.Images, m.URI)
		case m.Kind == catalog.MediaImage:
			v.Images = append(v.Images, "/media/"+url.PathEscape(p.ID)+"/"+strconv.Itoa(n))
		case remote:
			v.Audio = append(v.Audio, m.URI)
		}
		if m.Kind == catalog.MediaImage {
			n++
		}
	}
	return v
}

// Hit is one ranked product in a response.
type Hit struct {
	ID      string         `json:"id"`
	Score   float64        `json:"score"`
	Explain []ranking.Part `json:"explain,omitempty"`
	Because []Because      `json:"because,omitempty"`
	Product *ProductView   `json:"product,omitempty"`
}

// Because names a history item that supports a recommendation.
type Because struct {
	ID         string  `json:"id"`
	Title      string  `json:"title"`
	Similarity float64 `json:"similarity"`
}

// hitViews renders the serving layer's hits.
func hitViews(hs []serving.Hit) []Hit {
	out := make([]Hit, len(hs))
	for i, h := range hs {
		v := view(h.Product)
		out[i] = Hit{ID: h.ID, Score: h.Score, Explain: h.Parts, Product: &v}
		for _, b := range h.Because {
			out[i].Because = append(out[i].Because, Because{ID: b.ID, Title: b.Title, Similarity: b.Similarity})
		}
	}
	return out
}

type upsertRequest struct {
	Products []json.RawMessage `json:"products"`
}

// UpsertResponse reports a product batch.
type UpsertResponse struct {
	Accepted  int               `json:"accepted"`
	Inserted  int               `json:"inserted"`
	Updated   int               `json:"updated"`
	Unchanged int               `json:"unchanged"`
	Indexed   int               `json:"indexed"`
	Rejected  []ingest.RowError `json:"rejected"`
}

// upsertProducts runs the same path as `vitrine ingest`: the records are
// parsed strictly, stored, encoded and fused; per-product problems are
// reported by index ("line" = 1-based position in the batch).
func (s *Server) upsertProducts(c echo.Context) error {
	var req upsertRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Products) == 0 || len(req.Products) > maxBatch {
		return fieldProblem("products", fmt.Sprintf("send 1 to %d products", maxBatch))
	}
	for i, raw := range req.Products {
		if err := remoteMediaOnly(raw, i); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	sp, _, err := s.svc.ActiveSpace(ctx)
	if err != nil {
		return err
	}
	records := make([][]byte, len(req.Products))
	for i, r := range req.Products {
		records[i] = r
	}
	var rejects bytes.Buffer
	sum, err := ingest.Run(ctx, &ingest.SliceReader{Records: records}, ingest.Options{
		Space: sp, Writer: s.deps.Store, Indexer: s.deps.Indexer, Rejects: &rejects, Logger: s.log,
	})
	if err != nil {
		return err
	}
	resp := UpsertResponse{Inserted: sum.Inserted, Updated: sum.Updated, Unchanged: sum.Unchanged, Indexed: sum.Indexed + sum.UpToDate, Rejected: []ingest.RowError{}}
	resp.Accepted = sum.Inserted + sum.Updated + sum.Unchanged
	dec := json.NewDecoder(&rejects)
	for {
		var r ingest.RowError
		if err := dec.Decode(&r); err != nil {
			break
		}
		resp.Rejected = append(resp.Rejected, r)
	}
	if resp.Accepted == 0 {
		issues := make([]FieldIssue, len(resp.Rejected))
		for i, r := range resp.Rejected {
			issues[i] = FieldIssue{Field: fmt.Sprintf("products[%d]", r.Line-1), Reason: r.Reason}
		}
		return problem(http.StatusUnprocessableEntity, "no product accepted", "every product was rejected", issues...)
	}
	return c.JSON(http.StatusOK, resp)
}

// remoteMediaOnly refuses local paths and file:// URLs from API clients:
// the server must not read its own files on a client's behalf.
func remoteMediaOnly(raw json.RawMessage, i int) error {
	var media struct {
		Images []any `json:"images"`
		Audio  []any `json:"audio"`
	}
	if json.Unmarshal(raw, &media) != nil {
		return nil // the strict parser reports the JSON problem per item
	}
	for field, list := range map[string][]any{"images": media.Images, "audio": media.Audio} {
		for j, v := range list {
			u, ok := v.(string)
			if !ok {
				continue
			}
			if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				return fieldProblem(fmt.Sprintf("products[%d].%s[%d]", i, field, j), "must be an http(s) URL")
			}
		}
	}
	return nil
}

func (s *Server) getProduct(c echo.Context) error {
	p, err := s.svc.Product(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view(p))
}

func (s *Server) deleteProduct(c echo.Context) error {
	if err := s.deps.Store.DeleteProduct(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
