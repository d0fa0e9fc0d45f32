package onnx

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// SessionOption configures Runtime.OpenSession.
type SessionOption func(*sessionOptions) error

type sessionOptions struct {
	inputs, outputs []string
}

// WithInputNames feeds only these model inputs, in this order (the default
// is every input in the model's order). Inputs left out must be optional in
// the model.
func WithInputNames(names ...string) SessionOption {
	return func(o *sessionOptions) error {
		if len(names) == 0 {
			return fmt.Errorf("no input names")
		}
		o.inputs = slices.Clone(names)
		return nil
	}
}

// WithOutputNames fetches only these outputs, in this order (the default is
// every output in the model's order). Asking for fewer outputs skips work.
func WithOutputNames(names ...string) SessionOption {
	return func(o *sessionOptions) error {
		if len(names) == 0 {
			return fmt.Errorf("no output names")
		}
		o.outputs = slices.Clone(names)
		return nil
	}
}

// Session is one loaded model. Run is safe for concurrent use: ORT runs
// concurrent calls on one session in parallel, sharing the weights.
type Session struct {
	rt       *Runtime
	path     string
	name     string
	provider Provider
	inputs   []TensorInfo
	outputs  []TensorInfo

	// mu is held shared by Run and exclusively by Close, so the C session
	// is never released under a running call.
	mu   sync.RWMutex
	sess *ort.DynamicAdvancedSession

	// bufs recycles BatchFunc's joined input buffers (*batchBufs): a batch
	// of 32 images is 19 MB, and allocating it fresh per batch costs more
	// than the copy.
	bufs sync.Pool
}

// batchBufs holds one reusable buffer per session input.
type batchBufs struct {
	f32 [][]float32
	i64 [][]int64
}

// OpenSession loads the model at path on this Runtime's provider.
func (r *Runtime) OpenSession(ctx context.Context, path string, opts ...SessionOption) (*Session, error) {
	var o sessionOptions
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("onnx: open %s: %w: %w", path, ErrInvalidOption, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.life.RLock()
	defer r.life.RUnlock()
	if r.closed {
		return nil, fmt.Errorf("onnx: open %s: runtime %w", path, ErrClosed)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("onnx: open model: %w", err)
	}
	start := time.Now()
	declIn, declOut, err := r.modelInfo(path)
	if err != nil {
		return nil, err
	}
	inputs, err := pick(path, "input", declIn, o.inputs)
	if err != nil {
		return nil, err
	}
	outputs, err := pick(path, "output", declOut, o.outputs)
	if err != nil {
		return nil, err
	}
	sess, provider, err := r.createSession(ctx, path, names(inputs), names(outputs))
	if err != nil {
		return nil, err
	}
	s := &Session{
		rt:       r,
		path:     path,
		name:     filepath.Base(path),
		provider: provider,
		inputs:   inputs,
		outputs:  outputs,
		sess:     sess,
	}
	r.mu.Lock()
	r.sessions[s] = struct{}{}
	r.mu.Unlock()
	r.log.InfoContext(ctx, "onnx session open", "model", path, "provider", provider,
		"inputs", fmt.Sprint(inputs), "outputs", fmt.Sprint(outputs), "took", time.Since(start).Round(time.Millisecond))
	return s, nil
}

// modelInfo reads the declared inputs and outputs. The binding can only do
// this through a throwaway session, so make it cheap: one thread, no graph
// optimisation, CPU only.
func (r *Runtime) modelInfo(path string) ([]TensorInfo, []TensorInfo, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("onnx: session options: %w", err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(1); err != nil {
		return nil, nil, fmt.Errorf("onnx: session options: %w", err)
	}
	if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll); err != nil {
		return nil, nil, fmt.Errorf("onnx: session options: %w", err)
	}
	in, out, err := ort.GetInputOutputInfoWithOptions(path, so)
	if err != nil {
		return nil, nil, fmt.Errorf("onnx: load %s: %w", path, err)
	}
	return infos(in), infos(out), nil
}

func infos(ios []ort.InputOutputInfo) []TensorInfo {
	out := make([]TensorInfo, len(ios))
	for i, io := range ios {
		out[i] = TensorInfo{Name: io.Name, Shape: slices.Clone([]int64(io.Dimensions))}
		if io.OrtValueType == ort.ONNXTypeTensor {
			out[i].Type = elementTypeOf(io.DataType)
		} else {
			out[i].Type = ElementType(io.OrtValueType.String())
		}
	}
	return out
}

// pick selects the wanted tensors (all when want is empty) and refuses
// names the model lacks and types we cannot convert, at open time rather
// than on the first request.
func pick(path, kind string, declared []TensorInfo, want []string) ([]TensorInfo, error) {
	if len(want) == 0 {
		want = names(declared)
	}
	out := make([]TensorInfo, 0, len(want))
	for _, n := range want {
		i := slices.IndexFunc(declared, func(t TensorInfo) bool { return t.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("onnx: open %s: %w: %s %q; the model has %v", path, ErrUnknownTensor, kind, n, names(declared))
		}
		if !declared[i].Type.supported() {
			return nil, fmt.Errorf("onnx: open %s: %s %s: %w (float32 and int64 are supported)", path, kind, declared[i], ErrUnsupportedType)
		}
		out = append(out, declared[i])
	}
	return out, nil
}

func names(ts []TensorInfo) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func cloneInfos(ts []TensorInfo) []TensorInfo {
	out := slices.Clone(ts)
	for i := range out {
		out[i].Shape = slices.Clone(out[i].Shape)
	}
	return out
}

// Inputs describes the inputs Run expects, in order.
func (s *Session) Inputs() []TensorInfo { return cloneInfos(s.inputs) }

// Outputs describes the outputs Run returns, in order.
func (s *Session) Outputs() []TensorInfo { return cloneInfos(s.outputs) }

// Provider is the execution provider the session actually runs on.
func (s *Session) Provider() Provider { return s.provider }

// Path is the model file.
func (s *Session) Path() string { return s.path }

// Run feeds inputs (one per Inputs(), in order) and returns the outputs (one
// per Outputs()). Inputs are checked against the model first and refused
// with an *InputError. A ctx cancelled mid-run makes ORT abandon the run.
func (s *Session) Run(ctx context.Context, inputs []Tensor) ([]Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.check(inputs); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.sess == nil {
		return nil, fmt.Errorf("onnx: %s: session %w", s.name, ErrClosed)
	}
	in := make([]ort.Value, len(inputs))
	defer destroyAll(in)
	for i, t := range inputs {
		v, err := t.ortValue()
		if err != nil {
			return nil, fmt.Errorf("onnx: %s: input %q: %w", s.name, s.inputs[i].Name, err)
		}
		in[i] = v
	}
	runOpts, stop, err := terminateOnDone(ctx)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", s.name, err)
	}
	defer stop()
	// nil outputs: ORT allocates them at the size the batch needs.
	out := make([]ort.Value, len(s.outputs))
	defer destroyAll(out)
	if err := s.sess.RunWithOptions(in, out, runOpts); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("onnx: %s: run abandoned: %w", s.name, ctxErr)
		}
		return nil, fmt.Errorf("onnx: %s: run: %w", s.name, err)
	}
	res := make([]Tensor, len(out))
	for i, v := range out {
		// The binding copies ORT-allocated outputs into Go slices, so the
		// data stays valid after the value is destroyed.
		switch t := v.(type) {
		case *ort.Tensor[float32]:
			res[i] = Tensor{shape: t.GetShape(), typ: ElementFloat32, f32: t.GetData()}
		case *ort.Tensor[int64]:
			res[i] = Tensor{shape: t.GetShape(), typ: ElementInt64, i64: t.GetData()}
		default:
			return nil, fmt.Errorf("onnx: %s: output %q: %w", s.name, s.outputs[i].Name, ErrUnsupportedType)
		}
	}
	return res, nil
}

// terminateOnDone returns run options that ORT polls between kernels, set
// to terminate when ctx is done, and a stop func that must run after the
// call. A context that can never be done needs neither.
func terminateOnDone(ctx context.Context) (*ort.RunOptions, func(), error) {
	if ctx.Done() == nil {
		return nil, func() {}, nil
	}
	ro, err := ort.NewRunOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("run options: %w", err)
	}
	fired := make(chan struct{})
	unregister := context.AfterFunc(ctx, func() {
		defer close(fired)
		_ = ro.Terminate()
	})
	return ro, func() {
		if !unregister() {
			// Terminate is running or ran; wait before freeing ro.
			<-fired
		}
		_ = ro.Destroy()
	}, nil
}

func destroyAll(vs []ort.Value) {
	for _, v := range vs {
		if v != nil {
			_ = v.Destroy()
		}
	}
}

// check validates inputs against the declared model inputs, so mistakes get
// a typed error naming the tensor instead of an ORT message (or a crash in
// cgo for a short data slice).
func (s *Session) check(inputs []Tensor) error {
	if len(inputs) != len(s.inputs) {
		return fmt.Errorf("onnx: %s: %w: got %d tensors, the session takes %d (%v)", s.name, ErrInvalidInput, len(inputs), len(s.inputs), s.inputs)
	}
	for i, t := range inputs {
		if err := checkTensor(i, s.inputs[i], t); err != nil {
			return err
		}
	}
	return nil
}

func checkTensor(i int, want TensorInfo, t Tensor) error {
	fail := func(format string, args ...any) error {
		return &InputError{Index: i, Name: want.Name, Want: want, GotType: t.typ, GotShape: slices.Clone(t.shape), GotLen: t.Len(), Reason: fmt.Sprintf(format, args...)}
	}
	if t.typ != want.Type {
		return fail("element type %q, want %q", t.typ, want.Type)
	}
	if len(t.shape) != len(want.Shape) {
		return fail("rank %d, want %d", len(t.shape), len(want.Shape))
	}
	for d, n := range t.shape {
		if n < 1 {
			return fail("dimension %d is %d, every dimension must be at least 1", d, n)
		}
		if w := want.Shape[d]; w > 0 && n != w {
			return fail("dimension %d is %d, want %d", d, n, w)
		}
	}
	n, err := numElements(t.shape)
	if err != nil {
		return fail("%v", err)
	}
	if n != int64(t.Len()) {
		return fail("shape needs %d values", n)
	}
	return nil
}

// Close releases the model, waiting for running calls. Later calls to Run
// return ErrClosed. Close is idempotent.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	s.rt.forget(s)
	if err != nil {
		return fmt.Errorf("onnx: %s: close: %w", s.name, err)
	}
	return nil
}

// BatchFunc adapts the session to a Batcher whose items are one []Tensor
// each (one tensor per input, batch axis first, usually of size 1). Items
// are checked one by one, so an invalid item fails alone (via PartialError);
// valid items are joined with Concat, which zero-pads dynamic axes to the
// longest item (text: ids and masks; audio: samples), run once, and the
// outputs split back along axis 0. The model's batch axis must be dynamic.
func (s *Session) BatchFunc() BatchFunc[[]Tensor, []Tensor] {
	return func(ctx context.Context, items [][]Tensor) ([][]Tensor, error) {
		errs := make([]error, len(items))
		valid := make([]int, 0, len(items))
		sizes := make([]int64, 0, len(items))
		for i, it := range items {
			n, err := s.checkItem(it)
			if err != nil {
				errs[i] = err
				continue
			}
			valid = append(valid, i)
			sizes = append(sizes, n)
		}
		outs := make([][]Tensor, len(items))
		if len(valid) > 0 {
			if err := s.runItems(ctx, items, valid, sizes, outs); err != nil {
				return nil, err
			}
		}
		if len(valid) < len(items) {
			return outs, &PartialError{Errs: errs}
		}
		return outs, nil
	}
}

// checkItem validates one batch item and returns its batch size. Dynamic
// axes may differ between items (Concat pads them); fixed axes may not.
func (s *Session) checkItem(item []Tensor) (int64, error) {
	if len(item) != len(s.inputs) {
		return 0, fmt.Errorf("onnx: %s: %w: got %d tensors, the session takes %d (%v)", s.name, ErrInvalidInput, len(item), len(s.inputs), s.inputs)
	}
	var size int64
	for i, t := range item {
		if err := checkTensor(i, s.inputs[i], t); err != nil {
			return 0, err
		}
		if i == 0 {
			size = t.shape[0]
		} else if t.shape[0] != size {
			return 0, &InputError{Index: i, Name: s.inputs[i].Name, Want: s.inputs[i], GotType: t.typ, GotShape: slices.Clone(t.shape), GotLen: t.Len(),
				Reason: fmt.Sprintf("batch dimension %d differs from input 0's %d", t.shape[0], size)}
		}
	}
	return size, nil
}

func (s *Session) runItems(ctx context.Context, items [][]Tensor, valid []int, sizes []int64, outs [][]Tensor) error {
	bufs, _ := s.bufs.Get().(*batchBufs)
	if bufs == nil {
		bufs = &batchBufs{f32: make([][]float32, len(s.inputs)), i64: make([][]int64, len(s.inputs))}
	}
	// Safe to recycle on return: ORT is done with the inputs once Run
	// returns, and outputs live in their own memory.
	defer s.bufs.Put(bufs)
	batch := make([]Tensor, len(s.inputs))
	parts := make([]Tensor, len(valid))
	for in := range s.inputs {
		for j, i := range valid {
			parts[j] = items[i][in]
		}
		t, err := concat(parts, bufs.f32[in], bufs.i64[in])
		if err != nil {
			return fmt.Errorf("onnx: %s: input %q: %w", s.name, s.inputs[in].Name, err)
		}
		if t.f32 != nil {
			bufs.f32[in] = t.f32
		} else {
			bufs.i64[in] = t.i64
		}
		batch[in] = t
	}
	res, err := s.Run(ctx, batch)
	if err != nil {
		return err
	}
	for o, t := range res {
		pieces, err := Split(t, sizes)
		if err != nil {
			return fmt.Errorf("onnx: %s: output %q has no batch axis matching the inputs: %w", s.name, s.outputs[o].Name, err)
		}
		for j, i := range valid {
			if outs[i] == nil {
				outs[i] = make([]Tensor, len(res))
			}
			outs[i][o] = pieces[j]
		}
	}
	return nil
}
