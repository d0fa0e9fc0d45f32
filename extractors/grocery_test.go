package extractors_test

import (
	"encoding/csv"
	"os"
	"strconv"
	"strings"
	"testing"
)

type photo struct {
	path  string
	class int
}

// readClasses returns fine class names indexed by class id.
func readClasses(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("grocery data (set VITRINE_ASSETS to the shared directory): %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows)-1)
	for _, r := range rows[1:] {
		id, err := strconv.Atoi(strings.TrimSpace(r[1]))
		if err != nil || id >= len(out) {
			t.Fatalf("classes.csv row %v", r)
		}
		out[id] = strings.TrimSpace(r[0])
	}
	return out
}

func readPhotos(t *testing.T, path string) []photo {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []photo
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.Split(line, ",")
		if len(parts) < 2 {
			continue
		}
		c, err := strconv.Atoi(strings.TrimSpace(parts[1]))
		if err != nil {
			t.Fatalf("photos line %q", line)
		}
		out = append(out, photo{path: strings.TrimSpace(parts[0]), class: c})
	}
	return out
}
