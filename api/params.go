package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
	"github.com/vitrinehq/vitrine/validate"
)

// Query and form parameter parsing shared by the handlers: HTTP-level
// checks (a number where a number belongs, a price range in order) with
// problems naming the parameter. The use cases check the rest.

// intParam reads an integer query parameter within [lo, hi].
func intParam(c echo.Context, name string, def, lo, hi int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fieldProblem(name, fmt.Sprintf("must be an integer from %d to %d", lo, hi))
	}
	return n, nil
}

// floatParam reads a finite number query parameter within [0, hi]
// (strconv accepts "NaN" and "Inf"; they are refused here).
func floatParam(c echo.Context, name string, hi float64) (*float64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return nil, fieldProblem(name, "must be a number")
	}
	if err := validate.Number(f, 0, hi); err != nil {
		return nil, fieldProblem(name, err.Error())
	}
	return &f, nil
}

// maxWeight bounds the fusion weights a request may set.
const maxWeight = 1000

// filterParams reads category ("A > B"), brand (repeatable), min_price,
// max_price and attr.NAME=value query parameters.
func filterParams(c echo.Context) (catalog.Filter, error) {
	var f catalog.Filter
	q := c.QueryParams()
	if v := q.Get("category"); v != "" {
		for _, part := range strings.Split(v, ">") {
			if part = strings.TrimSpace(part); part != "" {
				f.Category = append(f.Category, part)
			}
		}
	}
	f.Brands = q["brand"]
	var err error
	if f.MinPrice, err = floatParam(c, "min_price", catalog.MaxPrice); err != nil {
		return f, err
	}
	if f.MaxPrice, err = floatParam(c, "max_price", catalog.MaxPrice); err != nil {
		return f, err
	}
	for k, vs := range q {
		if name, ok := strings.CutPrefix(k, "attr."); ok && name != "" {
			if f.Attributes == nil {
				f.Attributes = map[string]any{}
			}
			f.Attributes[name] = attrValue(vs[0])
		}
	}
	return f, filterProblem(f.Validate(), "attr.", "brand")
}

// prefixFields prefixes the field of a catalog.FieldError ("min_price"
// becomes "filter.min_price").
func prefixFields(err error, prefix string) error {
	var fe *catalog.FieldError
	if errors.As(err, &fe) {
		return &catalog.FieldError{Field: prefix + fe.Field, Reason: fe.Reason}
	}
	return err
}

// filterProblem renders a catalog.Filter's validation error as a 422
// naming the first bad field in the request's terms: attributes.NAME is
// the parameter attrPrefix+NAME, brands[i] the parameter brands.
func filterProblem(err error, attrPrefix, brands string) error {
	var fe *catalog.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	field := fe.Field
	if name, ok := strings.CutPrefix(field, "attributes."); ok {
		field = attrPrefix + name
	} else if strings.Contains(field, "brands[") {
		field = brands
	}
	return fieldProblem(field, fe.Reason)
}

// attrValue types an attribute filter value as JSON would (true, 3, "red").
func attrValue(v string) any {
	var x any
	if json.Unmarshal([]byte(v), &x) == nil {
		switch x.(type) {
		case bool, float64:
			return x
		}
	}
	return v
}

// userID checks a user id given by a client (a query parameter, a form
// field or a JSON field): ids are at most catalog.MaxIDLength bytes, as
// events require.
func userID(field, id string) (string, error) {
	if err := validate.TextMax(id, catalog.MaxIDLength); err != nil {
		return "", fieldProblem(field, err.Error())
	}
	return id, nil
}

// userParam reads the optional user_id query parameter.
func userParam(c echo.Context) (string, error) {
	return userID("user_id", c.QueryParam("user_id"))
}

// rerankParams reads mmr_lambda, max_per_category, max_per_brand and
// max_brand_share.
func rerankParams(c echo.Context) (serving.Rerank, error) {
	var o serving.Rerank
	if v, err := floatParam(c, "mmr_lambda", 1); err != nil {
		return o, err
	} else if v != nil {
		o.MMRLambda = v
	}
	for name, dst := range map[string]*int{"max_per_category": &o.MaxPerCategory, "max_per_brand": &o.MaxPerBrand} {
		if v := c.QueryParam(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > records.MaxK {
				return o, fieldProblem(name, fmt.Sprintf("must be an integer from 1 to %d", records.MaxK))
			}
			*dst = n
		}
	}
	if v, err := floatParam(c, "max_brand_share", 1); err != nil {
		return o, err
	} else if v != nil {
		if *v == 0 {
			return o, fieldProblem("max_brand_share", "must be in (0, 1]")
		}
		o.MaxBrandShare = *v
	}
	return o, nil
}

// listParams reads the k and user_id of an endpoint that answers a list.
func listParams(c echo.Context) (k int, uid string, err error) {
	if k, err = intParam(c, "k", serving.DefaultK, 1, records.MaxK); err != nil {
		return 0, "", err
	}
	uid, err = userParam(c)
	return k, uid, err
}
