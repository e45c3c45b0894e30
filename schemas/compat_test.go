package schemas

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
)

// baseline is the release baseline every current schema is checked
// against (testdata/README.md).
const baseline = "testdata/v1"

// unreleased are the schemas not in the baseline yet: they join it with
// the release that first ships them. Any other schema without a baseline
// fails the test (a rename would otherwise slip through as a new schema).
var unreleased []string

// compatProblems returns why data written with writer (the baseline) cannot
// be read as intended with reader (the current schema): the Avro schema
// resolution check (BACKWARD: the new reader reads the old writer's data,
// as the registry checks it), plus two rules of ours that resolution lets
// through:
//
//   - a logicalType that changes (or appears, or goes) at the same place is
//     a break: the bytes resolve, but a timestamp-micros value read as
//     timestamp-millis is 1000 times off;
//   - a baseline field without a default must not be removed: a reader
//     still on the baseline (a compiled Kafka Streams or Flink job) has
//     nothing to fill it with when it meets the new data.
func compatProblems(reader, writer avro.Schema) []string {
	var out []string
	// A fresh checker each time: it caches results by fingerprint, and a
	// fingerprint leaves out defaults and docs.
	if err := avro.NewSchemaCompatibility().Compatible(reader, writer); err != nil {
		out = append(out, "not backward compatible: "+err.Error())
	}
	w := &pairWalk{seen: map[[2]string]bool{}}
	w.walk("", reader, writer)
	return append(out, w.out...)
}

// pairWalk walks a reader and a writer schema side by side.
type pairWalk struct {
	seen map[[2]string]bool // record pairs already walked (recursive types)
	out  []string
}

func deref(s avro.Schema) avro.Schema {
	if r, ok := s.(*avro.RefSchema); ok {
		return r.Schema()
	}
	return s
}

// branchKey names a union branch for matching reader to writer: the type,
// and the name of a named type.
func branchKey(s avro.Schema) string {
	s = deref(s)
	if n, ok := s.(avro.NamedSchema); ok {
		return string(s.Type()) + ":" + n.FullName()
	}
	return string(s.Type())
}

func logicalOf(s avro.Schema) string {
	l, ok := deref(s).(avro.LogicalTypeSchema)
	if !ok || l.Logical() == nil {
		return "none"
	}
	if d, ok := l.Logical().(*avro.DecimalLogicalSchema); ok {
		return fmt.Sprintf("decimal(%d,%d)", d.Precision(), d.Scale())
	}
	return string(l.Logical().Type())
}

func (w *pairWalk) walk(path string, r, wr avro.Schema) {
	r, wr = deref(r), deref(wr)
	ru, rIsU := r.(*avro.UnionSchema)
	wu, wIsU := wr.(*avro.UnionSchema)
	switch {
	case rIsU && wIsU:
		for _, wb := range wu.Types() {
			if rb := findBranch(ru, wb); rb != nil {
				w.walk(path, rb, wb)
			}
		}
		return
	case rIsU:
		if rb := findBranch(ru, wr); rb != nil {
			w.walk(path, rb, wr)
		}
		return
	case wIsU:
		for _, wb := range wu.Types() {
			if branchKey(wb) == branchKey(r) {
				w.walk(path, r, wb)
			}
		}
		return
	}
	if r.Type() != wr.Type() {
		return // a type change: the resolution check speaks for it
	}
	if lr, lw := logicalOf(r), logicalOf(wr); lr != lw {
		w.out = append(w.out, fmt.Sprintf("%s: logicalType changed from %s to %s (values would be misread)", orTop(path), lw, lr))
	}
	switch rs := r.(type) {
	case *avro.RecordSchema:
		ws := wr.(*avro.RecordSchema)
		k := [2]string{rs.String(), ws.String()}
		if w.seen[k] {
			return
		}
		w.seen[k] = true
		for _, wf := range ws.Fields() {
			rf := findField(rs, wf)
			if rf == nil {
				if !wf.HasDefault() {
					w.out = append(w.out, fmt.Sprintf("%s: removed, and it has no default in the baseline (a baseline reader cannot read the new data)", join(path, wf.Name())))
				}
				continue
			}
			w.walk(join(path, wf.Name()), rf.Type(), wf.Type())
		}
	case *avro.ArraySchema:
		w.walk(path+"[]", rs.Items(), wr.(*avro.ArraySchema).Items())
	case *avro.MapSchema:
		w.walk(path+"{}", rs.Values(), wr.(*avro.MapSchema).Values())
	}
}

func findBranch(u *avro.UnionSchema, s avro.Schema) avro.Schema {
	k := branchKey(s)
	for _, b := range u.Types() {
		if branchKey(b) == k {
			return b
		}
	}
	return nil
}

// findField returns the reader's field for the writer's field wf: by name,
// or by a reader alias naming it.
func findField(r *avro.RecordSchema, wf *avro.Field) *avro.Field {
	for _, f := range r.Fields() {
		if f.Name() == wf.Name() || slices.Contains(f.Aliases(), wf.Name()) {
			return f
		}
	}
	return nil
}

func parseFile(t *testing.T, path string) avro.Schema {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := avro.ParseWithCache(string(b), "", &avro.SchemaCache{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

func baselineNames(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.avsc"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no baseline schemas in %s (%v)", dir, err)
	}
	var out []string
	for _, p := range m {
		out = append(out, filepath.Base(p))
	}
	sort.Strings(out)
	return out
}

// TestCurrentSchemasAgainstBaseline checks every current schema against
// its release baseline: data written with the baseline must be readable,
// values unchanged, with the current schema. It is what lets the worker
// register the current schemas under BACKWARD on subjects that hold the
// baseline.
func TestCurrentSchemasAgainstBaseline(t *testing.T) {
	base := baselineNames(t, baseline)
	for _, n := range base {
		if !slices.Contains(Names(), n) {
			t.Errorf("%s is in the baseline %s but no longer embedded: a removed schema strands its topic's readers", n, baseline)
		}
	}
	for _, n := range Names() {
		t.Run(n, func(t *testing.T) {
			if !slices.Contains(base, n) {
				if !slices.Contains(unreleased, n) {
					t.Fatalf("%s has no baseline in %s and is not listed as unreleased", n, baseline)
				}
				t.Skipf("%s is unreleased: no baseline yet", n)
			}
			for _, p := range compatProblems(MustParse(n), parseFile(t, filepath.Join(baseline, n))) {
				t.Errorf("%s against %s: %s", n, baseline, p)
			}
		})
	}
}

// TestV0ToV1BreaksAreTheListedUnits checks that the pre-1.0 schemas
// (testdata/v0) differ from the baseline v1 exactly by the unit changes
// testdata/README.md lists (timestamp-micros to timestamp-millis), and
// that the checker catches each of them.
func TestV0ToV1BreaksAreTheListedUnits(t *testing.T) {
	want := map[string][]string{
		"imgarena_action.avsc":    {"event_time", "received_at"},
		"imgarena_status.avsc":    {"event_time", "received_at"},
		"roanuz_ball.avsc":        {"detail.entry_time", "detail.updated_time"},
		"roanuz_ball_update.avsc": {"ts", "detail.entry_time", "detail.updated_time"},
		"roanuz_match_event.avsc": {"ts"},
		"saba_event.avsc":         {"received_at"},
		"saba_market.avsc":        {"received_at"},
	}
	readme, err := os.ReadFile("testdata/README.md")
	if err != nil {
		t.Fatal(err)
	}
	// v1 adds the normalized schemas, which v0 did not have; every v0
	// schema is in v1.
	v1 := baselineNames(t, "testdata/v1")
	for _, n := range baselineNames(t, "testdata/v0") {
		if !slices.Contains(v1, n) {
			t.Fatalf("v0's %s is not in v1 (%v): a schema was dropped", n, v1)
		}
	}
	for _, n := range baselineNames(t, "testdata/v0") {
		var got []string
		for _, p := range compatProblems(parseFile(t, filepath.Join("testdata/v1", n)), parseFile(t, filepath.Join("testdata/v0", n))) {
			field, rest, _ := strings.Cut(p, ": ")
			if rest != "logicalType changed from timestamp-micros to timestamp-millis (values would be misread)" {
				t.Errorf("%s v0 -> v1: unexpected %s", n, p)
				continue
			}
			got = append(got, field)
		}
		sort.Strings(got)
		exp := slices.Clone(want[n])
		sort.Strings(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("%s v0 -> v1: unit changes %v, want %v", n, got, exp)
		}
		for _, f := range exp {
			if !strings.Contains(string(readme), "| "+n+" | "+f+" |") {
				t.Errorf("testdata/README.md does not list %s %s", n, f)
			}
		}
	}
}

// TestCompatProblemsCatchesBreaks proves the checker can fail: each
// mutation of a schema that reaches into nested records, arrays, maps and
// unions is checked as the new reader against the original as writer.
func TestCompatProblemsCatchesBreaks(t *testing.T) {
	const orig = `{"type":"record","name":"R","namespace":"t","doc":"d","fields":[
		{"name":"id","type":"string","doc":"d"},
		{"name":"n","type":"int","doc":"d"},
		{"name":"note","type":"string","default":"","doc":"d"},
		{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"d"},
		{"name":"count","type":"long","doc":"d"},
		{"name":"kind","type":{"type":"enum","name":"K","doc":"d","symbols":["A","B","OTHER"],"default":"OTHER"},"doc":"d"},
		{"name":"op","type":{"type":"enum","name":"Op","doc":"d","symbols":["add","remove"]},"doc":"d"},
		{"name":"items","type":{"type":"array","items":{"type":"record","name":"Item","doc":"d","fields":[
			{"name":"tags","type":{"type":"map","values":["null",{"type":"record","name":"Tag","doc":"d","fields":[
				{"name":"v","type":"string","doc":"d"},
				{"name":"when","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null,"doc":"d"}
			]}]},"doc":"d"}
		]}},"doc":"d"}
	]}`
	cases := []struct {
		name, from, to string
		want           string // "" for compatible, else a substring of the one problem expected
	}{
		{"unchanged", "", "", ""},
		{"field added with a default", `{"name":"id","type":"string","doc":"d"},`, `{"name":"id","type":"string","doc":"d"},{"name":"new","type":["null","string"],"default":null,"doc":"d"},`, ""},
		{"field removed that had a default", `{"name":"note","type":"string","default":"","doc":"d"},`, ``, ""},
		{"int promoted to long", `{"name":"n","type":"int","doc":"d"}`, `{"name":"n","type":"long","doc":"d"}`, ""},
		{"enum symbol added", `"symbols":["add","remove"]`, `"symbols":["add","remove","reset"]`, ""},
		{"enum symbol removed, the enum has a default", `"symbols":["A","B","OTHER"]`, `"symbols":["A","OTHER"]`, ""},
		{"field renamed with an alias", `{"name":"id","type":"string","doc":"d"}`, `{"name":"key","aliases":["id"],"type":"string","doc":"d"}`, ""},
		{"doc changed", `{"name":"id","type":"string","doc":"d"}`, `{"name":"id","type":"string","doc":"other words"}`, ""},

		{"field added without a default", `{"name":"id","type":"string","doc":"d"},`, `{"name":"id","type":"string","doc":"d"},{"name":"new","type":"string","doc":"d"},`, "reader field new is missing in writer schema and has no default"},
		{"field removed without a default", `{"name":"n","type":"int","doc":"d"},`, ``, "n: removed, and it has no default"},
		{"type changed", `{"name":"n","type":"int","doc":"d"}`, `{"name":"n","type":"string","doc":"d"}`, "not backward compatible"},
		{"long narrowed to int", `{"name":"count","type":"long","doc":"d"}`, `{"name":"count","type":"int","doc":"d"}`, "not backward compatible"},
		{"logicalType changed", `"timestamp-millis"},"doc":"d"`, `"timestamp-micros"},"doc":"d"`, "at: logicalType changed"},
		{"logicalType added to a plain long", `{"name":"count","type":"long","doc":"d"}`, `{"name":"count","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"d"}`, "count: logicalType changed"},
		{"logicalType changed deep in array, map, union", `"timestamp-millis"}],"default":null`, `"timestamp-micros"}],"default":null`, "items[].tags{}.when: logicalType changed"},
		{"enum symbol removed, no default", `"symbols":["add","remove"]`, `"symbols":["add"]`, "missing symbol remove"},
		{"record renamed", `"name":"Tag","doc":"d"`, `"name":"Label","doc":"d"`, "not backward compatible"},
		{"nested field type changed", `{"name":"v","type":"string","doc":"d"}`, `{"name":"v","type":"int","doc":"d"}`, "not backward compatible"},
		{"union branch dropped", `["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null`, `"null","default":null`, "not backward compatible"},
	}
	writer, err := avro.ParseWithCache(orig, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reader := mutated(t, orig, c.from, c.to)
			got := compatProblems(reader, writer)
			switch {
			case c.want == "" && len(got) > 0:
				t.Fatalf("compatible change reported: %q", got)
			case c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)):
				t.Fatalf("problems %q, want one with %q", got, c.want)
			}
		})
	}
}
