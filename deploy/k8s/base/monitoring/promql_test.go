package monitoring

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Expressions are parsed by Prometheus' own parser, which checks their
// syntax, functions and operand types. The tree is then walked for what
// the parser cannot know: that every series exists, is used as what it is,
// and is matched and grouped by labels it has.

// grafanaVars turns the interval variables Grafana expands in a
// dashboard's queries into durations, so that the queries parse. The
// dashboard's own variables appear only inside strings
// (namespace="$namespace"), where the parser takes them as they are.
var grafanaVars = strings.NewReplacer(
	"${__rate_interval}", "5m", "$__rate_interval", "5m",
	"${__interval}", "1m", "$__interval", "1m",
	"${__range}", "1h", "$__range", "1h",
)

func parse(expr string) (parser.Expr, error) {
	return parser.NewParser(parser.Options{}).ParseExpr(grafanaVars.Replace(expr))
}

// counterFuncs take the range of a counter; gaugeFuncs that of a gauge.
var (
	counterFuncs = setOf("rate irate increase resets")
	gaugeFuncs   = setOf("delta idelta deriv predict_linear")
)

// selector is one series an expression selects, with the function applied
// to it (rate(x[5m]) gives x and "rate"), if any.
type selector struct {
	name     string            // "" if the selector names no metric
	fn       string            // the function applied to the selector or its range
	quantile bool              // under histogram_quantile's second argument
	matchers []*labels.Matcher // less the metric name's
}

// selectors returns the series selected in e.
func selectors(e parser.Expr) []selector {
	var sels []selector
	parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		s := selector{name: metricName(vs)}
		for _, m := range vs.LabelMatchers {
			if m.Name != model.MetricNameLabel {
				s.matchers = append(s.matchers, m)
			}
		}
		s.fn = applied(path)
		for i, p := range path {
			if call, ok := p.(*parser.Call); ok && call.Func.Name == "histogram_quantile" {
				child := parser.Node(vs)
				if i+1 < len(path) {
					child = path[i+1]
				}
				s.quantile = s.quantile || child == call.Args[1]
			}
		}
		sels = append(sels, s)
		return nil
	})
	return sels
}

// applied returns the function applied to the node path leads to: the
// nearest call above it, through parentheses, ranges and subqueries.
func applied(path []parser.Node) string {
	for i := len(path) - 1; i >= 0; i-- {
		switch p := path[i].(type) {
		case *parser.ParenExpr, *parser.MatrixSelector, *parser.SubqueryExpr, *parser.StepInvariantExpr:
			continue
		case *parser.Call:
			return p.Func.Name
		}
		break
	}
	return ""
}

// metricName returns the metric vs selects, by name or by an __name__
// matcher, or "".
func metricName(vs *parser.VectorSelector) string {
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return vs.Name
}

// checkExpr parses expr and checks that every series it selects exists,
// as the catalog knows it, and is used as what it is: rate() and
// increase() of a counter, delta() and deriv() of a gauge,
// histogram_quantile() of a histogram's buckets; and that the labels it
// matches and groups by on the series the code writes are the series'
// own (with values it writes, for =) or the labels Prometheus adds to
// every target.
func checkExpr(c *catalog, expr string) error {
	e, err := parse(expr)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range selectors(e) {
		if s.name == "" {
			errs = append(errs, fmt.Errorf("a selector without a metric name: %v", s.matchers))
			continue
		}
		k, err := c.lookup(s.name)
		switch {
		case err != nil:
			errs = append(errs, err)
		case s.quantile && !c.isBucket(s.name):
			errs = append(errs, fmt.Errorf("histogram_quantile over %s: not the _bucket series of a histogram", s.name))
		case counterFuncs[s.fn] && k != counter:
			errs = append(errs, fmt.Errorf("%s(%s[...]): %s is a %s, not a counter", s.fn, s.name, s.name, k))
		case gaugeFuncs[s.fn] && k == counter:
			errs = append(errs, fmt.Errorf("%s(%s[...]): %s is a counter; use rate or increase", s.fn, s.name, s.name))
		default:
			errs = append(errs, c.checkLabels(s))
		}
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if a, ok := n.(*parser.AggregateExpr); ok {
			have, known := c.labelsOf(a.Expr)
			clause := map[bool]string{false: "by", true: "without"}[a.Without]
			for _, l := range a.Grouping {
				if known && !have[l] {
					errs = append(errs, fmt.Errorf("%s %s (%s): the series under it have no label %s", a.Op, clause, l, l))
				}
			}
		}
		return nil
	})
	return errors.Join(errs...)
}

// labelsOf returns the labels the series of n may have, as far as the
// code's own series tell; known is false when n involves a series whose
// labels the catalog does not know (a recording rule's, an exporter's).
func (c *catalog) labelsOf(n parser.Node) (have map[string]bool, known bool) {
	switch n := n.(type) {
	case *parser.VectorSelector:
		own, ok := c.labels[metricName(n)]
		if !ok {
			return nil, false
		}
		have = maps.Clone(targetLabels)
		for l := range own {
			have[l] = true
		}
		return have, true
	case *parser.AggregateExpr:
		switch {
		case n.Op == parser.TOPK || n.Op == parser.BOTTOMK || n.Op == parser.LIMITK || n.Op == parser.LIMIT_RATIO:
			return c.labelsOf(n.Expr)
		case n.Op == parser.COUNT_VALUES:
			return nil, false
		case !n.Without:
			return setOf(strings.Join(n.Grouping, " ")), true
		}
		have, known = c.labelsOf(n.Expr)
		for _, l := range n.Grouping {
			delete(have, l)
		}
		return have, known
	case *parser.Call:
		switch n.Func.Name {
		case "label_replace", "label_join":
			have, known = c.labelsOf(n.Args[0])
			if dst, ok := n.Args[1].(*parser.StringLiteral); ok && known {
				have[dst.Val] = true
			}
			return have, known
		case "histogram_quantile":
			have, known = c.labelsOf(n.Args[1])
			delete(have, "le")
			return have, known
		}
	}
	// Anything else has the labels of its operands, at most.
	have = map[string]bool{}
	for child := range parser.ChildrenIter(n) {
		l, ok := c.labelsOf(child)
		if !ok {
			return nil, false
		}
		maps.Copy(have, l)
	}
	return have, true
}
