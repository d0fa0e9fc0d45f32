package recs

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/vitrinehq/vitrine/eval/data"
	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/recommend"
)

// RatingFigures is a rating predictor's error on the test split's ratings.
type RatingFigures struct {
	RMSE float64 `json:"rmse"`
	MAE  float64 `json:"mae"`
	// TestRatings were predicted; Unseen of them have a user or an item
	// without training ratings and were predicted from the known biases.
	TestRatings  int     `json:"test_ratings"`
	Unseen       int     `json:"unseen"`
	TrainRatings int     `json:"train_ratings"`
	Min          float64 `json:"min"` // predictions are clipped to the training ratings' range
	Max          float64 `json:"max"`
}

// EvaluateRatings fits the rating predictors (global mean, Koren's bias
// baseline, biased MF "SVD" with factors factors) on the training split's
// ratings and scores them on the test split's; nil when there is no test
// rating.
func EvaluateRatings(ctx context.Context, split data.Split, seed uint64, factors int) ([]Result, error) {
	if len(split.Test) == 0 {
		return nil, nil
	}
	train := make([]recommend.Rating, len(split.Train))
	users, items := map[string]bool{}, map[string]bool{}
	lo, hi := math.Inf(1), math.Inf(-1)
	for n, x := range split.Train {
		train[n] = recommend.Rating{User: x.User, Item: x.Item, Value: x.Rating}
		users[x.User], items[x.Item] = true, true
		lo, hi = min(lo, x.Rating), max(hi, x.Rating)
	}
	truth := make([]float64, len(split.Test))
	unseen := 0
	for n, x := range split.Test {
		truth[n] = x.Rating
		if !users[x.User] || !items[x.Item] {
			unseen++
		}
	}
	predictors := []struct {
		name string
		m    recommend.RatingPredictor
	}{
		{"global-mean", recommend.NewGlobalMean()},
		{"bias-baseline", recommend.NewBiasBaseline()},
		{"svd", recommend.NewSVD(recommend.WithFactors(factors), recommend.WithSeed(seed))},
	}
	var out []Result
	for _, p := range predictors {
		start := time.Now()
		if err := p.m.FitRatings(ctx, train); err != nil {
			return nil, err
		}
		fit := time.Since(start).Seconds()
		pred := make([]float64, len(split.Test))
		for n, x := range split.Test {
			pred[n] = p.m.Predict(x.User, x.Item)
		}
		rmse, err := metrics.RMSE(pred, truth)
		if err != nil {
			return nil, err
		}
		mae, err := metrics.MAE(pred, truth)
		if err != nil {
			return nil, err
		}
		out = append(out, Result{Method: p.name, Task: "rating", FitSeconds: fit, Rating: &RatingFigures{
			RMSE: rmse, MAE: mae, TestRatings: len(truth), Unseen: unseen, TrainRatings: len(train), Min: lo, Max: hi,
		}})
	}
	return out, nil
}

// RatingsMissing says why the file's ratings cannot be predicted: none,
// or all equal (implicit feedback written as 1); "" when they can.
func RatingsMissing(d data.Dataset) string {
	if !d.HasRating {
		return "the file has no ratings"
	}
	for _, x := range d.Interactions {
		if x.Rating != d.Interactions[0].Rating {
			return ""
		}
	}
	return fmt.Sprintf("every rating is %g", d.Interactions[0].Rating)
}
