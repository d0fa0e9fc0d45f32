// Package onnx runs ONNX models through ONNX Runtime (ORT) for Vitrine's
// extractors: a process-wide Runtime, Sessions that check inputs against the
// model before they reach C, and a generic dynamic Batcher that coalesces
// concurrent single-item requests into one model call.
//
// Typical wiring from configuration:
//
//	rt, err := onnx.NewRuntime(ctx,
//		onnx.WithLibraryPath(cfg.ORTLibrary()),
//		onnx.WithProvider(onnx.Provider(cfg.ORT.Provider)),
//		onnx.WithIntraOpThreads(cfg.ORT.IntraOpThreads),
//		onnx.WithInterOpThreads(cfg.ORT.InterOpThreads),
//		onnx.WithLogger(logger))
//	defer rt.Close()
//	s, err := rt.OpenSession(ctx, modelPath)
//	b, err := onnx.NewBatcher(s.BatchFunc(),
//		onnx.WithMaxBatch(cfg.ORT.MaxBatch),
//		onnx.WithMaxWait(cfg.ORT.MaxWait),
//		onnx.WithQueueSize(cfg.ORT.QueueSize))
//	out, err := b.Submit(ctx, []onnx.Tensor{image}) // image: [1,3,224,224]
package onnx

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Provider selects where sessions execute.
type Provider string

// Providers, matching config's ort.provider values.
const (
	// ProviderCPU runs on the CPU execution provider only.
	ProviderCPU Provider = "cpu"
	// ProviderCUDA requires the CUDA execution provider; opening a session
	// fails with ErrProviderUnavailable when it cannot load.
	ProviderCUDA Provider = "cuda"
	// ProviderAuto tries CUDA and falls back to CPU with a logged warning.
	ProviderAuto Provider = "auto"
)

// Option configures NewRuntime.
type Option func(*runtimeOptions) error

type runtimeOptions struct {
	library  string
	provider Provider
	intra    int
	inter    int
	spin     bool // intra-op threads busy-wait for work (ORT's default)
	logger   *slog.Logger
}

// WithLibraryPath sets the ONNX Runtime shared library to load (required;
// config's cfg.ORTLibrary()).
func WithLibraryPath(path string) Option {
	return func(o *runtimeOptions) error {
		if path == "" {
			return fmt.Errorf("library path is empty")
		}
		o.library = path
		return nil
	}
}

// WithProvider selects cpu (the default), cuda or auto.
func WithProvider(p Provider) Option {
	return func(o *runtimeOptions) error {
		switch p {
		case ProviderCPU, ProviderCUDA, ProviderAuto:
			o.provider = p
			return nil
		}
		return fmt.Errorf("provider %q, want cpu, cuda or auto", p)
	}
}

// WithIntraOpThreads sets the threads ORT uses inside one operator; 0 (the
// default) lets ORT use every core.
func WithIntraOpThreads(n int) Option {
	return func(o *runtimeOptions) error {
		if n < 0 {
			return fmt.Errorf("intra-op threads %d, want >= 0", n)
		}
		o.intra = n
		return nil
	}
}

// WithInterOpThreads sets the threads ORT uses to run independent operators
// in parallel; 0 or 1 keep ORT's sequential execution, which is faster for
// chain-shaped encoders like ours.
func WithInterOpThreads(n int) Option {
	return func(o *runtimeOptions) error {
		if n < 0 {
			return fmt.Errorf("inter-op threads %d, want >= 0", n)
		}
		o.inter = n
		return nil
	}
}

// WithIntraOpSpinning sets whether ORT's intra-op threads busy-wait for
// more work after finishing theirs (ORT's own default) or sleep at once
// (this package's default). Spinning shaves the wake-up off each operator
// when the model has the cores to itself, but on a small machine the same
// cores also decode uploads, tokenise and serve the database, and spinning
// threads take their time from that work. Measured on the development
// machine's 2 cores (BenchmarkThreads in package extractors, 64 shop
// photos through MobileNetV2 int8, 2 ORT threads): with other processes
// loading the machine, 20 items/s spinning against 38 not (medians of 3);
// on a quiet machine no difference beyond the noise (278-313 against
// 253-347).
func WithIntraOpSpinning(on bool) Option {
	return func(o *runtimeOptions) error {
		o.spin = on
		return nil
	}
}

// WithLogger sets the logger; the default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *runtimeOptions) error {
		if l == nil {
			return fmt.Errorf("logger is nil")
		}
		o.logger = l
		return nil
	}
}

// environment is ORT's process-wide state (the OrtEnv and the dlopen'ed
// library). The Go binding keeps it in package variables, InitializeEnvironment
// fails if called twice, and DestroyEnvironment unloads the library under
// every live session. That state is global whether we like it or not, so the
// guard around it must be global too: this is the one package-level variable
// in the package. Everything else hangs off a Runtime value.
type environment struct {
	mu   sync.Mutex
	refs int
	// library is the resolved path ORT was loaded from; "" when adopted.
	library string
	// owned is false when code outside this package initialised ORT first:
	// we use that environment but never destroy it.
	owned bool
}

var processEnv environment

// acquire loads ORT on first use and counts a user. shared reports whether
// the environment already existed.
func (e *environment) acquire(library string) (shared bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.refs > 0 {
		if e.library != "" && e.library != library {
			return false, &LibraryError{Path: library, Loaded: e.library, Kind: ErrLibraryMismatch}
		}
		e.refs++
		return true, nil
	}
	if ort.IsInitialized() {
		// Someone else (another library using the same binding) owns it.
		e.refs, e.library, e.owned = 1, "", false
		return true, nil
	}
	ort.SetSharedLibraryPath(library)
	if err := ort.InitializeEnvironment(ort.WithLogLevelWarning()); err != nil {
		return false, &LibraryError{Path: library, Kind: ErrLibraryLoad, Err: err}
	}
	e.refs, e.library, e.owned = 1, library, true
	return false, nil
}

// release drops a user and destroys the environment with the last one.
func (e *environment) release() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.refs == 0 {
		return nil
	}
	e.refs--
	if e.refs > 0 || !e.owned {
		return nil
	}
	e.library = ""
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("onnx: destroy environment: %w", err)
	}
	return nil
}

// Runtime is one user of the process's ONNX Runtime environment, with the
// provider and thread settings its sessions get. Several Runtimes may exist
// (say, one per extractor); they share the environment, which lives until
// the last one closes. A Runtime is safe for concurrent use.
type Runtime struct {
	opts runtimeOptions
	log  *slog.Logger

	// life is held shared while sessions are being created and exclusively
	// by Close, so the environment is never destroyed under a session load.
	life   sync.RWMutex
	closed bool

	mu       sync.Mutex
	sessions map[*Session]struct{}
	// cudaErr remembers, for ProviderAuto, that CUDA failed, so later
	// sessions go straight to CPU and the warning is logged once.
	cudaErr error
}

// NewRuntime loads ONNX Runtime (or joins the already loaded environment).
// A missing library yields a *LibraryError wrapping ErrLibraryNotFound.
func NewRuntime(ctx context.Context, opts ...Option) (*Runtime, error) {
	o := runtimeOptions{provider: ProviderCPU}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("onnx: runtime: %w: %w", ErrInvalidOption, err)
		}
	}
	if o.library == "" {
		return nil, fmt.Errorf("onnx: runtime: %w: no library path (WithLibraryPath; config's ORTLibrary)", ErrInvalidOption)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lib, err := resolveLibrary(o.library)
	if err != nil {
		return nil, err
	}
	o.library = lib
	shared, err := processEnv.acquire(lib)
	if err != nil {
		return nil, err
	}
	r := &Runtime{opts: o, log: o.logger, sessions: make(map[*Session]struct{})}
	r.log.DebugContext(ctx, "onnx runtime ready", "library", lib, "version", ort.GetVersion(),
		"provider", o.provider, "shared_environment", shared)
	return r, nil
}

// resolveLibrary checks the file is there before ORT's dlopen, whose error
// would not say how to fix it, and resolves symlinks so two spellings of the
// same file are recognised as one library.
func resolveLibrary(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", &LibraryError{Path: path, Kind: ErrLibraryNotFound, Err: err}
	}
	st, err := os.Stat(abs)
	if err != nil {
		kind := ErrLibraryLoad
		if errors.Is(err, fs.ErrNotExist) {
			kind = ErrLibraryNotFound
		}
		return "", &LibraryError{Path: abs, Kind: kind, Err: err}
	}
	if st.IsDir() {
		return "", &LibraryError{Path: abs, Kind: ErrLibraryNotFound, Err: fmt.Errorf("is a directory, want the libonnxruntime.so file")}
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", &LibraryError{Path: abs, Kind: ErrLibraryLoad, Err: err}
	}
	return real, nil
}

// Provider is the provider this Runtime was configured with (auto stays
// auto; ask Session.Provider what a session actually got).
func (r *Runtime) Provider() Provider { return r.opts.provider }

// Library is the resolved path of the ONNX Runtime library.
func (r *Runtime) Library() string { return r.opts.library }

// Version is the ONNX Runtime version string, e.g. "1.24.1".
func (r *Runtime) Version() string { return ort.GetVersion() }

// Close closes this Runtime's open sessions (waiting for their running
// calls), then releases the environment, destroying it if this was the last
// Runtime. Close is idempotent.
func (r *Runtime) Close() error {
	r.life.Lock()
	defer r.life.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.mu.Lock()
	open := make([]*Session, 0, len(r.sessions))
	for s := range r.sessions {
		open = append(open, s)
	}
	r.mu.Unlock()
	var errs []error
	for _, s := range open {
		errs = append(errs, s.Close())
	}
	errs = append(errs, processEnv.release())
	return errors.Join(errs...)
}

func (r *Runtime) forget(s *Session) {
	r.mu.Lock()
	delete(r.sessions, s)
	r.mu.Unlock()
}

// sessionOptions builds ORT options with this Runtime's threads. The caller
// destroys them.
func (r *Runtime) sessionOptions() (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("onnx: session options: %w", err)
	}
	set := func() error {
		if r.opts.intra > 0 {
			if err := so.SetIntraOpNumThreads(r.opts.intra); err != nil {
				return err
			}
		}
		if r.opts.inter > 0 {
			if err := so.SetInterOpNumThreads(r.opts.inter); err != nil {
				return err
			}
		}
		if !r.opts.spin {
			if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
				return err
			}
		}
		if r.opts.inter > 1 {
			// Inter-op threads only do anything in parallel mode.
			return so.SetExecutionMode(ort.ExecutionModeParallel)
		}
		return nil
	}
	if err := set(); err != nil {
		so.Destroy()
		return nil, fmt.Errorf("onnx: session options: %w", err)
	}
	return so, nil
}

// createSession opens the ORT session on the configured provider and says
// which provider it got.
func (r *Runtime) createSession(ctx context.Context, path string, in, out []string) (*ort.DynamicAdvancedSession, Provider, error) {
	switch r.opts.provider {
	case ProviderCUDA:
		s, err := r.newORTSession(path, in, out, true)
		return s, ProviderCUDA, err
	case ProviderAuto:
		r.mu.Lock()
		cudaErr := r.cudaErr
		r.mu.Unlock()
		if cudaErr == nil {
			s, err := r.newORTSession(path, in, out, true)
			if err == nil {
				return s, ProviderCUDA, nil
			}
			var pe *ProviderError
			if !errors.As(err, &pe) {
				return nil, "", err
			}
			r.mu.Lock()
			r.cudaErr = err
			r.mu.Unlock()
			r.log.WarnContext(ctx, "onnx: CUDA unavailable, falling back to CPU", "provider", ProviderAuto,
				"missing", strings.Join(pe.Missing, ", "), "err", err)
		}
	}
	s, err := r.newORTSession(path, in, out, false)
	return s, ProviderCPU, err
}

func (r *Runtime) newORTSession(path string, in, out []string, cuda bool) (*ort.DynamicAdvancedSession, error) {
	so, err := r.sessionOptions()
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	if cuda {
		if err := appendCUDA(so); err != nil {
			return nil, r.providerError(err)
		}
	}
	s, err := ort.NewDynamicAdvancedSession(path, in, out, so)
	if err != nil {
		// With the provider library present but no usable GPU, ORT fails
		// here rather than when the provider is appended.
		if cuda && strings.Contains(strings.ToLower(err.Error()), "cuda") {
			return nil, r.providerError(err)
		}
		return nil, fmt.Errorf("onnx: load %s: %w", path, err)
	}
	return s, nil
}

func appendCUDA(so *ort.SessionOptions) error {
	co, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer co.Destroy()
	return so.AppendExecutionProviderCUDA(co)
}

// providerError explains a CUDA failure. ORT's own message is often just
// "Failed to load shared library" (the detail goes to its stderr log), so we
// look for the usual missing pieces ourselves.
func (r *Runtime) providerError(cause error) error {
	return &ProviderError{Provider: ProviderCUDA, Missing: missingCUDAPieces(r.opts.library), Err: cause}
}

// missingCUDAPieces lists what the CUDA provider needs and this machine
// lacks: ORT's provider libraries beside libonnxruntime, the CUDA runtime,
// and an NVIDIA driver.
func missingCUDAPieces(library string) []string {
	var missing []string
	dir := filepath.Dir(library)
	for _, name := range []string{"libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, "ONNX Runtime provider library "+p)
		}
	}
	dirs := []string{dir, "/usr/local/cuda/lib64", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"}
	dirs = append(filepath.SplitList(os.Getenv("LD_LIBRARY_PATH")), dirs...)
	found := false
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if m, _ := filepath.Glob(filepath.Join(d, "libcudart.so*")); len(m) > 0 {
			found = true
			break
		}
	}
	if !found {
		missing = append(missing, "CUDA runtime libcudart.so (searched LD_LIBRARY_PATH, "+dir+", /usr/local/cuda/lib64 and the system library dirs)")
	}
	if _, err := os.Stat("/proc/driver/nvidia/version"); err != nil {
		missing = append(missing, "NVIDIA GPU driver (/proc/driver/nvidia/version)")
	}
	return missing
}
