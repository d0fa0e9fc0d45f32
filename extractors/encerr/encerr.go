// Package encerr holds the errors an encoder returns for unusable input,
// in a package of their own with no dependencies, so that layers which
// must not load models (serving, evaluation) can still recognise them with
// errors.Is. Package extractors re-exports them.
package encerr

import "errors"

// ErrEmptyInput means the input gives the model nothing to encode: empty
// text, text with no token the model knows (a static-embedding model
// yields a zero vector), or an audio clip shorter than one window.
// Encoders wrap it with %w and the detail.
var ErrEmptyInput = errors.New("empty input")
