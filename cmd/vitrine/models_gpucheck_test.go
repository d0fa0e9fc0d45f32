package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/internal/synth"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models/gpucheck"
)

// cudaStandIn makes a home whose lib-cuda/ holds what the test case needs
// in place of the CUDA build: the real CPU library linked in as
// libonnxruntime.so.1 (it loads, and its CUDA provider cannot work without
// the provider libraries), and provider libraries that are empty files, so
// ORT is asked and refuses whatever the machine has. The models are the
// ones scripts/setup installed.
func cudaStandIn(t *testing.T, core, providers bool) (home string, vars []string) {
	t.Helper()
	home = t.TempDir()
	dir := filepath.Join(home, "lib-cuda")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if core {
		linkOrCopy(t, filepath.Join(testenv.Home(t), "lib", "libonnxruntime.so.1"), filepath.Join(dir, "libonnxruntime.so.1"))
	}
	if providers {
		for _, name := range []string{"libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"} {
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The CPU library where fetch puts it, for the cases that fall back.
	if err := os.MkdirAll(filepath.Join(home, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	linkOrCopy(t, filepath.Join(testenv.Home(t), "lib", "libonnxruntime.so.1"), filepath.Join(home, "lib", "libonnxruntime.so.1"))
	return home, []string{"VITRINE_HOME=" + home, "VITRINE_MODELS_DIR=" + testenv.ModelDir(t)}
}

// linkOrCopy hard-links src to dst (not a symlink: the runtime resolves
// symlinks, and the tests check which directory the library was loaded
// from), copying when the two are on different file systems.
func linkOrCopy(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.Link(src, dst); err == nil {
		return
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("%v (run scripts/setup)", err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestModelsGPUCheckWithoutCUDA runs `vitrine models gpu-check` where CUDA
// cannot work: it must stop before measuring anything, exit 3 and name what
// is missing and scripts/setup --gpu.
func TestModelsGPUCheckWithoutCUDA(t *testing.T) {
	base := newEnv(t)
	noDriver := false
	if _, err := os.Stat("/proc/driver/nvidia/version"); err != nil {
		noDriver = true
	}
	tests := []struct {
		name            string
		core, providers bool
		want            func(home string) []string
		// askedORT: ORT itself was asked and refused (its reply is quoted).
		askedORT bool
	}{
		{
			name: "no CUDA build installed",
			want: func(home string) []string {
				return []string{
					"the CUDA build of ONNX Runtime " + filepath.Join(home, "lib-cuda", "libonnxruntime.so.1"),
					"ONNX Runtime provider library " + filepath.Join(home, "lib-cuda", "libonnxruntime_providers_cuda.so"),
					"ONNX Runtime provider library " + filepath.Join(home, "lib-cuda", "libonnxruntime_providers_shared.so"),
				}
			},
		},
		{
			name: "CUDA build without its provider libraries",
			core: true,
			want: func(home string) []string {
				return []string{
					"ONNX Runtime provider library " + filepath.Join(home, "lib-cuda", "libonnxruntime_providers_cuda.so"),
					"ONNX Runtime provider library " + filepath.Join(home, "lib-cuda", "libonnxruntime_providers_shared.so"),
				}
			},
		},
		{
			name: "provider libraries ORT cannot load",
			core: true, providers: true, askedORT: true,
			want: func(string) []string { return []string{"onnxruntime said:"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home, vars := cudaStandIn(t, tt.core, tt.providers)
			e := &env{t: t, url: base.url, vars: append(slices.Clone(base.vars), vars...)}
			code, out := e.run("models", "gpu-check")
			if code != gpuCheckUnavailable {
				t.Fatalf("exit %d, want %d\n%s", code, gpuCheckUnavailable, out)
			}
			want := append(tt.want(home), "cuda execution provider unavailable", "scripts/setup --gpu")
			if noDriver {
				want = append(want, "NVIDIA GPU driver (/proc/driver/nvidia/version)")
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q\n%s", w, out)
				}
			}
			if got := strings.Contains(out, "onnxruntime said:"); got != tt.askedORT {
				t.Errorf("ORT asked = %v, want %v\n%s", got, tt.askedORT, out)
			}
			// Failing fast: no model was measured.
			if strings.Contains(out, "COS MIN") || strings.Contains(out, "onnx session open") {
				t.Errorf("gpu-check measured models without CUDA:\n%s", out)
			}
		})
	}
}

// TestProviderAutoFallsBack runs the service's own code paths with
// ort.provider auto on a machine where CUDA does not work: they must fall
// back to the CPU provider and encode, with or without a CUDA build in
// lib-cuda (which ORTLibrary prefers for auto).
func TestProviderAutoFallsBack(t *testing.T) {
	base := newEnv(t)
	tests := []struct {
		name    string
		cuda    bool
		wantLib string // directory the library must be loaded from
	}{
		{name: "CPU build only", wantLib: "lib"},
		{name: "CUDA build in lib-cuda", cuda: true, wantLib: "lib-cuda"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home, vars := cudaStandIn(t, tt.cuda, tt.cuda)
			e := newEnv(t) // a database of its own for the ingest below
			e.vars = append(slices.Clone(base.vars), vars...)
			e.vars = append(e.vars, "VITRINE_DATABASE_URL="+e.url, "VITRINE_ORT_PROVIDER=auto", "VITRINE_LOG_LEVEL=debug")

			code, out := e.run("models", "verify")
			if code != 0 {
				t.Fatalf("models verify: exit %d\n%s", code, out)
			}
			rows := verifyRows(out)
			for _, key := range []string{"glove-100d@1", "mobilenetv2-int8-centre-flip@1", "speech-embedding@1"} {
				if rows[key] != "OK" {
					t.Errorf("%s: %q, want OK\n%s", key, rows[key], out)
				}
			}
			lib := filepath.Join(home, tt.wantLib, "libonnxruntime.so.1")
			for _, want := range []string{"library=" + lib, "falling back to CPU", "provider=cpu"} {
				if !strings.Contains(out, want) {
					t.Errorf("verify output lacks %q\n%s", want, out)
				}
			}
			if strings.Contains(out, "provider=cuda") {
				t.Errorf("a session claims CUDA:\n%s", out)
			}

			// The whole ingestion path on the fallen-back runtime.
			path := writeCatalog(t, synth.Options{N: 3, Seed: 3, Images: groceryImages(t), ImageEvery: 1})
			code, out = e.run("ingest", path)
			if code != 0 {
				t.Fatalf("ingest: exit %d\n%s", code, out)
			}
			if !strings.Contains(out, "falling back to CPU") {
				t.Errorf("ingest output lacks the fallback warning\n%s", out)
			}
			if got := count(t, e.db, `SELECT count(DISTINCT product_id) FROM product_vectors`); got != 3 {
				t.Errorf("%d products with vectors, want 3\n%s", got, out)
			}
			if got := count(t, e.db, `SELECT count(*) FROM embeddings WHERE modality = 'image'`); got != 3 {
				t.Errorf("%d image embeddings, want 3", got)
			}
		})
	}
}

// TestGPUCheckFlags rejects settings that would make the check meaningless
// before anything is loaded.
func TestGPUCheckFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no items", []string{"--items", "0"}, "--items 0"},
		{"cosine above one", []string{"--min-cosine", "1.5"}, "--min-cosine 1.5"},
		{"cosine zero", []string{"--min-cosine", "0"}, "--min-cosine 0"},
		{"arguments", []string{"glove-100d"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testModelsApp(t)
			cmd := newModelsGPUCheckCmd(a)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			cmd.SetArgs(tt.args)
			err := cmd.ExecuteContext(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// fakeRuntimes writes a manifests directory whose runtime/ holds a CPU and
// a CUDA runtime manifest with small local files standing in for the
// libraries, so fetch --gpu is tested offline. It returns the directory and
// each library's content by install path relative to the home.
func fakeRuntimes(t *testing.T, withGPU bool) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	files := filepath.Join(dir, "runtime", "files")
	if err := os.MkdirAll(files, 0o755); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	entry := func(indent, src, content, installAs string) string {
		if err := os.WriteFile(filepath.Join(files, src), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		want[installAs] = content
		sum := sha256.Sum256([]byte(content))
		h := hex.EncodeToString(sum[:])
		return fmt.Sprintf("%sname: %s\n%ssha256: %s\n%ssource:\n%s  local: files/%s\n%s  sha256: %s\n",
			indent, filepath.Base(installAs), indent, h, indent, indent, src, indent, h)
	}
	platform := goruntime.GOOS + "/" + goruntime.GOARCH
	cpu := "name: fake-cpu\nversion: \"1\"\nplatform: " + platform + "\nfile:\n" +
		entry("  ", "cpu.so", "cpu build", filepath.Join("lib", "libonnxruntime.so.1"))
	if err := os.WriteFile(filepath.Join(dir, "runtime", "cpu.yaml"), []byte(cpu), 0o644); err != nil {
		t.Fatal(err)
	}
	if withGPU {
		gpu := "name: fake-cuda\nversion: \"1\"\nplatform: " + platform + "\ngpu: true\nfile:\n" +
			entry("  ", "core.so", "cuda build", filepath.Join("lib-cuda", "libonnxruntime.so.1")) +
			"providers:\n" +
			strings.Replace(entry("    ", "shared.so", "shared provider", filepath.Join("lib-cuda", "libonnxruntime_providers_shared.so")), "    name:", "  - name:", 1) +
			strings.Replace(entry("    ", "cuda.so", "cuda provider", filepath.Join("lib-cuda", "libonnxruntime_providers_cuda.so")), "    name:", "  - name:", 1)
		if err := os.WriteFile(filepath.Join(dir, "runtime", "cuda.yaml"), []byte(gpu), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, want
}

// checkInstalled reads back the libraries under home: those under only
// (every one when only is "") must hold their content, the others must be
// absent.
func checkInstalled(t *testing.T, home string, want map[string]string, only string) {
	t.Helper()
	for rel, content := range want {
		b, err := os.ReadFile(filepath.Join(home, rel))
		shouldBe := strings.HasPrefix(rel, only+string(filepath.Separator)) || only == ""
		switch {
		case shouldBe && err != nil:
			t.Errorf("%s not installed: %v", rel, err)
		case shouldBe && string(b) != content:
			t.Errorf("%s holds %q, want %q", rel, b, content)
		case !shouldBe && err == nil:
			t.Errorf("%s installed, want it left alone", rel)
		}
	}
}

// TestModelsFetchGPU: the CUDA build goes to lib-cuda/ with its providers
// only under --gpu, the CPU build always to lib/ whatever ort.provider says
// (ORTLibrary prefers lib-cuda for auto, and fetch must not follow it), and
// list reports each.
func TestModelsFetchGPU(t *testing.T) {
	manifests, want := fakeRuntimes(t, true)
	a := testModelsApp(t)
	a.cfg.Models.Manifests = manifests
	home := a.cfg.Home

	out, err := runModels(t, a, "fetch", "--runtime-only")
	if err != nil {
		t.Fatalf("fetch: %v\n%s", err, out)
	}
	checkInstalled(t, home, want, "lib")
	if strings.Contains(out, "fake-cuda") {
		t.Errorf("fetch without --gpu touched the CUDA build:\n%s", out)
	}
	out, _ = runModels(t, a, "list")
	if !regexp.MustCompile(`fake-cpu\s.*yes`).MatchString(out) || !regexp.MustCompile(`fake-cuda\s.*no`).MatchString(out) {
		t.Errorf("list after the CPU fetch:\n%s", out)
	}

	out, err = runModels(t, a, "fetch", "--runtime-only", "--gpu")
	if err != nil {
		t.Fatalf("fetch --gpu: %v\n%s", err, out)
	}
	checkInstalled(t, home, want, "")
	for _, w := range []string{
		"present  fake-cpu@1/libonnxruntime.so.1",
		"fetched  fake-cuda@1/libonnxruntime.so.1 -> " + filepath.Join(home, "lib-cuda", "libonnxruntime.so.1"),
		"fetched  fake-cuda@1/libonnxruntime_providers_shared.so",
		"fetched  fake-cuda@1/libonnxruntime_providers_cuda.so",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("fetch --gpu output lacks %q\n%s", w, out)
		}
	}
	out, _ = runModels(t, a, "list")
	if !regexp.MustCompile(`fake-cuda\s.*yes`).MatchString(out) {
		t.Errorf("list after fetch --gpu:\n%s", out)
	}

	// With the CUDA build installed, auto loads it, and a plain fetch still
	// keeps the CPU build in lib/.
	a.cfg.ORT.Provider = "auto"
	if got := a.cfg.ORTLibrary(); got != filepath.Join(home, "lib-cuda", "libonnxruntime.so.1") {
		t.Errorf("ORTLibrary for auto = %s, want the CUDA build", got)
	}
	out, err = runModels(t, a, "fetch", "--runtime-only")
	if err != nil || !strings.Contains(out, "present  fake-cpu@1/libonnxruntime.so.1 -> "+filepath.Join(home, "lib", "libonnxruntime.so.1")) {
		t.Errorf("fetch with provider auto: %v\n%s", err, out)
	}
	checkInstalled(t, home, want, "")

	// A provider library lost from lib-cuda makes the runtime unfetched.
	if err := os.Remove(filepath.Join(home, "lib-cuda", "libonnxruntime_providers_cuda.so")); err != nil {
		t.Fatal(err)
	}
	out, _ = runModels(t, a, "list")
	if !regexp.MustCompile(`fake-cuda\s.*no`).MatchString(out) {
		t.Errorf("list with a provider library missing:\n%s", out)
	}
}

func TestModelsFetchGPUErrors(t *testing.T) {
	cpuOnly, _ := fakeRuntimes(t, false)
	tests := []struct {
		name      string
		manifests string // "" keeps the repository's models/
		args      []string
		want      string
	}{
		{"names with --gpu", "", []string{"fetch", "--gpu", "glove-100d"}, "--gpu fetches the CUDA runtime and takes no model names"},
		{"no CUDA manifest", cpuOnly, []string{"fetch", "--runtime-only", "--gpu"}, "no CUDA runtime manifest (gpu: true)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testModelsApp(t)
			if tt.manifests != "" {
				a.cfg.Models.Manifests = tt.manifests
			}
			out, err := runModels(t, a, tt.args...)
			if err == nil || !strings.Contains(err.Error()+out, tt.want) {
				t.Errorf("want error with %q, got %v\n%s", tt.want, err, out)
			}
		})
	}
}

// TestGPUCheckUnavailableError: callers can match the no-CUDA outcome with
// errors.Is, and main finds its exit status.
func TestGPUCheckUnavailableError(t *testing.T) {
	a := testModelsApp(t) // a fresh home: no CUDA build
	var out strings.Builder
	err := runGPUCheck(t.Context(), a, gpucheck.Options{Items: 1, MinCosine: 0.999}, &out)
	if !errors.Is(err, onnx.ErrProviderUnavailable) {
		t.Fatalf("err %v, want ErrProviderUnavailable", err)
	}
	var ee exitError
	if !errors.As(err, &ee) || ee.code != gpuCheckUnavailable || ee.msg != err.Error() {
		t.Errorf("exit error %+v from %v, want code %d with the whole message", ee, err, gpuCheckUnavailable)
	}
	if !strings.Contains(err.Error(), a.cfg.ORTCUDALibrary()) {
		t.Errorf("message does not name %s: %v", a.cfg.ORTCUDALibrary(), err)
	}
	if out.Len() != 0 {
		t.Errorf("printed a report without CUDA:\n%s", out.String())
	}
}
