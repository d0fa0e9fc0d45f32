package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/jobs"
	"github.com/vitrinehq/vitrine/records"
)

// Overview is GET /v1/admin/overview: what the catalog and its vector
// spaces look like right now.
type Overview struct {
	Products int64 `json:"products"`
	// ActiveSpace is the serving space's version, or null before the first
	// ingestion.
	ActiveSpace *int        `json:"active_space"`
	Spaces      []SpaceView `json:"spaces"`
	// PendingJobs counts encoding jobs queued or running (ingest --enqueue,
	// backfills run through workers).
	PendingJobs int64 `json:"pending_jobs"`
	// Model is the active recommendation model: what training chose and
	// what the API serves (null before the first training).
	Model *ModelView `json:"model"`
	At    time.Time  `json:"at"`
}

// ModelView is the active collaborative-filtering model as /admin shows
// it: the method whose factors are stored, what the search chose and its
// validation NDCG@10, what is served (its components, weights, settings)
// and every searched method's best settings.
type ModelView struct {
	Version      int             `json:"version"`
	Method       string          `json:"method"`
	TrainedAt    time.Time       `json:"trained_at"`
	Interactions int64           `json:"interactions"`
	Chosen       string          `json:"chosen,omitempty"`
	ChosenNDCG   float64         `json:"chosen_ndcg,omitempty"`
	Serve        json.RawMessage `json:"serve,omitempty"`
	Searched     json.RawMessage `json:"searched,omitempty"`
}

// modelReader reads the active model (store.Store has it); a Store
// without it shows no model.
type modelReader interface {
	ActiveCFModel(ctx context.Context) (records.CFModel, error)
}

// activeModel is the overview's model, nil when none is trained.
func activeModel(ctx context.Context, st Store) (*ModelView, error) {
	mr, ok := st.(modelReader)
	if !ok {
		return nil, nil
	}
	m, err := mr.ActiveCFModel(ctx)
	if errors.Is(err, records.ErrNoCFModel) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v := &ModelView{Version: m.Version, Method: m.Method, TrainedAt: m.TrainedAt, Interactions: m.Interactions}
	v.Chosen, _ = m.Params["chosen"].(string)
	v.ChosenNDCG, _ = m.Params["chosen_ndcg"].(float64)
	if x, ok := m.Params["serve"]; ok {
		v.Serve, _ = json.Marshal(x)
	}
	if x, ok := m.Params["searched"]; ok {
		v.Searched, _ = json.Marshal(x)
	}
	return v, nil
}

// SpaceView is one vector-space version. Vectors against the product count
// is a backfill's progress.
type SpaceView struct {
	Version     int                `json:"version"`
	Name        string             `json:"name,omitempty"`
	State       records.SpaceState `json:"state"`
	Dim         int                `json:"dim"`
	Storage     records.Storage    `json:"storage"`
	Vectors     int64              `json:"vectors"`
	Fusion      json.RawMessage    `json:"fusion"`
	CreatedAt   time.Time          `json:"created_at"`
	ActivatedAt *time.Time         `json:"activated_at,omitempty"`
}

func (h *handlers) overview(c echo.Context) error {
	ctx := c.Request().Context()
	st := h.d.Store
	n, err := st.CountProducts(ctx)
	if err != nil {
		return err
	}
	spaces, err := st.ListSpaces(ctx)
	if err != nil {
		return err
	}
	pending, err := jobs.Pending(ctx, st)
	if err != nil {
		return err
	}
	model, err := activeModel(ctx, st)
	if err != nil {
		return err
	}
	o := Overview{Products: n, Spaces: make([]SpaceView, 0, len(spaces)), PendingJobs: pending, Model: model, At: time.Now().UTC()}
	for _, sp := range spaces {
		if sp.State == records.SpaceActive {
			v := sp.Version
			o.ActiveSpace = &v
		}
		spec := sp.Spec
		if !json.Valid(spec) {
			spec = json.RawMessage(`null`)
		}
		o.Spaces = append(o.Spaces, SpaceView{Version: sp.Version, Name: sp.Name, State: sp.State, Dim: sp.Dim,
			Storage: sp.Storage, Vectors: sp.Vectors, Fusion: spec, CreatedAt: sp.CreatedAt, ActivatedAt: sp.ActivatedAt})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, o)
}

// Report files are read whole into the answer; bigger ones are listed but
// not read, so a stray dump cannot balloon the admin page.
const (
	maxReportBytes = 2 << 20
	maxReports     = 100
)

// Reports is GET /v1/admin/reports: the benchmark summary and the files of
// the reports directory, newest first.
type Reports struct {
	Dir        string       `json:"dir"`
	DirMissing bool         `json:"dir_missing,omitempty"`
	Benchmarks *ReportFile  `json:"benchmarks,omitempty"`
	JSON       []ReportFile `json:"json"`
	Markdown   []ReportFile `json:"markdown"`
	Images     []ReportFile `json:"images"`
}

// ReportFile is one report; exactly one of Data (JSON), Text (Markdown) or
// URL (a plot) is set, unless Skipped says why not.
type ReportFile struct {
	Name     string          `json:"name"`
	Modified time.Time       `json:"modified"`
	Size     int64           `json:"size"`
	Data     json.RawMessage `json:"data,omitempty"`
	Text     string          `json:"text,omitempty"`
	URL      string          `json:"url,omitempty"`
	Skipped  string          `json:"skipped,omitempty"`
}

// imageType is the content type of a plot format served from the reports
// directory, or "" for anything else.
func imageType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	case ".svg":
		return "image/svg+xml"
	}
	return ""
}

func (h *handlers) reports(c echo.Context) error {
	out := Reports{Dir: h.d.ReportsDir, JSON: []ReportFile{}, Markdown: []ReportFile{}, Images: []ReportFile{}}
	if b, err := readReport(h.d.Benchmarks); err == nil {
		out.Benchmarks = &b
	} else if !errors.Is(err, fs.ErrNotExist) {
		h.d.Logger.Warn("benchmark summary unreadable", "path", h.d.Benchmarks, "err", err)
	}
	root, err := os.OpenRoot(h.d.ReportsDir)
	if errors.Is(err, fs.ErrNotExist) {
		out.DirMissing = true
		return c.JSON(http.StatusOK, out)
	}
	if err != nil {
		return fmt.Errorf("reports directory %s: %w", h.d.ReportsDir, err)
	}
	defer root.Close()
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		return fmt.Errorf("reports directory %s: %w", h.d.ReportsDir, err)
	}
	type file struct {
		name string
		info fs.FileInfo
	}
	var files []file
	for _, e := range entries {
		// Regular files only: a link could lead out of the directory.
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed while listing
		}
		files = append(files, file{e.Name(), info})
	}
	slices.SortFunc(files, func(a, b file) int { return b.info.ModTime().Compare(a.info.ModTime()) })
	if len(files) > maxReports {
		files = files[:maxReports]
	}
	for _, f := range files {
		ext := strings.ToLower(path.Ext(f.name))
		rf := ReportFile{Name: f.name, Modified: f.info.ModTime().UTC(), Size: f.info.Size()}
		switch {
		case imageType(f.name) != "":
			rf.URL = "/v1/admin/reports/" + f.name
			out.Images = append(out.Images, rf)
		case ext == ".json" || ext == ".md":
			if rf.Size > maxReportBytes {
				rf.Skipped = fmt.Sprintf("larger than %d MiB", maxReportBytes>>20)
			} else if b, err := root.ReadFile(f.name); err != nil {
				rf.Skipped = err.Error()
			} else if ext == ".md" {
				rf.Text = string(b)
			} else if json.Valid(b) {
				rf.Data = b
			} else {
				rf.Skipped = "not valid JSON"
			}
			if ext == ".md" {
				out.Markdown = append(out.Markdown, rf)
			} else {
				out.JSON = append(out.JSON, rf)
			}
		}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

func readReport(name string) (ReportFile, error) {
	f, err := os.Open(name)
	if err != nil {
		return ReportFile{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ReportFile{}, err
	}
	rf := ReportFile{Name: filepath.Base(name), Modified: st.ModTime().UTC(), Size: st.Size()}
	b, err := io.ReadAll(io.LimitReader(f, maxReportBytes+1))
	if err != nil {
		return ReportFile{}, err
	}
	if len(b) > maxReportBytes {
		rf.Skipped = fmt.Sprintf("larger than %d MiB", maxReportBytes>>20)
		return rf, nil
	}
	rf.Text = string(b)
	return rf, nil
}

// reportFile serves one plot from the reports directory, by plain file name.
func (h *handlers) reportFile(c echo.Context) error {
	name := c.Param("name")
	ctype := imageType(name)
	if ctype == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		return echo.NewHTTPError(http.StatusNotFound, "no such plot")
	}
	root, err := os.OpenRoot(h.d.ReportsDir)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "no reports directory")
	}
	defer root.Close()
	// os.Root refuses names that lead out of the directory, links included.
	f, err := root.Open(name)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "no such plot")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return echo.NewHTTPError(http.StatusNotFound, "no such plot")
	}
	hd := c.Response().Header()
	hd.Set(echo.HeaderContentType, ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	// An SVG opened on its own would run its scripts on this origin.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	hd.Set("Cache-Control", "no-cache")
	http.ServeContent(c.Response(), c.Request(), st.Name(), st.ModTime(), f)
	return nil
}
