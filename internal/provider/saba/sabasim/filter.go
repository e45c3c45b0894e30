package sabasim

import (
	"fmt"
	"strconv"
	"strings"
)

// odataFilter is a parsed OData $filter over a small set of fields: the
// subset the simulator understands (comparisons eq ne gt ge lt le against
// integers, 'strings', true, false, null; and, or, not, parentheses).
type odataFilter struct {
	root filterNode // nil matches everything
}

type filterNode interface {
	eval(get func(field string) (any, bool)) bool
}

type (
	andNode  struct{ l, r filterNode }
	orNode   struct{ l, r filterNode }
	notNode  struct{ x filterNode }
	compNode struct {
		field, op string
		val       any // int64, string, bool or nil
	}
)

func (n andNode) eval(g func(string) (any, bool)) bool { return n.l.eval(g) && n.r.eval(g) }
func (n orNode) eval(g func(string) (any, bool)) bool  { return n.l.eval(g) || n.r.eval(g) }
func (n notNode) eval(g func(string) (any, bool)) bool { return !n.x.eval(g) }

func (n compNode) eval(g func(string) (any, bool)) bool {
	v, ok := g(n.field)
	if !ok {
		return false
	}
	var c int
	switch a := v.(type) {
	case int64:
		b, ok := n.val.(int64)
		if !ok {
			return n.op == "ne"
		}
		c = cmpInt(a, b)
	case string:
		b, ok := n.val.(string)
		if !ok {
			return n.op == "ne"
		}
		c = strings.Compare(strings.ToLower(a), strings.ToLower(b))
	case bool:
		b, ok := n.val.(bool)
		if !ok || (n.op != "eq" && n.op != "ne") {
			return n.op == "ne"
		}
		if a == b {
			c = 0
		} else {
			c = 1
		}
	default:
		return false
	}
	switch n.op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseODataQuery parses a query parameter value such as
// "$filter=sporttype eq 1 and eventstatus eq 'running'". fields is the set
// of field names allowed (lower case). An empty query matches everything.
func parseODataQuery(q string, fields map[string]bool) (*odataFilter, error) {
	q = strings.TrimSpace(q)
	if q == "" || strings.EqualFold(q, "$filter=") {
		return &odataFilter{}, nil
	}
	name, expr, ok := strings.Cut(q, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(name), "$filter") {
		return nil, fmt.Errorf("%w: %q: expected $filter=<expression>", errFilter, q)
	}
	toks, err := lexFilter(expr)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, fields: fields}
	root, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("%w: unexpected %q", errFilter, p.toks[p.i])
	}
	return &odataFilter{root: root}, nil
}

// Match reports whether the row (read through get) passes the filter.
func (f *odataFilter) Match(get func(field string) (any, bool)) bool {
	return f == nil || f.root == nil || f.root.eval(get)
}

func lexFilter(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '\'':
			j := i + 1
			var b strings.Builder
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("%w: unterminated string", errFilter)
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' { // '' escapes a quote
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, "'"+b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '(' && s[j] != ')' && s[j] != '\'' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("%w: empty expression", errFilter)
	}
	return toks, nil
}

type filterParser struct {
	toks   []string
	i      int
	fields map[string]bool
	depth  int
}

func (p *filterParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *filterParser) or() (filterNode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "or") {
		p.i++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *filterParser) and() (filterNode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "and") {
		p.i++
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *filterParser) unary() (filterNode, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 64 {
		return nil, fmt.Errorf("%w: nested too deeply", errFilter)
	}
	switch t := p.peek(); {
	case t == "":
		return nil, fmt.Errorf("%w: expression ends early", errFilter)
	case strings.EqualFold(t, "not"):
		p.i++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	case t == "(":
		p.i++
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("%w: missing )", errFilter)
		}
		p.i++
		return x, nil
	}
	if p.i+3 > len(p.toks) {
		return nil, fmt.Errorf("%w: incomplete comparison", errFilter)
	}
	field, op, val := strings.ToLower(p.toks[p.i]), strings.ToLower(p.toks[p.i+1]), p.toks[p.i+2]
	p.i += 3
	if !p.fields[field] {
		return nil, fmt.Errorf("%w: unknown attribute %q", errFilter, field)
	}
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
	default:
		return nil, fmt.Errorf("%w: unknown operator %q", errFilter, op)
	}
	n := compNode{field: field, op: op}
	switch {
	case strings.HasPrefix(val, "'"):
		n.val = val[1:]
	case strings.EqualFold(val, "true"), strings.EqualFold(val, "false"):
		n.val = strings.EqualFold(val, "true")
	case strings.EqualFold(val, "null"):
		n.val = nil
	default:
		x, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: bad value %q", errFilter, val)
		}
		n.val = x
	}
	return n, nil
}
