package speech_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vitrinehq/vitrine/extractors/audioprep"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/speech"
)

// speak synthesises text with espeak-ng (voice, words per minute) and
// returns it as 16 kHz samples.
func speak(t testing.TB, text, voice string, wpm string) []float32 {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "q.wav")
	if out, err := exec.Command("espeak-ng", "-v", voice, "-s", wpm, "-w", wav, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, out)
	}
	b, err := os.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	p, err := audioprep.New(models.AudioPrep{SampleRate: speech.SampleRate})
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := p.Prepare(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return chunks[0]
}
