package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/vitrinehq/vitrine/api"
)

// chromiumPath is where Debian's chromium package (scripts/setup) puts it.
const chromiumPath = "/usr/bin/chromium"

// session is one headless Chromium tab on the storefront, with every console
// message it wrote and a directory for screenshots.
type session struct {
	t   *testing.T
	ctx context.Context
	dir string

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// artifactDir is where screenshots go: $VITRINE_ARTIFACTS/web-browser when
// set (CI keeps it), else a temporary directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if base := os.Getenv("VITRINE_ARTIFACTS"); base != "" {
		dir = filepath.Join(base, "web-browser")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// newSession starts a fresh headless Chromium; flags add to the
// defaults (a fake microphone, say).
func newSession(t *testing.T, flags ...chromedp.ExecAllocatorOption) *session {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed at %s (%v): run scripts/setup, which installs Debian's chromium package", chromiumPath, err)
	}
	// The flags keep Chromium off the network (the machine has none) and
	// out of any profile but a fresh one.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // root in a container: the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	opts = append(opts, flags...)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelTab)
	s := &session{t: t, ctx: ctx, dir: artifactDir(t)}
	// Subscribing starts the browser and the tab, so nothing the page
	// writes is missed.
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			s.mu.Lock()
			s.console = append(s.console, m)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancelTab()
		<-done
	})
	return s
}

// errors are the console's error-level messages and uncaught exceptions.
func (s *session) errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.console {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			out = append(out, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
		}
	}
	return out
}

func (s *session) checkConsole(after string) {
	s.t.Helper()
	if errs := s.errors(); len(errs) > 0 {
		s.shot("console-error")
		s.t.Fatalf("after %s, the console has errors:\n%s", after, strings.Join(errs, "\n"))
	}
}

func (s *session) fatalf(format string, args ...any) {
	s.t.Helper()
	s.shot("failure")
	s.t.Fatalf(format, args...)
}

// shot saves a screenshot as NAME.png: the whole page from the top, or the
// viewport while a dialog is open (a full-page capture of a modal is the
// dialog floating in a long strip of backdrop).
func (s *session) shot(name string) {
	s.t.Helper()
	buf, err := chromedp.Run(s.ctx, chromedp.Action[[]byte](screenshot))
	if err != nil {
		s.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(s.dir, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		s.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	s.t.Logf("screenshot %s", p)
}

func screenshot(ctx context.Context, t *chromedp.Target) ([]byte, error) {
	modal, err := chromedp.Evaluate[bool](`!!document.querySelector('dialog[open]')`)(ctx, t)
	if err != nil {
		return nil, err
	}
	if modal {
		return chromedp.CaptureScreenshot()(ctx, t)
	}
	if _, err := chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)(ctx, t); err != nil {
		return nil, err
	}
	m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return nil, err
	}
	if m.CSSContentSize == nil {
		return nil, fmt.Errorf("no content size in the layout metrics")
	}
	yes := true
	r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		Clip:                  &page.Viewport{Width: m.CSSContentSize.Width, Height: m.CSSContentSize.Height, Scale: 1},
		CaptureBeyondViewport: &yes,
		FromSurface:           &yes,
	})
	if err != nil {
		return nil, err
	}
	return r.Data, nil
}

func (s *session) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	if err := chromedp.Do(s.ctx, actions...); err != nil {
		s.fatalf("%s: %v", what, err)
	}
}

// waitFor polls a JavaScript condition until it holds.
func (s *session) waitFor(what, cond string) {
	s.t.Helper()
	if _, err := chromedp.Run(s.ctx, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingTimeout(45*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		s.fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

func eval[T any](s *session, what, expr string) T {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		s.fatalf("%s: %v", what, err)
	}
	return v
}

// JavaScript probes of the page's state. The page marks each list with
// data-state and a data-version that grows with every render, so a test
// can wait for the render that follows an action.
const (
	jsResultIDs = `[...document.querySelectorAll('#results li.card')].map(c => c.dataset.id)`
	jsRecIDs    = `[...document.querySelectorAll('#recs li.card')].map(c => c.dataset.id)`
	jsImagesOK  = `(sel => { const imgs = [...document.querySelectorAll(sel)];
		return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); })`
)

func (s *session) version(list string) int {
	s.t.Helper()
	v := eval[string](s, "version of "+list, fmt.Sprintf(`document.querySelector(%q).dataset.version || "0"`, list))
	var n int
	fmt.Sscan(v, &n)
	return n
}

func (s *session) waitRender(list string, after int) {
	s.t.Helper()
	s.waitFor(list+" to render again", fmt.Sprintf(
		`(l => l.dataset.state === 'ready' && Number(l.dataset.version || 0) > %d)(document.querySelector(%q))`, after, list))
}

func (s *session) search(q string) {
	s.t.Helper()
	v := s.version("#results")
	eval[chromedp.Void](s, "clear the search box", `document.querySelector('#q').value = ''`)
	s.do("search "+q, chromedp.SendKeys(chromedp.CSS("#q"), q+kb.Enter))
	s.waitRender("#results", v)
}

// TestStorefront drives the storefront and the admin page in headless
// Chromium over the demo catalog with the real models: suggestions,
// search with photos and facets, search by photo (upload and drop),
// shoppers whose recommendations follow their clicks, the "why?"
// explanation, and the admin page. Any console error fails it.
func TestStorefront(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed at %s (%v): run scripts/setup, which installs Debian's chromium package", chromiumPath, err)
	}
	e := newEnv(t)
	// Serve from the module root with the default media root, as `make
	// demo` does: the admin page then shows the real BENCHMARKS.md.
	t.Chdir(e.root)
	ts := e.serve(t, func(c *api.Config) {
		c.MediaRoot = ""
		c.ReportsDir = writeReports(t)
	})
	s := newSession(t)

	// The page opens on the demo shopper alice, whose history the page seeds.
	s.do("open the storefront", chromedp.Navigate(ts.URL+"/"))
	s.waitFor("alice's recommendations", `(l => l.dataset.state === 'ready' && l.dataset.user === 'alice')(document.querySelector('#recs'))`)
	if st := eval[string](s, "strategy", `document.querySelector('#recs').dataset.strategy`); st != "content" {
		s.fatalf("alice's recommendations use %q, want content (from her seeded history)", st)
	}
	s.waitFor("recommendation photos", jsImagesOK+`('#recs img.photo')`)
	s.shot("01-home")
	s.checkConsole("opening the page")

	// Suggestions as you type, in a listbox the arrow keys move through.
	s.do("type a partial query", chromedp.SendKeys(chromedp.CSS("#q"), "appl"))
	s.waitFor("suggestions", `!document.querySelector('#suggestions').hidden && document.querySelectorAll('#suggestions [role=option]').length > 0`)
	sugs := eval[[]string](s, "suggestions", `[...document.querySelectorAll('#suggestions [role=option]')].map(o => o.dataset.text)`)
	if !slices.ContainsFunc(sugs, func(x string) bool { return strings.Contains(strings.ToLower(x), "appl") }) {
		s.fatalf("suggestions for %q: %q", "appl", sugs)
	}
	if exp := eval[string](s, "aria-expanded", `document.querySelector('#q').getAttribute('aria-expanded')`); exp != "true" {
		s.fatalf("combobox aria-expanded = %q with suggestions shown", exp)
	}
	s.do("arrow down", chromedp.KeyEvent(kb.ArrowDown))
	active := eval[string](s, "active option", `(id => id && document.getElementById(id).getAttribute('aria-selected') === 'true' ? document.getElementById(id).dataset.text : '')(document.querySelector('#q').getAttribute('aria-activedescendant'))`)
	if active != sugs[0] {
		s.fatalf("after ArrowDown the active option is %q, want the first, %q", active, sugs[0])
	}
	s.shot("02-suggestions")
	s.do("escape", chromedp.KeyEvent(kb.Escape))
	s.waitFor("suggestions to close", `document.querySelector('#suggestions').hidden && document.querySelector('#q').getAttribute('aria-expanded') === 'false'`)
	t.Logf("suggestions for appl: %q", sugs)

	// Search: a grid of cards whose photos load.
	s.search("apple")
	ids := eval[[]string](s, "result ids", jsResultIDs)
	titles := eval[[]string](s, "result titles", `[...document.querySelectorAll('#results li.card .title')].map(t => t.textContent)`)
	if len(ids) == 0 || !strings.Contains(titles[0], "Apple") && !strings.Contains(titles[0], "Äpple") {
		s.fatalf("search apple: %q", titles)
	}
	s.waitFor("result photos", jsImagesOK+`('#results img.photo')`)
	if alts := eval[[]string](s, "alt texts", `[...document.querySelectorAll('#results img.photo')].map(i => i.alt)`); !slices.Equal(alts, titles) {
		s.fatalf("photo alt texts %q, want the titles %q", alts, titles)
	}
	s.shot("03-search")

	// Facets narrow the search.
	v := s.version("#results")
	s.do("filter by category", chromedp.Click(chromedp.CSS(`#facets input[name=category][value="Fruit"]`)))
	s.waitRender("#results", v)
	cats := eval[[]string](s, "categories", `[...document.querySelectorAll('#results li.card .cat')].map(c => c.textContent).filter(c => c.includes('›'))`)
	if len(cats) == 0 || slices.ContainsFunc(cats, func(c string) bool { return !strings.HasPrefix(c, "Fruit") }) {
		s.fatalf("with the Fruit filter the results are in %q", cats)
	}
	s.checkConsole("searching")

	// Search by photo: the upload of a catalog photo finds its product first.
	v = s.version("#results")
	s.do("upload a photo", chromedp.SetUploadFiles(chromedp.CSS("#photo"),
		[]string{filepath.Join(e.root, "demo", "grocery", "images", "Red-Grapefruit.jpg")}))
	s.waitRender("#results", v)
	if ids := eval[[]string](s, "photo results", jsResultIDs); len(ids) == 0 || ids[0] != "grocery-26-red-grapefruit" {
		s.fatalf("search by the red grapefruit photo: %q", ids)
	}
	s.waitFor("photo result photos", jsImagesOK+`('#results img.photo')`)
	s.shot("04-photo-search")

	// ... and so does a photo dropped on the page.
	v = s.version("#results")
	eval[chromedp.Void](s, "drop a photo", `fetch('/media/grocery-06-banana/0').then(r => r.blob()).then(b => {
		const dt = new DataTransfer();
		dt.items.add(new File([b], 'banana.jpg', {type: 'image/jpeg'}));
		document.querySelector('#dropzone').dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt}));
	})`)
	s.waitRender("#results", v)
	if ids := eval[[]string](s, "dropped photo results", jsResultIDs); len(ids) == 0 || ids[0] != "grocery-06-banana" {
		s.fatalf("search by a dropped banana photo: %q", ids)
	}
	s.checkConsole("searching by photo")

	// Another shopper: carol, whose seeded taste is vegetables.
	v = s.version("#recs")
	eval[chromedp.Void](s, "switch to carol", `(u => { u.value = 'carol'; u.dispatchEvent(new Event('change', {bubbles: true})); })(document.querySelector('#user'))`)
	s.waitRender("#recs", v)
	s.waitFor("carol's recommendations", `document.querySelector('#recs').dataset.user === 'carol' && document.querySelector('#recs').dataset.strategy === 'content'`)
	before := eval[[]string](s, "carol's recommendations", jsRecIDs)
	s.waitFor("carol's photos", jsImagesOK+`('#recs img.photo')`)
	s.shot("05-carol")

	// Her clicks on milk products (view and click events) move her
	// recommendations.
	s.search("milk")
	for i := 1; i <= 3; i++ {
		v := s.version("#recs")
		s.do(fmt.Sprintf("open milk result %d", i), chromedp.Click(chromedp.CSS(fmt.Sprintf("#results li.card:nth-child(%d) .open", i))))
		s.waitFor("the product view", `document.querySelector('#product-dialog').open && document.querySelector('#product-dialog').dataset.state === 'ready' && document.querySelectorAll('#pd-similar li.card').length > 0`)
		s.waitRender("#recs", v)
		if i == 1 {
			s.waitFor("similar product photos", jsImagesOK+`('#pd-similar img.photo')`)
			s.shot("06-product")
		}
		s.do("close the product view", chromedp.Click(chromedp.CSS("#pd-close")))
		s.waitFor("the product view to close", `!document.querySelector('#product-dialog').open`)
	}
	after := eval[[]string](s, "carol's new recommendations", jsRecIDs)
	if slices.Equal(before, after) {
		s.fatalf("carol's recommendations did not change after three clicks: %q", after)
	}
	t.Logf("carol's recommendations before the clicks: %q", before)
	t.Logf("and after: %q", after)
	s.shot("07-recs-changed")

	// "Why?" explains a recommendation: score parts and "because you ...".
	s.do("ask why", chromedp.Click(chromedp.CSS("#recs li.card:first-child button.why")))
	s.waitFor("the explanation", `document.querySelector('#why-dialog').open`)
	parts := eval[[]string](s, "score parts", `[...document.querySelectorAll('#why-body .parts li')].map(li => li.firstChild.textContent)`)
	if !slices.Contains(parts, "text") || !slices.Contains(parts, "image") {
		s.fatalf("score parts %q, want text and image", parts)
	}
	because := eval[string](s, "because", `document.querySelector('#why-body').textContent`)
	if !strings.Contains(because, "Because you") || eval[int](s, "because items", `document.querySelectorAll('#why-body .because li').length`) == 0 {
		s.fatalf("explanation without \"because you\" items: %q", because)
	}
	s.shot("08-why")
	s.do("close with Escape", chromedp.KeyEvent(kb.Escape))
	s.waitFor("the explanation to close and focus to return", `!document.querySelector('#why-dialog').open && document.activeElement.classList.contains('why')`)
	s.checkConsole("recommendations")

	// The admin page: catalog, vector spaces, reports and plots.
	s.do("open the admin page", chromedp.Navigate(ts.URL+"/admin"))
	s.waitFor("the overview and the reports", `document.querySelector('#stats').dataset.state === 'ready' && document.querySelector('#reports').dataset.state === 'ready'`)
	if n := eval[string](s, "products", `document.querySelector('#stat-products').textContent`); n != "81" {
		s.fatalf("admin shows %q products, want 81", n)
	}
	rows := eval[[]string](s, "spaces", `[...document.querySelectorAll('#spaces tbody tr')].map(r => r.textContent)`)
	if len(rows) != 1 || !strings.Contains(rows[0], "active") || !strings.Contains(rows[0], "81 / 81") || !strings.Contains(rows[0], "weighted_concat") {
		s.fatalf("vector spaces: %q", rows)
	}
	reports := eval[string](s, "reports", `document.querySelector('#reports').textContent`)
	for _, want := range []string{"bench-api.json", "suggest", "3.90 ms", "eval-search.json", "ndcg_at_10", "notes.md", "latency.png"} {
		if !strings.Contains(reports, want) {
			s.fatalf("reports lack %q:\n%s", want, reports)
		}
	}
	if b, err := os.ReadFile("BENCHMARKS.md"); err == nil {
		title, _, _ := strings.Cut(strings.TrimPrefix(string(b), "# "), "\n")
		if !strings.Contains(reports, title) || eval[int](s, "benchmark tables", `document.querySelectorAll('#reports details[data-name="BENCHMARKS.md"] table').length`) == 0 {
			s.fatalf("BENCHMARKS.md (%q) is not shown with its tables", title)
		}
	}
	s.waitFor("the plot", jsImagesOK+`('#reports .plots img')`)
	s.shot("09-admin")

	time.Sleep(300 * time.Millisecond) // let the last messages arrive
	s.checkConsole("the admin page")
	s.mu.Lock()
	for _, m := range s.console {
		t.Logf("console: %s", m)
	}
	s.mu.Unlock()
	raw, _ := json.Marshal(map[string]any{"before": before, "after": after})
	t.Logf("recommendations: %s", raw)
}
