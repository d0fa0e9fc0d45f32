package onnx

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Check them with errors.Is; the typed errors below carry
// the details and can be taken apart with errors.As.
var (
	// ErrLibraryNotFound: the ONNX Runtime shared library is not at the
	// configured path. Returned inside a *LibraryError.
	ErrLibraryNotFound = errors.New("onnx runtime library not found")
	// ErrLibraryLoad: the file exists but could not be loaded as ONNX Runtime
	// (wrong architecture, truncated download, incompatible version).
	// Returned inside a *LibraryError.
	ErrLibraryLoad = errors.New("onnx runtime library failed to load")
	// ErrLibraryMismatch: this process already loaded ONNX Runtime from a
	// different file. ORT can be loaded only once per process, so a second
	// Runtime must name the same library. Returned inside a *LibraryError.
	ErrLibraryMismatch = errors.New("onnx runtime already loaded from another library")
	// ErrProviderUnavailable: the requested execution provider cannot be
	// used here. Returned inside a *ProviderError.
	ErrProviderUnavailable = errors.New("execution provider unavailable")
	// ErrInvalidOption: an option given to a constructor is out of range.
	ErrInvalidOption = errors.New("invalid option")
	// ErrInvalidInput: Run was given tensors that do not match the model's
	// declared inputs. Returned inside an *InputError where one tensor is at
	// fault.
	ErrInvalidInput = errors.New("invalid input")
	// ErrUnknownTensor: a requested input or output name is not in the model.
	ErrUnknownTensor = errors.New("unknown tensor name")
	// ErrUnsupportedType: the model uses an element type this package does
	// not convert (only float32 and int64 tensors cross the boundary).
	ErrUnsupportedType = errors.New("unsupported element type")
	// ErrClosed: the Runtime, Session or Batcher has been closed.
	ErrClosed = errors.New("closed")
	// ErrOverloaded: the Batcher's queue is full; the caller should shed load
	// (HTTP 503 with Retry-After) rather than wait.
	ErrOverloaded = errors.New("overloaded")
	// ErrBatchFunc: the batch function broke its contract (wrong number of
	// results, or it panicked).
	ErrBatchFunc = errors.New("batch function failed")
)

// setupHint tells an operator how the library gets where Vitrine looks for
// it (%s: "put it there" or "reinstall it").
const setupHint = "run scripts/setup (or `vitrine models fetch`) to %s, or set ort.library (VITRINE_ORT_LIBRARY) to where it is"

// gpuSetupHint tells an operator how to get the CUDA build of ONNX Runtime.
const gpuSetupHint = "scripts/setup --gpu installs the CUDA build of ONNX Runtime with its provider libraries; or set ort.provider (VITRINE_ORT_PROVIDER) to auto to fall back to cpu"

// LibraryError reports a problem with the ONNX Runtime shared library.
type LibraryError struct {
	// Path is the library the caller asked for.
	Path string
	// Loaded is the library this process already runs, for ErrLibraryMismatch.
	Loaded string
	// Kind is ErrLibraryNotFound, ErrLibraryLoad or ErrLibraryMismatch.
	Kind error
	// Err is the underlying cause, if any.
	Err error
}

func (e *LibraryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "onnx: %v: %s", e.Kind, e.Path)
	switch {
	case errors.Is(e.Kind, ErrLibraryMismatch):
		fmt.Fprintf(&b, " (this process already loaded %s; ONNX Runtime can be loaded once per process, so every Runtime must name the same file)", e.Loaded)
	case errors.Is(e.Kind, ErrLibraryLoad):
		b.WriteString("; " + fmt.Sprintf(setupHint, "reinstall it"))
	default:
		b.WriteString("; " + fmt.Sprintf(setupHint, "put it there"))
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap exposes both the kind and the cause to errors.Is/As.
func (e *LibraryError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// ProviderError reports that an execution provider cannot be used.
type ProviderError struct {
	Provider Provider
	// Missing names what was looked for and not found, most likely cause
	// first (provider libraries, CUDA runtime, GPU driver). It may be empty
	// when everything is present and ORT still refused, e.g. a driver too old
	// for the CUDA runtime.
	Missing []string
	// Err is what ONNX Runtime said.
	Err error
}

func (e *ProviderError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "onnx: %s %v", e.Provider, ErrProviderUnavailable)
	if len(e.Missing) > 0 {
		fmt.Fprintf(&b, ": not found: %s", strings.Join(e.Missing, ", "))
	}
	b.WriteString("; " + gpuSetupHint)
	if e.Err != nil {
		fmt.Fprintf(&b, ": onnxruntime said: %v", e.Err)
	}
	return b.String()
}

// Unwrap exposes ErrProviderUnavailable and the cause to errors.Is/As.
func (e *ProviderError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrProviderUnavailable}
	}
	return []error{ErrProviderUnavailable, e.Err}
}

// InputError reports one input tensor that does not fit the model.
type InputError struct {
	// Index and Name identify the model input.
	Index int
	Name  string
	// Want is what the model declares (-1 marks a dynamic dimension).
	Want TensorInfo
	// GotType, GotShape and GotLen describe the tensor that was passed.
	GotType  ElementType
	GotShape []int64
	GotLen   int
	// Reason says which check failed.
	Reason string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("onnx: %v: input %d %q: %s (model wants %s %v, got %s %v with %d values)",
		ErrInvalidInput, e.Index, e.Name, e.Reason, e.Want.Type, e.Want.Shape, e.GotType, e.GotShape, e.GotLen)
}

// Unwrap makes errors.Is(err, ErrInvalidInput) true.
func (e *InputError) Unwrap() error { return ErrInvalidInput }

// PartialError is returned by a batch function when only some items failed:
// Errs has one entry per item, nil for items whose output is valid. The
// Batcher hands each caller its own outcome, so one bad request cannot fail
// the other requests that happened to share its batch.
type PartialError struct {
	Errs []error
}

func (e *PartialError) Error() string {
	n := 0
	var first error
	for _, err := range e.Errs {
		if err != nil {
			if first == nil {
				first = err
			}
			n++
		}
	}
	return fmt.Sprintf("onnx: %d of %d batch items failed, first: %v", n, len(e.Errs), first)
}

// Unwrap exposes the item errors to errors.Is/As.
func (e *PartialError) Unwrap() []error {
	errs := make([]error, 0, len(e.Errs))
	for _, err := range e.Errs {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
