package imageprep

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// TestErrorsDoNotRepeatFileBytes: a chunk the formats do not define is
// called "an unknown chunk", never quoted, so a reject reason cannot
// repeat bytes of a file (an ingested path may name any file on the
// server); a chunk the formats define is named.
func TestErrorsDoNotRepeatFileBytes(t *testing.T) {
	png := fixture(t, "alpha.png")
	secret := append([]byte(nil), png[:33]...) // signature and IHDR
	secret = binary.BigEndian.AppendUint32(secret, 1000)
	secret = append(secret, "SECRxxxx"...)
	idat := append([]byte(nil), png[:33]...)
	idat = binary.BigEndian.AppendUint32(idat, 1000)
	idat = append(idat, "IDATxxxx"...)
	webp := append([]byte("RIFF\x20\x00\x00\x00WEBPpass\x14\x00\x00\x00"), make([]byte, 20)...)
	for _, tc := range []struct {
		name, forbid, want string
		data               []byte
	}{
		{"png unknown chunk", "SECR", "an unknown chunk", secret},
		{"png known chunk", "", "chunk IDAT", idat},
		{"webp unknown first chunk", "pass", "an unknown chunk", webp},
	} {
		p := mustNew(t, imagenet())
		_, err := p.Prepare(t.Context(), tc.data, nil)
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: %v, want ErrCorrupt", tc.name, err)
		}
		if (tc.forbid != "" && strings.Contains(err.Error(), tc.forbid)) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q, want %q and no %q", tc.name, err, tc.want, tc.forbid)
		}
	}
}
