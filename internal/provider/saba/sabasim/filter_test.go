package sabasim

import (
	"testing"
)

func TestODataFilter(t *testing.T) {
	row := map[string]any{"sporttype": int64(1), "bettype": int64(5), "eventid": int64(10001), "leagueid": int64(104)}
	get := func(f string) (any, bool) { v, ok := row[f]; return v, ok }
	cases := []struct {
		q        string
		ok, want bool
	}{
		{"", true, true},
		{"$filter=sporttype eq 1", true, true},
		{"$filter=SportType eq 2", true, false},
		{"$filter=sporttype eq 1 and bettype eq 5", true, true},
		{"$filter=sporttype eq 2 or bettype ge 5", true, true},
		{"$filter=not (sporttype eq 1)", true, false},
		{"$filter=(sporttype eq 2 or sporttype eq 1) and eventid gt 10000", true, true},
		{"$filter=eventid lt 10000", true, false},
		{"$filter=sporttype eq 'x'", true, false},
		{"$filter=sporttype ne 'x'", true, true},
		{"$filter=sporttype", false, false},
		{"$filter=sporttype eq", false, false},
		{"$filter=colour eq 1", false, false},
		{"$filter=sporttype like 1", false, false},
		{"$filter=sporttype eq 1 and", false, false},
		{"$filter=(sporttype eq 1", false, false},
		{"$filter=sporttype eq 'open", false, false},
		{"$filter=sporttype eq 1.5", false, false},
		{"sporttype eq 1", false, false},
		{"$orderby=sporttype", false, false},
	}
	for _, c := range cases {
		f, err := parseODataQuery(c.q, marketFields)
		if (err == nil) != c.ok {
			t.Errorf("%q: err %v, want ok=%v", c.q, err, c.ok)
			continue
		}
		if err == nil && f.Match(get) != c.want {
			t.Errorf("%q: match %v, want %v", c.q, !c.want, c.want)
		}
	}
}

func FuzzODataQuery(f *testing.F) {
	for _, s := range []string{"$filter=sporttype eq 1", "$filter=not (a eq 'b''c') or bettype le -3", "$filter=((((", ""} {
		f.Add(s)
	}
	row := func(string) (any, bool) { return int64(1), true }
	f.Fuzz(func(t *testing.T, q string) {
		fl, err := parseODataQuery(q, marketFields)
		if err == nil {
			fl.Match(row)
		}
	})
}
