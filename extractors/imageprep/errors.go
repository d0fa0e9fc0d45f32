package imageprep

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error Prepare and Inspect return for bad input
// wraps exactly one of the first four, so callers (the upload handler, the
// ingest worker) can map them to a status with errors.Is and never need to
// parse messages.
var (
	// ErrEmpty: the input has no bytes at all.
	ErrEmpty = errors.New("imageprep: empty input")
	// ErrUnsupportedFormat: the bytes are not JPEG, PNG or WebP (or are a
	// variant of them this package does not decode, such as animated WebP).
	ErrUnsupportedFormat = errors.New("imageprep: unsupported image format")
	// ErrCorrupt: the bytes claim a supported format but are malformed,
	// truncated or could not be decoded.
	ErrCorrupt = errors.New("imageprep: corrupt image")
	// ErrTooLarge: the input or the image its header declares exceeds the
	// configured limits. It is decided from the header, before decoding.
	ErrTooLarge = errors.New("imageprep: image too large")
	// ErrInvalidConfig: a ConfigError; New returns it for a bad manifest
	// section or option.
	ErrInvalidConfig = errors.New("imageprep: invalid configuration")
)

// ConfigError names the configuration field that is wrong, using the YAML
// name a manifest author sees (resize_shorter, mean, ...) or the option name.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("imageprep: invalid configuration: %s: %s", e.Field, e.Reason)
}

// Unwrap lets errors.Is(err, ErrInvalidConfig) match any ConfigError.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }
