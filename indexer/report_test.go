package indexer

import (
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/records"
)

func TestBackfillReportText(t *testing.T) {
	sp := records.Space{Version: 3, Dim: 4, Storage: "vector", State: "ready"}
	done := BackfillReport{Space: sp, Finished: true, Written: 5, UpToDate: 2, Rejected: 1, Encoded: map[string]int{"t@1": 5}}
	reduced, resumed := done, done
	reduced.Reduction = &ReductionReport{FullDim: 1380, Dim: 4, Explained: 0.875, Recall: 0.925, Sample: 81}
	resumed.Reduction = &ReductionReport{FullDim: 1380, Dim: 4, Explained: 0.5, Recall: 0.5, Sample: 20000, Reused: true}
	counts := "vector space 3 (4 dimensions, vector): 5 vectors written, 2 up to date, 1 products without usable input; models run: map[t@1:5]\n"
	tests := []struct {
		name     string
		rep      BackfillReport
		activate bool
		want     string
	}{
		{"nothing to do", BackfillReport{Space: sp}, false, "vector space 3 already holds this definition (ready); nothing to do\n"},
		{"activated", done, true, counts + "vector space 3 is ready and active\n"},
		{"ready", done, false, counts + "vector space 3 is ready; activate it with `vitrine vectors activate 3`\n"},
		{"reduced", reduced, false, "reduced 1380 -> 4 dimensions by a PCA fitted on 81 products: 87.5% of the variance kept, recall@10 against the full vectors 0.925 (exact search, 81 of the sample's products as queries)\n" +
			counts + "vector space 3 is ready; activate it with `vitrine vectors activate 3`\n"},
		{"reduced, resumed", resumed, true, "reduced 1380 -> 4 dimensions by a PCA stored with the space, fitted on 20000 products: 50.0% of the variance kept, recall@10 against the full vectors 0.500 (exact search, 200 of the sample's products as queries)\n" +
			counts + "vector space 3 is ready and active\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := tt.rep.Text(&b, tt.activate); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}
