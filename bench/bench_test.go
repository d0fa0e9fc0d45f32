package bench

import (
	"context"
	"testing"

	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/store"
)

func TestBuildRecord(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, ok := RecalledBuild(ctx, st); ok {
		t.Fatal("a fresh database recalled a build")
	}
	want := Build{LoadSeconds: 1.5, IndexSeconds: 0.25}
	if err := RecordBuild(ctx, st, want); err != nil {
		t.Fatal(err)
	}
	if got, ok := RecalledBuild(ctx, st); !ok || got != want {
		t.Errorf("recalled %+v, %v; want %+v", got, ok, want)
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Rate(1234.6), "1235"},
		{Rate(12.34), "12.3"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if Ratio(1, 0) != 0 || Ratio(3, 2) != 1.5 || MiB(3<<20) != 3 {
		t.Error("Ratio or MiB")
	}
}
