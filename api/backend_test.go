package api_test

import (
	"github.com/vitrinehq/vitrine/serving"
	"github.com/vitrinehq/vitrine/store"
)

// The store is the serving layer's backend in production.
var _ serving.Backend = (*store.Store)(nil)
