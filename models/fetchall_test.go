package models

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSelect(t *testing.T) {
	ms := []Manifest{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	tests := []struct {
		names   []string
		want    string
		wantErr string
	}{
		{nil, "a b c", ""},
		{[]string{"c", "a"}, "c a", ""},
		{[]string{"a", "zz"}, "", `no model "zz" in dir`},
	}
	for _, tt := range tests {
		got, err := Select(ms, tt.names, "dir")
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Select(%v): error %v, want %q", tt.names, err, tt.wantErr)
			}
			continue
		}
		var names []string
		for _, m := range got {
			names = append(names, m.Name)
		}
		if err != nil || strings.Join(names, " ") != tt.want {
			t.Errorf("Select(%v) = %v, %v; want %s", tt.names, names, err, tt.want)
		}
	}
}

func TestPrintFetched(t *testing.T) {
	var b strings.Builder
	PrintFetched(&b,
		FileResult{File: "m@1/model.onnx", Path: "/x/model.onnx", Action: Fetched, Bytes: 3 << 20, Took: 1500 * time.Microsecond},
		FileResult{File: "m@1/vocab.txt", Path: "/x/vocab.txt", Action: Present})
	want := "fetched  m@1/model.onnx -> /x/model.onnx 3.0 MiB (2ms)\npresent  m@1/vocab.txt -> /x/vocab.txt (0s)\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestListAndFetchAll(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := NewFetcher(WithModelDir(dir), WithCacheDir(t.TempDir()))
	m := mobilenet(t)
	var b strings.Builder
	if err := f.List(&b, []Manifest{m}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if want := "mobilenetv2-int8  1        image     1280  no\n"; !strings.HasSuffix(b.String(), want) {
		t.Errorf("list before fetch:\n%s", b.String())
	}
	b.Reset()
	req := FetchRequest{ManifestDir: ".", RuntimeDir: filepath.Join(".", "runtime"), Names: []string{m.Name}}
	if err := f.FetchAll(ctx, &b, req); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "fetched  mobilenetv2-int8@1/model.onnx -> ") {
		t.Errorf("fetch:\n%s", b.String())
	}
	b.Reset()
	if err := f.List(&b, []Manifest{m}, nil, nil); err != nil || !strings.HasSuffix(b.String(), "yes\n") {
		t.Errorf("list after fetch: %v\n%s", err, b.String())
	}
	if err := f.FetchAll(ctx, &b, FetchRequest{ManifestDir: ".", Names: []string{"no-such"}}); err == nil || !strings.Contains(err.Error(), `no model "no-such"`) {
		t.Errorf("unknown name: %v", err)
	}
}
