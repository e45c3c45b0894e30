package distributed

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// refs parses "c/0@1 c/1@1" into task refs.
func refs(s string) []TaskRef {
	var out []TaskRef
	for _, f := range strings.Fields(s) {
		var t TaskRef
		name, rest, _ := strings.Cut(f, "/")
		t.Connector = name
		if _, err := fmt.Sscanf(rest, "%d@%d", &t.Task, &t.Version); err != nil {
			panic(f)
		}
		out = append(out, t)
	}
	return out
}

func show(ts []TaskRef) string {
	var b []string
	for _, t := range ts {
		b = append(b, fmt.Sprintf("%s/%d@%d", t.Connector, t.Task, t.Version))
	}
	return strings.Join(b, " ")
}

func TestAssign(t *testing.T) {
	for _, tc := range []struct {
		name     string
		members  map[string]string // member -> running
		wanted   []Wanted
		assign   map[string]string // member -> assigned
		rejoin   []string
		fence    []string
		withheld int
	}{
		{
			name:    "fresh connector spreads evenly and is fenced first",
			members: map[string]string{"a": "", "b": ""},
			wanted:  []Wanted{{"c", 7, 4}},
			assign:  map[string]string{"a": "c/0@7 c/2@7", "b": "c/1@7 c/3@7"},
			fence:   []string{"c"},
		},
		{
			name:    "sticky: nothing moves when nothing changed",
			members: map[string]string{"a": "c/0@7 c/3@7", "b": "c/1@7 c/2@7"},
			wanted:  []Wanted{{"c", 7, 4}},
			assign:  map[string]string{"a": "c/0@7 c/3@7", "b": "c/1@7 c/2@7"},
		},
		{
			name:    "a dead member's tasks go to the survivors at once, without fencing",
			members: map[string]string{"a": "c/0@7 c/1@7", "b": "c/2@7"},
			wanted:  []Wanted{{"c", 7, 4}, {"d", 9, 2}},
			assign:  map[string]string{"a": "c/0@7 c/1@7 d/0@9", "b": "c/2@7 c/3@7 d/1@9"},
			fence:   []string{"d"},
		},
		{
			name:    "a joining member takes only the excess, revoked first",
			members: map[string]string{"a": "c/0@7 c/1@7 c/2@7", "b": "c/3@7 c/4@7 c/5@7", "n": ""},
			wanted:  []Wanted{{"c", 7, 6}},
			assign:  map[string]string{"a": "c/0@7 c/1@7", "b": "c/3@7 c/4@7", "n": ""},
			rejoin:  []string{"a", "b"}, withheld: 2,
		},
		{
			name:    "after the revocation the joiner gets them",
			members: map[string]string{"a": "c/0@7 c/1@7", "b": "c/3@7 c/4@7", "n": ""},
			wanted:  []Wanted{{"c", 7, 6}},
			assign:  map[string]string{"a": "c/0@7 c/1@7", "b": "c/3@7 c/4@7", "n": "c/2@7 c/5@7"},
		},
		{
			name:    "a new task set waits until every old task stopped",
			members: map[string]string{"a": "c/0@7", "b": "c/1@7"},
			wanted:  []Wanted{{"c", 12, 3}},
			assign:  map[string]string{"a": "", "b": ""},
			rejoin:  []string{"a", "b"}, withheld: 3,
		},
		{
			name:    "then starts fresh, fenced",
			members: map[string]string{"a": "", "b": ""},
			wanted:  []Wanted{{"c", 12, 3}},
			assign:  map[string]string{"a": "c/0@12 c/2@12", "b": "c/1@12"},
			fence:   []string{"c"},
		},
		{
			name:    "a stopped or deleted connector's tasks are revoked",
			members: map[string]string{"a": "c/0@7 d/0@3", "b": "c/1@7"},
			wanted:  []Wanted{{"c", 7, 2}},
			assign:  map[string]string{"a": "c/0@7", "b": "c/1@7"},
			rejoin:  []string{"a"},
		},
		{
			name:    "a task two members claim stays with one",
			members: map[string]string{"a": "c/0@7", "b": "c/0@7 c/1@7"},
			wanted:  []Wanted{{"c", 7, 2}},
			assign:  map[string]string{"a": "c/0@7", "b": "c/1@7"},
			rejoin:  []string{"b"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ms []MemberTasks
			for id, run := range tc.members {
				ms = append(ms, MemberTasks{ID: id, Running: refs(run)})
			}
			p := assign(ms, tc.wanted)
			for id, want := range tc.assign {
				if got := show(p.Assign[id]); got != want {
					t.Errorf("member %s assigned %q, want %q", id, got, want)
				}
			}
			var rejoin []string
			for id, r := range p.Rejoin {
				if r {
					rejoin = append(rejoin, id)
				}
			}
			slices.Sort(rejoin)
			if fmt.Sprint(rejoin) != fmt.Sprint(tc.rejoin) && !(len(rejoin) == 0 && len(tc.rejoin) == 0) {
				t.Errorf("rejoin %v, want %v", rejoin, tc.rejoin)
			}
			if fmt.Sprint(p.Fence) != fmt.Sprint(tc.fence) && !(len(p.Fence) == 0 && len(tc.fence) == 0) {
				t.Errorf("fence %v, want %v", p.Fence, tc.fence)
			}
			if p.Withheld != tc.withheld {
				t.Errorf("withheld %d, want %d", p.Withheld, tc.withheld)
			}
		})
	}
}
