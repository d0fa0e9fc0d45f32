package models

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Runtime describes a native library Vitrine loads (the ONNX Runtime shared
// library) and where it comes from. It is deliberately not a Manifest: it
// lives in its own directory (models/runtime/) so Load of the model
// manifests never sees it, and it is installed at one configured path
// (config.ORTLibrary) rather than under the model directory.
type Runtime struct {
	Name        string `yaml:"name"`
	Version     string `yaml:"version"`
	Description string `yaml:"description,omitempty"`
	License     string `yaml:"license,omitempty"`
	// Platform is GOOS/GOARCH, e.g. linux/amd64: a shared library only loads
	// on the platform it was built for.
	Platform string `yaml:"platform"`
	File     File   `yaml:"file"`
	// GPU marks the CUDA build: only `vitrine models fetch --gpu` installs
	// it, into its own directory (config's ORTCUDALibrary), so a CPU and a
	// GPU build of ONNX Runtime never share a directory.
	GPU bool `yaml:"gpu,omitempty"`
	// Providers are execution provider libraries ONNX Runtime dlopens from
	// the directory File is loaded from, so they are installed beside it.
	Providers []File `yaml:"providers,omitempty"`

	// Dir is filled in by LoadRuntime: the manifest file's directory.
	Dir string `yaml:"-"`
}

// Key is name@version, as for model manifests.
func (r Runtime) Key() string { return r.Name + "@" + r.Version }

// ForThisPlatform reports whether the library loads on this process's OS and
// architecture.
func (r Runtime) ForThisPlatform() bool {
	return r.Platform == runtime.GOOS+"/"+runtime.GOARCH
}

// Validate reports every problem at once, naming the field.
func (r Runtime) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w %s: %s: %s", ErrManifest, r.Name, field, fmt.Sprintf(format, args...)))
	}
	if r.Name == "" {
		bad("name", "missing")
	}
	if r.Version == "" {
		bad("version", "missing")
	}
	if os, arch, ok := strings.Cut(r.Platform, "/"); !ok || os == "" || arch == "" {
		bad("platform", "%q is not GOOS/GOARCH", r.Platform)
	}
	if r.File.Name == "" || strings.Contains(r.File.Name, "/") {
		bad("file.name", "%q must be a plain file name", r.File.Name)
	}
	if r.File.Transform != nil {
		bad("file.transform", "a runtime library is installed as published")
	}
	for _, e := range r.File.validate() {
		bad("file."+e.field, "%s", e.msg)
	}
	seen := map[string]bool{r.File.Name: true}
	for i, p := range r.Providers {
		field := fmt.Sprintf("providers[%d]", i)
		if p.Name == "" || strings.Contains(p.Name, "/") {
			bad(field+".name", "%q must be a plain file name", p.Name)
		} else if seen[p.Name] {
			bad(field+".name", "%q is installed twice", p.Name)
		}
		seen[p.Name] = true
		if p.Transform != nil {
			bad(field+".transform", "a runtime library is installed as published")
		}
		for _, e := range p.validate() {
			bad(field+"."+e.field, "%s", e.msg)
		}
	}
	return errors.Join(errs...)
}

// Libraries lists every file to install in the runtime's directory: the
// library itself first, then its provider libraries.
func (r Runtime) Libraries() []File {
	return append([]File{r.File}, r.Providers...)
}

// LoadRuntime reads and validates one runtime manifest.
func LoadRuntime(path string) (Runtime, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Runtime{}, fmt.Errorf("read runtime manifest: %w", err)
	}
	var r Runtime
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return Runtime{}, fmt.Errorf("%w %s: %w", ErrManifest, path, err)
	}
	r.Dir = filepath.Dir(path)
	if err := r.Validate(); err != nil {
		return Runtime{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// LoadRuntimes reads every *.yaml runtime manifest directly in dir.
func LoadRuntimes(dir string) ([]Runtime, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list runtime manifests in %s: %w", dir, err)
	}
	var out []Runtime
	var errs []error
	for _, p := range paths {
		r, err := LoadRuntime(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}
