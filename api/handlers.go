package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/store"
)

// Limits of request fields.
const (
	defaultK       = 10
	maxBatch       = 1000
	candidatePool  = 100 // per retrieval list in hybrid search
	historyForWhy  = 20
	maxQueryLength = 500
)

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

func view(p catalog.Product) ProductView {
	v := ProductView{ID: p.ID, Title: p.Title, Description: p.Description, Brand: p.Brand, Category: p.Category,
		Price: p.Price, Currency: p.Currency, Attributes: p.Attributes}
	for _, m := range p.Media {
		if m.Kind == catalog.MediaImage {
			v.Images = append(v.Images, m.URI)
		} else {
			v.Audio = append(v.Audio, m.URI)
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

// hits attaches product details to ranked results, dropping products that
// vanished in between.
func (s *Server) hits(ctx context.Context, rs []ranking.Result, explain bool) ([]Hit, error) {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ProductID
	}
	ps, err := s.deps.Store.GetProducts(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Hit, 0, len(rs))
	for _, r := range rs {
		p, ok := ps[r.ProductID]
		if !ok {
			continue
		}
		v := view(p)
		h := Hit{ID: r.ProductID, Score: r.Score, Product: &v}
		if explain {
			h.Explain = r.Parts
		}
		out = append(out, h)
	}
	return out, nil
}

// --- products ---------------------------------------------------------------

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
	sp, _, err := s.activeSpace(ctx)
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
	p, err := s.deps.Store.GetProduct(c.Request().Context(), c.Param("id"))
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

// --- query parameters ---------------------------------------------------------

// intParam reads an integer query parameter within [lo, hi].
func intParam(c echo.Context, name string, def, lo, hi int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fieldProblem(name, fmt.Sprintf("must be an integer from %d to %d", lo, hi))
	}
	return n, nil
}

func floatParam(c echo.Context, name string) (*float64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return nil, fieldProblem(name, "must be a non-negative number")
	}
	return &f, nil
}

// filterParams reads category ("A > B"), brand (repeatable), min_price,
// max_price and attr.NAME=value query parameters.
func filterParams(c echo.Context) (catalog.Filter, error) {
	var f catalog.Filter
	q := c.QueryParams()
	if v := q.Get("category"); v != "" {
		for _, part := range strings.Split(v, ">") {
			if part = strings.TrimSpace(part); part != "" {
				f.Category = append(f.Category, part)
			}
		}
	}
	f.Brands = q["brand"]
	var err error
	if f.MinPrice, err = floatParam(c, "min_price"); err != nil {
		return f, err
	}
	if f.MaxPrice, err = floatParam(c, "max_price"); err != nil {
		return f, err
	}
	if f.MinPrice != nil && f.MaxPrice != nil && *f.MinPrice > *f.MaxPrice {
		return f, fieldProblem("min_price", "is greater than max_price")
	}
	for k, vs := range q {
		if name, ok := strings.CutPrefix(k, "attr."); ok && name != "" {
			if f.Attributes == nil {
				f.Attributes = map[string]any{}
			}
			f.Attributes[name] = attrValue(vs[0])
		}
	}
	return f, nil
}

// attrValue types an attribute filter value as JSON would (true, 3, "red").
func attrValue(v string) any {
	var x any
	if json.Unmarshal([]byte(v), &x) == nil {
		switch x.(type) {
		case bool, float64:
			return x
		}
	}
	return v
}

func validFilter(f *catalog.Filter, field string) error {
	if f == nil {
		return nil
	}
	if f.MinPrice != nil && *f.MinPrice < 0 {
		return fieldProblem(field+".min_price", "must not be negative")
	}
	if f.MinPrice != nil && f.MaxPrice != nil && *f.MinPrice > *f.MaxPrice {
		return fieldProblem(field+".min_price", "is greater than max_price")
	}
	return nil
}

// --- rank ---------------------------------------------------------------------

type rankRequest struct {
	UserID       string          `json:"user_id"`
	UserVector   []float32       `json:"user_vector"`
	Query        string          `json:"query"`
	CandidateIDs []string        `json:"candidate_ids"`
	Filter       *catalog.Filter `json:"filter"`
	K            *int            `json:"k"`
	Explain      bool            `json:"explain"`
}

// RankResponse is the ranking endpoint's answer.
type RankResponse struct {
	Space        int      `json:"space"`
	Results      []Hit    `json:"results"`
	Missing      []string `json:"missing,omitempty"`
	ImpressionID string   `json:"impression_id,omitempty"`
	Variant      string   `json:"variant,omitempty"`
}

func (s *Server) rank(c echo.Context) error {
	var req rankRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	given := 0
	for _, b := range []bool{req.UserID != "", req.UserVector != nil, strings.TrimSpace(req.Query) != ""} {
		if b {
			given++
		}
	}
	if given != 1 {
		return fieldProblem("user_id", "give exactly one of user_id, user_vector or query")
	}
	k := defaultK
	if req.K != nil {
		k = *req.K
	}
	if k < 1 || k > store.MaxK {
		return fieldProblem("k", fmt.Sprintf("must be from 1 to %d", store.MaxK))
	}
	if len(req.CandidateIDs) > maxBatch {
		return fieldProblem("candidate_ids", fmt.Sprintf("at most %d", maxBatch))
	}
	if err := validFilter(req.Filter, "filter"); err != nil {
		return err
	}
	if len(req.Query) > maxQueryLength {
		return fieldProblem("query", fmt.Sprintf("longer than %d bytes", maxQueryLength))
	}
	if _, err := userID("user_id", req.UserID); err != nil {
		return err
	}
	p := s.params(req.UserID)
	ctx := c.Request().Context()
	sp, spec, err := s.activeSpace(ctx)
	if err != nil {
		return err
	}
	var q []float32
	switch {
	case req.UserVector != nil:
		if len(req.UserVector) != sp.Dim {
			return fieldProblem("user_vector", fmt.Sprintf("has %d dimensions, the active space (version %d) has %d", len(req.UserVector), sp.Version, sp.Dim))
		}
		q = req.UserVector
	case req.UserID != "":
		uv, err := s.deps.Store.GetUserVector(ctx, req.UserID, sp.Version)
		if errors.Is(err, store.ErrNotFound) {
			return problem(http.StatusNotFound, "no user vector", fmt.Sprintf("user %q has no events in vector space %d", req.UserID, sp.Version))
		}
		if err != nil {
			return err
		}
		q = uv.Vector
	default:
		if q, err = s.queryVector(ctx, spec, req.Query); err != nil {
			return err
		}
	}
	resp := RankResponse{Space: sp.Version}
	var ids []string
	if req.CandidateIDs != nil {
		ids = req.CandidateIDs
	} else {
		f := catalog.Filter{}
		if req.Filter != nil {
			f = *req.Filter
		}
		nn, err := s.deps.Store.Nearest(ctx, store.NearestQuery{Space: sp.Version, Vector: q, K: k, Filter: f})
		if err != nil {
			return err
		}
		for _, n := range nn {
			ids = append(ids, n.ProductID)
		}
	}
	vecs, err := s.deps.Store.ProductVectors(ctx, sp.Version, ids)
	if err != nil {
		return err
	}
	cands := make([]ranking.Candidate, 0, len(ids))
	for _, id := range ids {
		if v, ok := vecs[id]; ok {
			cands = append(cands, ranking.Candidate{ProductID: id, Vector: v})
		} else {
			resp.Missing = append(resp.Missing, id)
		}
	}
	rs := ranking.ByVector(spec, q, cands, req.Explain)
	if len(rs) > k {
		rs = rs[:k]
	}
	if resp.Results, err = s.hits(ctx, rs, req.Explain); err != nil {
		return err
	}
	resp.ImpressionID, resp.Variant = s.served(store.SurfaceRank, req.UserID, p.variant, resp.Results), p.variant.Name
	return c.JSON(http.StatusOK, resp)
}

// queryVector encodes a text query into the fused space (its text block).
func (s *Server) queryVector(ctx context.Context, spec fusion.Spec, q string) ([]float32, error) {
	v, err := s.text.Encode(ctx, []byte(q))
	if err != nil {
		return nil, queryError(err)
	}
	fq, err := spec.Query(map[string][]float32{s.text.Key(): v})
	if err != nil {
		return nil, fieldProblem("query", "the active vector space has no text model")
	}
	return fq, nil
}

func queryError(err error) error {
	var pe *problemError
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, catalog.ErrInvalid) || strings.Contains(err.Error(), "empty input") {
		return fieldProblem("q", "has no known words")
	}
	return err
}

// --- search -------------------------------------------------------------------

// SearchResponse is hybrid search's answer.
type SearchResponse struct {
	Query   string       `json:"query"`
	Results []Hit        `json:"results"`
	Facets  store.Facets `json:"facets"`
	// ImpressionID names this list in the impression log; events may send
	// it back for exact attribution. Empty when the log is off or full.
	ImpressionID string `json:"impression_id,omitempty"`
	// Variant is the A/B variant that served the list, when an experiment
	// runs.
	Variant string `json:"variant,omitempty"`
}

func (s *Server) search(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	if q == "" {
		return fieldProblem("q", "is required")
	}
	if len(q) > maxQueryLength {
		return fieldProblem("q", fmt.Sprintf("longer than %d bytes", maxQueryLength))
	}
	k, err := intParam(c, "k", defaultK, 1, store.MaxK)
	if err != nil {
		return err
	}
	f, err := filterParams(c)
	if err != nil {
		return err
	}
	uid, err := userParam(c)
	if err != nil {
		return err
	}
	p := s.params(uid)
	lw, vw := p.lexicalWeight, p.vectorWeight
	for name, w := range map[string]*float64{"lexical_weight": &lw, "vector_weight": &vw} {
		if v, err := floatParam(c, name); err != nil {
			return err
		} else if v != nil {
			*w = *v
		}
	}
	ctx := c.Request().Context()
	pool := max(k, candidatePool)
	lex, err := s.deps.Store.LexicalSearch(ctx, q, f, pool)
	if err != nil {
		return err
	}
	lists := []ranking.List{{Name: "lexical", Weight: lw}}
	for _, x := range lex {
		lists[0].IDs = append(lists[0].IDs, x.ProductID)
	}
	tv, err := s.text.Encode(ctx, []byte(q))
	switch {
	case err == nil:
		nn, err := s.deps.Store.Nearest(ctx, store.NearestQuery{Model: s.text.Key(), Vector: tv, K: pool, Filter: f})
		if err != nil {
			return err
		}
		vl := ranking.List{Name: "vector", Weight: vw}
		for _, n := range nn {
			vl.IDs = append(vl.IDs, n.ProductID)
		}
		lists = append(lists, vl)
	case strings.Contains(err.Error(), "empty input"):
		// No known words (a part number, a brand the vectors do not know):
		// lexical search alone answers.
	default:
		return err
	}
	rs := ranking.RRF(lists, ranking.RRFK)
	if uid != "" {
		if err := s.personalize(ctx, uid, rs); err != nil {
			return err
		}
	}
	pool2 := make([]string, len(rs))
	for i, r := range rs {
		pool2[i] = r.ProductID
	}
	if len(rs) > k {
		rs = rs[:k]
	}
	// The page, its facets and the query log are independent queries.
	resp := SearchResponse{Query: q}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		resp.Results, err = s.hits(gctx, rs, true)
		return err
	})
	g.Go(func() (err error) {
		resp.Facets, err = s.deps.Store.Facets(gctx, pool2)
		return err
	})
	g.Go(func() error {
		if err := s.deps.Store.LogQuery(gctx, uid, q); err != nil && gctx.Err() == nil {
			s.log.Warn("query log", "err", err) // a lost log line does not fail the search
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	resp.ImpressionID, resp.Variant = s.served(store.SurfaceSearch, uid, p.variant, resp.Results), p.variant.Name
	return c.JSON(http.StatusOK, resp)
}

// personalize re-ranks by the user's affinity when the user has a vector.
func (s *Server) personalize(ctx context.Context, userID string, rs []ranking.Result) error {
	sp, _, err := s.activeSpace(ctx)
	if err != nil {
		return err
	}
	uv, err := s.deps.Store.GetUserVector(ctx, userID, sp.Version)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ProductID
	}
	vecs, err := s.deps.Store.ProductVectors(ctx, sp.Version, ids)
	if err != nil {
		return err
	}
	// RRF scores are about 1/60; scale the affinity to that range.
	ranking.Personalize(rs, uv.Vector, vecs, s.cfg.PersonalWeight/ranking.RRFK)
	return nil
}

// --- search by photo ------------------------------------------------------------

type imageRequest struct {
	URL    string `json:"url"`
	K      *int   `json:"k"`
	UserID string `json:"user_id"`
}

func (s *Server) searchImage(c echo.Context) error {
	if s.image == nil {
		return problem(http.StatusNotImplemented, "no image model", "configure models.image to search by photo")
	}
	ctx := c.Request().Context()
	var data []byte
	k := defaultK
	var uid string
	ct := c.Request().Header.Get(echo.HeaderContentType)
	switch {
	case strings.HasPrefix(ct, echo.MIMEMultipartForm):
		fh, err := c.FormFile("image")
		if err != nil {
			if u := c.FormValue("url"); u != "" {
				if data, err = s.fetchURL(ctx, u); err != nil {
					return err
				}
				break
			}
			return fieldProblem("image", "upload a file in the multipart field \"image\" (or give \"url\")")
		}
		f, err := fh.Open()
		if err != nil {
			return fieldProblem("image", err.Error())
		}
		defer f.Close()
		if data, err = io.ReadAll(f); err != nil {
			return err
		}
		if v := c.FormValue("k"); v != "" {
			if k, err = strconv.Atoi(v); err != nil {
				return fieldProblem("k", "must be an integer")
			}
		}
		uid = c.FormValue("user_id")
	default:
		var req imageRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.URL == "" {
			return fieldProblem("url", "is required (or upload multipart field \"image\")")
		}
		if req.K != nil {
			k = *req.K
		}
		uid = req.UserID
		var err error
		if data, err = s.fetchURL(ctx, req.URL); err != nil {
			return err
		}
	}
	if k < 1 || k > store.MaxK {
		return fieldProblem("k", fmt.Sprintf("must be from 1 to %d", store.MaxK))
	}
	if _, err := userID("user_id", uid); err != nil {
		return err
	}
	p := s.params(uid)
	v, err := s.image.Encode(ctx, data)
	if err != nil {
		return err
	}
	f, err := filterParams(c)
	if err != nil {
		return err
	}
	nn, err := s.deps.Store.Nearest(ctx, store.NearestQuery{Model: s.image.Key(), Vector: v, K: k, Filter: f})
	if err != nil {
		return err
	}
	rs := make([]ranking.Result, len(nn))
	for i, n := range nn {
		rs[i] = ranking.Result{ProductID: n.ProductID, Score: 1 - n.Distance, Parts: []ranking.Part{{Name: "image", Score: 1 - n.Distance}}}
	}
	hits, err := s.hits(ctx, rs, true)
	if err != nil {
		return err
	}
	resp := map[string]any{"results": hits}
	s.servedInto(resp, store.SurfaceImageSearch, uid, p.variant, hits)
	return c.JSON(http.StatusOK, resp)
}

func (s *Server) fetchURL(ctx context.Context, u string) ([]byte, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") {
		return nil, fieldProblem("url", "must be an http(s) URL")
	}
	b, err := s.deps.Media.Load(ctx, u)
	if err != nil {
		return nil, fieldProblem("url", err.Error())
	}
	return b, nil
}

// --- suggest ------------------------------------------------------------------

func (s *Server) suggest(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	if q == "" {
		return fieldProblem("q", "is required")
	}
	if len(q) > 100 {
		return fieldProblem("q", "longer than 100 bytes")
	}
	k, err := intParam(c, "k", 8, 1, 50)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var boost []string
	if uid := c.QueryParam("user_id"); uid != "" {
		if boost, err = s.deps.Store.UserCategories(ctx, uid, 3); err != nil {
			return err
		}
	}
	sug, err := s.deps.Store.Suggest(ctx, q, k, boost)
	if err != nil {
		return err
	}
	if sug == nil {
		sug = []store.Suggestion{}
	}
	return c.JSON(http.StatusOK, map[string]any{"query": q, "suggestions": sug})
}

// --- similar --------------------------------------------------------------------

func (s *Server) similar(c echo.Context) error {
	k, err := intParam(c, "k", defaultK, 1, store.MaxK)
	if err != nil {
		return err
	}
	uid, err := userParam(c)
	if err != nil {
		return err
	}
	p := s.params(uid)
	ctx := c.Request().Context()
	id := c.Param("id")
	if _, err := s.deps.Store.GetProduct(ctx, id); err != nil {
		return err
	}
	sp, spec, err := s.activeSpace(ctx)
	if err != nil {
		return err
	}
	vecs, err := s.deps.Store.ProductVectors(ctx, sp.Version, []string{id})
	if err != nil {
		return err
	}
	v, ok := vecs[id]
	if !ok {
		return problem(http.StatusNotFound, "not indexed", fmt.Sprintf("product %q has no vector in space %d", id, sp.Version))
	}
	nn, err := s.deps.Store.Nearest(ctx, store.NearestQuery{Space: sp.Version, Vector: v, K: k, Filter: catalog.Filter{Exclude: []string{id}}})
	if err != nil {
		return err
	}
	ids := make([]string, len(nn))
	for i, n := range nn {
		ids[i] = n.ProductID
	}
	// With a trained model, products bought by the same people join the
	// candidates and the item factors' cosine joins the score.
	cf, err := s.deps.Store.ActiveCFModel(ctx)
	if err != nil && !errors.Is(err, store.ErrNoCFModel) {
		return err
	}
	var factors map[string][]float32
	if err == nil {
		if factors, err = s.deps.Store.ItemFactors(ctx, cf.Version, []string{id}); err != nil {
			return err
		}
	}
	if f, ok := factors[id]; ok {
		top, err := s.deps.Store.TopItemsByFactors(ctx, cf, f, k, []string{id})
		if err != nil {
			return err
		}
		for _, x := range top {
			if !slices.Contains(ids, x.ProductID) {
				ids = append(ids, x.ProductID)
			}
		}
		if factors, err = s.deps.Store.ItemFactors(ctx, cf.Version, append(slices.Clone(ids), id)); err != nil {
			return err
		}
	}
	pv, err := s.deps.Store.ProductVectors(ctx, sp.Version, ids)
	if err != nil {
		return err
	}
	cands := make([]ranking.Candidate, 0, len(ids))
	for _, id := range ids {
		cands = append(cands, ranking.Candidate{ProductID: id, Vector: pv[id]})
	}
	rs := ranking.ByVector(spec, v, cands, true)
	if f, ok := factors[id]; ok {
		rs = blendSimilar(rs, f, factors)
	}
	if len(rs) > k {
		rs = rs[:k]
	}
	hits, err := s.hits(ctx, rs, true)
	if err != nil {
		return err
	}
	resp := map[string]any{"id": id, "results": hits}
	s.servedInto(resp, store.SurfaceSimilar, uid, p.variant, hits)
	return c.JSON(http.StatusOK, resp)
}

// blendSimilar adds the item-factor cosine as a "collaborative" part and
// re-scores by the z-normalised sum of content and collaborative similarity.
func blendSimilar(rs []ranking.Result, f []float32, factors map[string][]float32) []ranking.Result {
	content, collab := make([]float64, len(rs)), make([]float64, len(rs))
	for i, r := range rs {
		content[i] = r.Score
		collab[i] = math.NaN()
		if g, ok := factors[r.ProductID]; ok {
			collab[i] = ranking.Cosine(f, g)
			rs[i].Parts = append(rs[i].Parts, ranking.Part{Name: "collaborative", Score: collab[i]})
		}
	}
	total, err := recommend.Blend(map[string][]float64{"content": content, "collaborative": collab},
		map[string]float64{"content": 1, "collaborative": 1})
	if err != nil {
		return rs
	}
	for i := range rs {
		rs[i].Score = total[i]
	}
	ranking.Sort(rs)
	return rs
}

// --- events ---------------------------------------------------------------------

type eventsRequest struct {
	Events []catalog.Event `json:"events"`
}

// EventResult is the outcome of one submitted event.
type EventResult struct {
	ClientEventID string `json:"client_event_id"`
	Status        string `json:"status"` // accepted, duplicate or rejected
	Error         string `json:"error,omitempty"`
}

func (s *Server) events(c echo.Context) error {
	var req eventsRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Events) == 0 || len(req.Events) > maxBatch {
		return fieldProblem("events", fmt.Sprintf("send 1 to %d events", maxBatch))
	}
	out := make([]EventResult, len(req.Events))
	var valid []catalog.Event
	var idx []int
	var issues []FieldIssue
	for i := range req.Events {
		e := &req.Events[i]
		out[i].ClientEventID = e.ClientEventID
		if err := e.Validate(); err != nil {
			out[i].Status, out[i].Error = "rejected", err.Error()
			var fe *catalog.FieldError
			if errors.As(err, &fe) {
				issues = append(issues, FieldIssue{fmt.Sprintf("events[%d].%s", i, fe.Field), fe.Reason})
			}
			continue
		}
		if e.OccurredAt.After(time.Now().Add(5 * time.Minute)) {
			out[i].Status, out[i].Error = "rejected", "timestamp: is in the future"
			issues = append(issues, FieldIssue{fmt.Sprintf("events[%d].timestamp", i), "is in the future"})
			continue
		}
		valid, idx = append(valid, *e), append(idx, i)
	}
	ctx := c.Request().Context()
	// Events naming an impression: it must exist and have been served to
	// the same user (or to an anonymous request).
	bad, err := s.checkImpressions(ctx, valid)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		var kept []catalog.Event
		var keptIdx []int
		for j, e := range valid {
			i := idx[j]
			if reason, ok := bad[j]; ok {
				out[i].Status, out[i].Error = "rejected", "impression_id: "+reason
				issues = append(issues, FieldIssue{fmt.Sprintf("events[%d].impression_id", i), reason})
				continue
			}
			kept, keptIdx = append(kept, e), append(keptIdx, i)
		}
		valid, idx = kept, keptIdx
	}
	if len(valid) == 0 {
		return problem(http.StatusUnprocessableEntity, "no valid events", "every event was rejected", issues...)
	}
	res, err := s.deps.Store.InsertEvents(ctx, valid)
	if err != nil {
		return err
	}
	var inserted []catalog.Event
	for j, r := range res {
		i := idx[j]
		switch r.Status {
		case store.EventInserted:
			out[i].Status = "accepted"
			inserted = append(inserted, valid[j])
		case store.EventDuplicate:
			out[i].Status = "duplicate"
		default:
			out[i].Status, out[i].Error = "rejected", r.Err.Error()
		}
	}
	if err := s.learn(ctx, inserted); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"results": out})
}

// learn folds new events into their users' vectors, in time order, so the
// next ranking call reflects them.
func (s *Server) learn(ctx context.Context, evs []catalog.Event) error {
	if len(evs) == 0 {
		return nil
	}
	sp, _, err := s.activeSpace(ctx)
	if err != nil {
		return err
	}
	byUser := map[string][]catalog.Event{}
	var pids []string
	for _, e := range evs {
		byUser[e.UserID] = append(byUser[e.UserID], e)
		pids = append(pids, e.ProductID)
	}
	vecs, err := s.deps.Store.ProductVectors(ctx, sp.Version, pids)
	if err != nil {
		return err
	}
	users := make([]string, 0, len(byUser))
	for u := range byUser {
		users = append(users, u)
	}
	sort.Strings(users) // a fixed lock order across concurrent batches
	for _, u := range users {
		es := byUser[u]
		slices.SortStableFunc(es, func(a, b catalog.Event) int { return a.OccurredAt.Compare(b.OccurredAt) })
		err := s.deps.Store.UpdateUserVector(ctx, u, sp.Version, func(cur store.UserVector) (store.UserVector, error) {
			st := ranking.UserState{Vector: cur.Vector, Weight: cur.Weight, UpdatedAt: cur.UpdatedAt}
			for _, e := range es {
				if v, ok := vecs[e.ProductID]; ok {
					st = ranking.Update(st, v, ranking.EventWeight(e.Type, e.Value), e.OccurredAt, s.cfg.HalfLife)
				}
			}
			if st.Vector == nil {
				st.Vector = make([]float32, sp.Dim)
			}
			return store.UserVector{UserID: u, Space: sp.Version, Vector: st.Vector, Weight: st.Weight, UpdatedAt: st.UpdatedAt}, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// --- recommendations ------------------------------------------------------------

func (s *Server) recommendations(c echo.Context) error {
	k, err := intParam(c, "k", defaultK, 1, store.MaxK)
	if err != nil {
		return err
	}
	uid, err := userID("id", c.Param("id"))
	if err != nil {
		return err
	}
	p := s.params(uid)
	rr, err := rerankParams(c, p.mmrLambda)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	sp, spec, err := s.activeSpace(ctx)
	if err != nil {
		return err
	}
	bought, err := s.deps.Store.Purchased(ctx, uid)
	if err != nil {
		return err
	}
	uv, err := s.deps.Store.GetUserVector(ctx, uid, sp.Version)
	hasContent := err == nil && !isZero(uv.Vector)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// Re-rankers need room to choose: retrieve a pool larger than k.
	pool := max(3*k, 30)
	var rs []ranking.Result
	strategy := "content"
	cf, err := s.deps.Store.ActiveCFModel(ctx)
	switch {
	case err == nil:
		strategy = "hybrid"
		if rs, err = s.hybrid(ctx, uid, pool, bought, cf, uv.Vector, hasContent, p); err != nil {
			return err
		}
	case !errors.Is(err, store.ErrNoCFModel):
		return err
	case hasContent:
		nn, err := s.deps.Store.Nearest(ctx, store.NearestQuery{Space: sp.Version, Vector: uv.Vector, K: pool, Filter: catalog.Filter{Exclude: bought}})
		if err != nil {
			return err
		}
		ids := make([]string, len(nn))
		for i, n := range nn {
			ids[i] = n.ProductID
		}
		vecs, err := s.deps.Store.ProductVectors(ctx, sp.Version, ids)
		if err != nil {
			return err
		}
		cands := make([]ranking.Candidate, 0, len(ids))
		for _, id := range ids {
			cands = append(cands, ranking.Candidate{ProductID: id, Vector: vecs[id]})
		}
		rs = ranking.ByVector(spec, uv.Vector, cands, true)
	}
	if len(rs) == 0 {
		return s.popular(c, uid, k, bought, p)
	}
	rs, gini, err := s.rerank(ctx, sp.Version, rs, k, rr)
	if err != nil {
		return err
	}
	hits, err := s.hits(ctx, rs, true)
	if err != nil {
		return err
	}
	if err := s.explainBecause(ctx, uid, sp.Version, hits); err != nil {
		return err
	}
	resp := map[string]any{"user_id": uid, "strategy": strategy, "results": hits, "brand_exposure_gini": gini}
	if strategy == "hybrid" {
		resp["cf_model"] = cf.Version
	}
	s.servedInto(resp, store.SurfaceRecommendations, uid, p.variant, hits)
	return c.JSON(http.StatusOK, resp)
}

// popular answers cold-start users with the most interacted-with products.
func (s *Server) popular(c echo.Context, uid string, k int, exclude []string, p params) error {
	ctx := c.Request().Context()
	pop, err := s.deps.Store.PopularProducts(ctx, time.Now(), k+len(exclude))
	if err != nil {
		return err
	}
	var rs []ranking.Result
	for _, p := range pop {
		if !slices.Contains(exclude, p.ProductID) && len(rs) < k {
			rs = append(rs, ranking.Result{ProductID: p.ProductID, Score: p.Score, Parts: []ranking.Part{{Name: "popularity", Score: p.Score}}})
		}
	}
	hits, err := s.hits(ctx, rs, true)
	if err != nil {
		return err
	}
	if hits == nil {
		hits = []Hit{}
	}
	resp := map[string]any{"user_id": uid, "strategy": "popular", "results": hits}
	s.servedInto(resp, store.SurfaceRecommendations, uid, p.variant, hits)
	return c.JSON(http.StatusOK, resp)
}

func catalogExclude(ids []string) catalog.Filter { return catalog.Filter{Exclude: ids} }

func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// deleteUser erases the user from the database and drops their
// impressions still waiting in this server's buffer; a user known only
// from such impressions is erased too (204, not 404).
func (s *Server) deleteUser(c echo.Context) error {
	uid := c.Param("id")
	erase := func() error { return s.deps.Store.DeleteUser(c.Request().Context(), uid) }
	if s.imps == nil {
		if err := erase(); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
	dropped, err := s.imps.forget(uid, erase)
	if err != nil && !(errors.Is(err, store.ErrNotFound) && dropped > 0) {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
