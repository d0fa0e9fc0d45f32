package report

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/vitrinehq/vitrine/eval/metrics"
)

// CurveK is the deepest k of the recall and NDCG curves.
const CurveK = 20

// CurvePoint is one k of a recall and NDCG curve.
type CurvePoint struct {
	K      int     `json:"k"`
	Recall float64 `json:"recall"`
	NDCG   float64 `json:"ndcg"`
}

// NamedCurve is one method's recall and NDCG curve.
type NamedCurve struct {
	Method string
	Curve  []CurvePoint
}

// CurveMetrics are recall@k and NDCG@k for k = 1..CurveK.
func CurveMetrics() []metrics.Metric {
	ms := make([]metrics.Metric, 0, 2*CurveK)
	for k := 1; k <= CurveK; k++ {
		ms = append(ms, metrics.RecallAt(k), metrics.NDCGAt(k))
	}
	return ms
}

// CurveOf reads the curve that CurveMetrics measured out of s.
func CurveOf(s metrics.Summary) []CurvePoint {
	c := make([]CurvePoint, 0, CurveK)
	for k := 1; k <= CurveK; k++ {
		p := CurvePoint{K: k}
		p.Recall, _ = s.Get(fmt.Sprintf("recall@%d", k))
		p.NDCG, _ = s.Get(fmt.Sprintf("ndcg@%d", k))
		c = append(c, p)
	}
	return c
}

// CurvePlot draws recall@k (solid) and nDCG@k (dashed) per method.
func CurvePlot(path, title string, curves []NamedCurve) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "k"
	p.Y.Label.Text = "mean over queries"
	p.X.Min, p.X.Max = 1, CurveK
	p.Y.Min = 0
	p.X.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 1, Label: "1"}, {Value: 5, Label: "5"}, {Value: 10, Label: "10"}, {Value: 15, Label: "15"}, {Value: 20, Label: "20"}})
	// Headroom above the curves keeps the legend (top left) off them.
	top := 0.0
	for _, m := range curves {
		for _, c := range m.Curve {
			top = max(top, c.Recall, c.NDCG)
		}
	}
	p.Y.Max = min(1, top) * (1 + 0.065*float64(2*len(curves)))
	p.Y.Tick.Marker = plot.ConstantTicks(LinearTicks(p.Y.Max))
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(6)
	p.Add(plotter.NewGrid())
	for i, m := range curves {
		for _, metric := range []string{"recall", "nDCG"} {
			xys := make(plotter.XYs, len(m.Curve))
			for j, c := range m.Curve {
				xys[j].X, xys[j].Y = float64(c.K), c.Recall
				if metric == "nDCG" {
					xys[j].Y = c.NDCG
				}
			}
			l, err := plotter.NewLine(xys)
			if err != nil {
				return fmt.Errorf("plot %s: %w", path, err)
			}
			l.Color, l.Width = Color(i), vg.Points(1.5)
			if metric == "nDCG" {
				l.Dashes = Dashes()
			}
			p.Add(l)
			p.Legend.Add(m.Method+" "+metric+"@k", l)
		}
	}
	return Save(p, path, Width, Height)
}
