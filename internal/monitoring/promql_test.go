package monitoring

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// This file reads what a PromQL expression names, without Prometheus'
// parser (a very large module): a lexer, then a walk over its tokens that
// knows where PromQL puts metric names, matchers, grouping labels and
// function names. promtool (promtool_test.go) is the check that the rule
// expressions parse; this is the check that what they name exists.

// token kinds.
const (
	tIdent  = "ident"
	tString = "string"
	tNumber = "number"
	tVar    = "var" // a Grafana variable: $name, ${name}, ${name:fmt}
	tPunct  = "punct"
)

type token struct{ kind, text string }

// lex splits a PromQL expression (possibly holding Grafana variables) into tokens.
func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '$':
			j := i + 1
			if j < len(s) && s[j] == '{' {
				k := strings.IndexByte(s[j:], '}')
				if k < 0 {
					return nil, fmt.Errorf("unterminated ${ at %d", i)
				}
				j += k + 1
			} else {
				for j < len(s) && isIdentChar(s[j], false) {
					j++
				}
				if j == i+1 {
					return nil, fmt.Errorf("lone $ at %d", i)
				}
			}
			out = append(out, token{tVar, s[i:j]})
			i = j
		case c == '"' || c == '\'' || c == '`':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && c != '`' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			out = append(out, token{tString, b.String()})
			i = j + 1
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && (isIdentChar(s[j], false) || s[j] == '.') {
				j++
			}
			out = append(out, token{tNumber, s[i:j]})
			i = j
		case isIdentChar(c, true):
			j := i
			for j < len(s) && isIdentChar(s[j], false) {
				j++
			}
			out = append(out, token{tIdent, s[i:j]})
			i = j
		default:
			if i+1 < len(s) {
				switch two := s[i : i+2]; two {
				case "==", "!=", "=~", "!~", "<=", ">=":
					out = append(out, token{tPunct, two})
					i += 2
					continue
				}
			}
			if !strings.ContainsRune("(){}[],=<>+-*/%^@:", rune(c)) {
				return nil, fmt.Errorf("unexpected %q at %d", c, i)
			}
			out = append(out, token{tPunct, string(c)})
			i++
		}
	}
	return out, nil
}

// isIdentChar: PromQL metric and label names ([a-zA-Z_:][a-zA-Z0-9_:]*).
// A colon is not a name character at the start, so a subquery's [5m:1m]
// lexes as number, colon, number.
func isIdentChar(c byte, first bool) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || !first && (c >= '0' && c <= '9' || c == ':')
}

// functions are PromQL's functions and aggregation operators (Prometheus 3).
var functions = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`
		sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio
		abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week
		day_of_year days_in_month delta deriv exp floor histogram_avg histogram_count histogram_fraction
		histogram_quantile histogram_stddev histogram_stdvar histogram_sum double_exponential_smoothing
		holt_winters hour idelta increase irate label_join label_replace ln log2 log10 minute month
		predict_linear rate resets round scalar sgn sort sort_desc sort_by_label sort_by_label_desc sqrt
		time timestamp vector year avg_over_time min_over_time max_over_time sum_over_time
		count_over_time quantile_over_time stddev_over_time stdvar_over_time last_over_time
		present_over_time mad_over_time acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg
		pi rad info start end`) {
		functions[f] = true
	}
}

// aggregators may take their grouping before their argument: sum by (a) (x).
var aggregators = map[string]bool{}

func init() {
	for _, a := range strings.Fields("sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio") {
		aggregators[a] = true
	}
}

// Words that are neither metric nor function names.
var (
	grouping = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	keywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true, "inf": true, "nan": true}
)

// matcher is one label matcher of a selector.
type matcher struct{ label, op, value string }

// selector is one vector selector: a metric name and its matchers.
type selector struct {
	metric   string
	matchers []matcher
}

// query is what an expression names.
type query struct {
	selectors []selector
	grouping  []string // label names in by, without, on, ignoring, group_left, group_right
	functions []string
}

// parseQuery reads what expr names. It does not check PromQL's grammar
// beyond what it needs (balanced brackets, matchers, known functions).
func parseQuery(expr string) (query, error) {
	toks, err := lex(expr)
	if err != nil {
		return query{}, err
	}
	var q query
	var stack []string
	next := func(i int) token {
		if i+1 < len(toks) {
			return toks[i+1]
		}
		return token{}
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tIdent && keywords[strings.ToLower(t.text)]:
		case t.kind == tIdent && grouping[t.text]:
			if n := next(i); n.kind == tPunct && n.text == "(" {
				j := i + 2
				for ; j < len(toks) && toks[j].text != ")"; j++ {
					switch tj := toks[j]; {
					case tj.kind == tIdent:
						q.grouping = append(q.grouping, tj.text)
					case tj.kind == tPunct && tj.text == ",":
					default:
						return q, fmt.Errorf("%s(...) holds %q: only label names belong there", t.text, tj.text)
					}
				}
				if j == len(toks) {
					return q, fmt.Errorf("%s( is not closed", t.text)
				}
				i = j
			}
		case t.kind == tIdent && (next(i).kind == tPunct && next(i).text == "(" || aggregators[t.text] && (next(i).text == "by" || next(i).text == "without")):
			if !functions[t.text] {
				return q, fmt.Errorf("unknown function %s()", t.text)
			}
			q.functions = append(q.functions, t.text)
		case t.kind == tIdent:
			sel := selector{metric: t.text}
			if n := next(i); n.kind == tPunct && n.text == "{" {
				ms, j, err := parseMatchers(toks, i+1)
				if err != nil {
					return q, err
				}
				sel.matchers, i = ms, j
			}
			q.selectors = append(q.selectors, sel)
		case t.kind == tPunct && t.text == "{":
			ms, j, err := parseMatchers(toks, i)
			if err != nil {
				return q, err
			}
			sel := selector{matchers: ms}
			for _, m := range ms {
				if m.label == "__name__" && m.op == "=" {
					sel.metric = m.value
				}
			}
			q.selectors = append(q.selectors, sel)
			i = j
		case t.kind == tPunct && t.text == "[":
			// A range or subquery: durations, variables, colons, until "]".
			j := i + 1
			for ; j < len(toks) && toks[j].text != "]"; j++ {
				if tj := toks[j]; tj.kind != tNumber && tj.kind != tVar && tj.text != ":" {
					return q, fmt.Errorf("unexpected %q in a range", tj.text)
				}
			}
			if j == len(toks) {
				return q, fmt.Errorf("[ is not closed")
			}
			i = j
		case t.kind == tPunct && t.text == "(":
			stack = append(stack, "(")
		case t.kind == tPunct && t.text == ")":
			if len(stack) == 0 {
				return q, fmt.Errorf("unbalanced )")
			}
			stack = stack[:len(stack)-1]
		case t.kind == tPunct && (t.text == "}" || t.text == "]"):
			return q, fmt.Errorf("unbalanced %s", t.text)
		}
	}
	if len(stack) > 0 {
		return q, fmt.Errorf("unclosed (")
	}
	if len(q.selectors) == 0 && !slices.Contains(q.functions, "vector") && !slices.Contains(q.functions, "time") {
		return q, fmt.Errorf("no metric selected")
	}
	return q, nil
}

// parseMatchers reads {label op "value", ...} from toks[open] ("{") and
// returns the index of the closing "}".
func parseMatchers(toks []token, open int) ([]matcher, int, error) {
	var ms []matcher
	i := open + 1
	for i < len(toks) {
		if toks[i].text == "}" && toks[i].kind == tPunct {
			return ms, i, nil
		}
		if i+2 >= len(toks) || toks[i].kind != tIdent || toks[i+1].kind != tPunct || toks[i+2].kind != tString {
			return nil, 0, fmt.Errorf("bad label matcher at %q", toks[i].text)
		}
		op := toks[i+1].text
		if op != "=" && op != "!=" && op != "=~" && op != "!~" {
			return nil, 0, fmt.Errorf("bad matcher operator %q", op)
		}
		ms = append(ms, matcher{toks[i].text, op, toks[i+2].text})
		i += 3
		if i < len(toks) && toks[i].text == "," {
			i++
		}
	}
	return nil, 0, fmt.Errorf("{ is not closed")
}

// series indexes a scrape the way PromQL sees it: each series name (a
// histogram's _bucket, _sum and _count, a summary's quantiles, _sum and
// _count) with each label name and the values it takes.
type series map[string]map[string]map[string]bool

func (s series) add(name string, labels map[string]string) {
	if s[name] == nil {
		s[name] = map[string]map[string]bool{}
	}
	for k, v := range labels {
		if s[name][k] == nil {
			s[name][k] = map[string]bool{}
		}
		s[name][k][v] = true
	}
}

// targetLabels are attached by Prometheus to every scraped series.
var targetLabels = map[string]bool{"job": true, "instance": true}

// prometheusSeries are made by Prometheus itself, not by the worker.
var prometheusSeries = map[string]bool{"up": true}

// check returns what q names that the scrape s lacks.
func check(q query, s series) []string {
	var problems []string
	seen := map[string]bool{}
	for _, sel := range q.selectors {
		if sel.metric == "" {
			problems = append(problems, "a selector without a metric name")
			continue
		}
		labels, ok := s[sel.metric]
		if !ok && !prometheusSeries[sel.metric] {
			problems = append(problems, fmt.Sprintf("metric %s is not exported", sel.metric))
			continue
		}
		seen[sel.metric] = true
		for _, m := range sel.matchers {
			if m.label == "__name__" || targetLabels[m.label] {
				continue
			}
			values, ok := labels[m.label]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s has no label %s", sel.metric, m.label))
				continue
			}
			if strings.Contains(m.value, "$") {
				continue // a Grafana variable
			}
			switch m.op {
			case "=":
				if m.value != "" && !values[m.value] {
					problems = append(problems, fmt.Sprintf("%s{%s=%q}: the worker exports %s only as %s", sel.metric, m.label, m.value, m.label, keys(values)))
				}
			case "=~":
				re, err := regexp.Compile("^(?:" + m.value + ")$")
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s{%s=~%q}: %v", sel.metric, m.label, m.value, err))
					continue
				}
				if !slices.ContainsFunc(keys(values), re.MatchString) {
					problems = append(problems, fmt.Sprintf("%s{%s=~%q} matches none of %s", sel.metric, m.label, m.value, keys(values)))
				}
			}
		}
	}
	for _, l := range q.grouping {
		if targetLabels[l] {
			continue
		}
		found := false
		for m := range seen {
			if _, ok := s[m][l]; ok {
				found = true
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("grouping label %s is on none of %s", l, keys(seen)))
		}
	}
	return problems
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// labelValuesQuery splits a Grafana variable query label_values(selector, label).
func labelValuesQuery(q string) (expr, label string, err error) {
	q = strings.TrimSpace(q)
	if !strings.HasPrefix(q, "label_values(") || !strings.HasSuffix(q, ")") {
		return "", "", fmt.Errorf("not a label_values(selector, label) query: %s", q)
	}
	inner := q[len("label_values(") : len(q)-1]
	comma := strings.LastIndexByte(inner, ',')
	if comma < 0 {
		return "", "", fmt.Errorf("label_values without a selector: %s", q)
	}
	return strings.TrimSpace(inner[:comma]), strings.TrimSpace(inner[comma+1:]), nil
}

// TestParseQuery checks the reader on the shapes the dashboard and rules use.
func TestParseQuery(t *testing.T) {
	q, err := parseQuery(`histogram_quantile(0.99, sum by (le, connector) (rate(a_bucket{connector=~"$connector", state="X"}[$__rate_interval])))
		and on (job, connector) b{task!="1"} == 1 unless ignoring(fixture) -c * 60 > bool 2 or vector(0) # a comment c_ignored
		+ d[5m:1m] offset 1h + {__name__="e"} + f_x:y:z + max(g) without (h) + h_q{a="\"q\""}`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range q.selectors {
		names = append(names, s.metric)
	}
	if want := []string{"a_bucket", "b", "c", "d", "e", "f_x:y:z", "g", "h_q"}; !slices.Equal(names, want) {
		t.Errorf("metrics %v, want %v", names, want)
	}
	if want := []matcher{{"connector", "=~", "$connector"}, {"state", "=", "X"}}; !slices.Equal(q.selectors[0].matchers, want) {
		t.Errorf("matchers %v, want %v", q.selectors[0].matchers, want)
	}
	if got := q.selectors[7].matchers[0].value; got != `"q"` {
		t.Errorf("escaped value %q", got)
	}
	if want := []string{"le", "connector", "job", "connector", "fixture", "h"}; !slices.Equal(q.grouping, want) {
		t.Errorf("grouping %v, want %v", q.grouping, want)
	}
	if want := []string{"histogram_quantile", "sum", "rate", "vector", "max"}; !slices.Equal(q.functions, want) {
		t.Errorf("functions %v, want %v", q.functions, want)
	}
	for _, bad := range []string{
		`histogram_quantil(0.9, x_bucket)`, // a typo in a function
		`sum(rate(x[5m])`,                  // unbalanced
		`x{a="b"`,                          // unclosed matchers
		`x{a}`,                             // a matcher without a value
		`x{a=b}`,                           // an unquoted value
		`sum by (le, "x") (y)`,             // not a label name
		`x[5m`,                             // unclosed range
		`vector(1) ~ 2`,                    // not PromQL
		`1 + 2`,                            // selects nothing
	} {
		if _, err := parseQuery(bad); err == nil {
			t.Errorf("parseQuery(%s) accepted it", bad)
		}
	}
}

// TestCheckFindsWhatTheScrapeLacks checks check on a small scrape: each kind
// of mistake the dashboard or the rules could make is reported.
func TestCheckFindsWhatTheScrapeLacks(t *testing.T) {
	s := series{}
	s.add("m_total", map[string]string{"connector": "c", "task": "0"})
	s.add("st", map[string]string{"connector": "c", "state": "RUNNING"})
	s.add("st", map[string]string{"connector": "c", "state": "FAILED"})
	for expr, want := range map[string]string{
		`rate(m_total{connector=~"$connector"}[5m])`:                      "",
		`sum by (connector, instance) (m_total{job="x"})`:                 "",
		`st{state="FAILED"} == 1 and on (connector) up`:                   "",
		`st{state=~"FAILED|RESTARTING"}`:                                  "",
		`rate(m_totl[5m])`:                                                "metric m_totl is not exported",
		`m_total{fixture="f"}`:                                            "m_total has no label fixture",
		`st{state="Failed"}`:                                              `st{state="Failed"}: the worker exports state only as [FAILED RUNNING]`,
		`st{state=~"failed"}`:                                             `st{state=~"failed"} matches none of [FAILED RUNNING]`,
		`sum by (fixture) (m_total)`:                                      "grouping label fixture is on none of [m_total]",
		`{connector="c"}`:                                                 "a selector without a metric name",
		`max by (connector, task) (m_total) and on (connector, state) st`: "",
	} {
		q, err := parseQuery(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		got := strings.Join(check(q, s), "; ")
		if got != want {
			t.Errorf("check(%s) = %q, want %q", expr, got, want)
		}
	}
}
