package audioprep

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error Decode and Prepare return for bad input
// wraps exactly one of the first four, so callers map them with errors.Is.
var (
	// ErrEmpty: no bytes at all, or a valid header with no samples.
	ErrEmpty = errors.New("audioprep: empty audio")
	// ErrUnsupportedFormat: not a RIFF/WAVE file, or a WAVE encoding other
	// than integer PCM (8/16/24/32-bit) and IEEE float (32/64-bit), such as
	// ADPCM or µ-law.
	ErrUnsupportedFormat = errors.New("audioprep: unsupported audio format")
	// ErrCorrupt: a WAVE file whose structure is malformed or truncated,
	// including a data chunk that claims more bytes than the file has.
	ErrCorrupt = errors.New("audioprep: corrupt audio")
	// ErrTooLong: the header declares a clip longer than the maximum, or the
	// input has more bytes than allowed. Decided before reading samples.
	ErrTooLong = errors.New("audioprep: audio too long")
	// ErrInvalidConfig: a ConfigError, from New.
	ErrInvalidConfig = errors.New("audioprep: invalid configuration")
)

// ConfigError names the configuration field that is wrong, using the YAML
// name from the manifest (sample_rate, chunk_seconds, ...) or the option.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("audioprep: invalid configuration: %s: %s", e.Field, e.Reason)
}

// Unwrap lets errors.Is(err, ErrInvalidConfig) match any ConfigError.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }
