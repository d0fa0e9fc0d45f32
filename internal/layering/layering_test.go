// Package layering holds the test that guards Vitrine's package layers
// (docs/architecture.md): the use-case and algorithm packages stay free of
// HTTP, SQL drivers and the store; only the command and test fixtures sit
// above the HTTP layer; the store's consumers see it through interfaces.
package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/vitrinehq/vitrine"

// pkg is what `go list -json` says of one package.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func list(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module+"/")] = p
	}
	return pkgs
}

// forbidden reports whether path is one of the banned import paths or
// below one of them.
func forbidden(path string, banned []string) bool {
	for _, b := range banned {
		if path == b || strings.HasPrefix(path, b+"/") {
			return true
		}
	}
	return false
}

// pure are the packages that hold Vitrine's ranking, recommendation,
// fusion and serving logic and its evaluation protocols: they must be
// usable (and tested) without a web server or a database driver.
var pure = []string{
	"serving", "ranking", "recommend", "fusion", "experiment", "vecmath", "records", "catalog",
	"eval/metrics", "eval/recs", "eval/search", "eval/photos", "lexical", "lexical/analysis",
}

// transport and storage are what the pure packages may not reach, even
// transitively.
var transportAndStorage = []string{
	"net/http", "github.com/labstack/echo", "github.com/labstack/echo/v4", "github.com/jackc/pgx/v5",
	"github.com/jackc/pgx", "github.com/riverqueue/river", module + "/store", module + "/api",
}

func TestPureLayersImportNoTransportOrStorage(t *testing.T) {
	pkgs := list(t)
	for _, name := range pure {
		p, ok := pkgs[name]
		if !ok {
			t.Errorf("package %s does not exist: the layering rules name it", name)
			continue
		}
		for _, d := range p.Deps {
			if forbidden(d, transportAndStorage) {
				t.Errorf("%s depends on %s (directly or through another package)", name, d)
			}
		}
	}
}

// TestNothingBelowAPIImportsAPI: api translates HTTP for the layers below;
// only the command and the API test fixture may import it.
func TestNothingBelowAPIImportsAPI(t *testing.T) {
	above := map[string]bool{"api": true, "cmd/vitrine": true, "internal/apitest": true}
	for name, p := range list(t) {
		if above[name] {
			continue
		}
		for _, imp := range p.Imports {
			if imp == module+"/api" {
				t.Errorf("%s imports api: only cmd/vitrine and internal/apitest may", name)
			}
		}
	}
}

// TestStoreConsumersUseInterfaces: these packages read and write through
// interfaces they declare and plain types from records and catalog, so
// they can be tested and reused without the SQL layer.
func TestStoreConsumersUseInterfaces(t *testing.T) {
	pkgs := list(t)
	for _, name := range []string{"serving", "training", "indexer", "ingest", "jobs", "web"} {
		p, ok := pkgs[name]
		if !ok {
			t.Errorf("package %s does not exist: the layering rules name it", name)
			continue
		}
		for _, imp := range p.Imports {
			if imp == module+"/store" {
				t.Errorf("%s imports store: declare the interface it needs and use records' types", name)
			}
		}
	}
}

// TestSQLStaysInStore: the database driver is imported only by the store,
// the migrations, River's job queue and the test and cluster helpers;
// commands and pages run no SQL of their own.
func TestSQLStaysInStore(t *testing.T) {
	allowed := map[string]bool{
		"store": true, "migrations": true, "jobs": true,
		"internal/testdb": true, "internal/apitest": true, "internal/pgcluster": true,
	}
	for name, p := range list(t) {
		if allowed[name] {
			continue
		}
		for _, imp := range p.Imports {
			if forbidden(imp, []string{"github.com/jackc/pgx/v5", "github.com/jackc/pgx"}) {
				t.Errorf("%s imports %s: SQL belongs in store", name, imp)
			}
		}
	}
}

// TestStoreImplementsNoUseCase: the store implements the ports that
// serving and the pipelines declare, with the plain types of records and
// catalog; it depends on none of the layers above it.
func TestStoreImplementsNoUseCase(t *testing.T) {
	above := []string{module + "/serving", module + "/api", module + "/web", module + "/lexical",
		module + "/training", module + "/indexer", module + "/ingest", module + "/jobs"}
	p, ok := list(t)["store"]
	if !ok {
		t.Fatal("package store does not exist")
	}
	for _, imp := range p.Imports {
		if forbidden(imp, above) {
			t.Errorf("store imports %s: move the shared types to records", imp)
		}
	}
}
