package schemas

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
)

// The rules every schema keeps, for the readers downstream (ksqlDB, Flink,
// Kafka Streams) as much as for this connector:
//
//   - every field, at any depth (nested records, arrays, maps, unions), and
//     every named type has a doc;
//   - an instant is {"type":"long","logicalType":"timestamp-millis"}: no
//     timestamp-micros, no local-timestamp-*, no time-micros (a value with
//     sub-millisecond meaning is its own plain long field, say so in its
//     doc, e.g. roanuz ts_micros);
//   - every enum has a default (Avro 1.9+), the symbol a reader gets for a
//     symbol added after its schema.

// offLogicalTypes are the logical types the time convention rules out.
var offLogicalTypes = []string{"timestamp-micros", "local-timestamp-micros", "local-timestamp-millis", "time-micros"}

// ruleProblems walks s and returns every place that breaks a rule, each
// naming the field by its path from the top record (a[] for the items of
// an array, a{} for the values of a map).
func ruleProblems(s avro.Schema) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(path string, s avro.Schema)
	named := func(path string, n avro.NamedSchema, doc string) bool {
		if seen[n.FullName()] {
			return false
		}
		seen[n.FullName()] = true
		if strings.TrimSpace(doc) == "" {
			out = append(out, fmt.Sprintf("%s %s (at %s) has no doc", n.Type(), n.FullName(), orTop(path)))
		}
		return true
	}
	logical := func(path string, l avro.LogicalSchema) {
		if l != nil && slices.Contains(offLogicalTypes, string(l.Type())) {
			out = append(out, fmt.Sprintf("%s is %s: instants are timestamp-millis", orTop(path), l.Type()))
		}
	}
	walk = func(path string, s avro.Schema) {
		switch s := s.(type) {
		case *avro.RefSchema:
			// A use of a named type defined (and walked) elsewhere.
		case *avro.RecordSchema:
			if !named(path, s, s.Doc()) {
				return
			}
			for _, f := range s.Fields() {
				p := join(path, f.Name())
				if strings.TrimSpace(f.Doc()) == "" {
					out = append(out, fmt.Sprintf("field %s has no doc", p))
				}
				walk(p, f.Type())
			}
		case *avro.EnumSchema:
			if !named(path, s, s.Doc()) {
				return
			}
			if !s.HasDefault() {
				out = append(out, fmt.Sprintf("enum %s (at %s) has no default", s.FullName(), orTop(path)))
			}
		case *avro.FixedSchema:
			if named(path, s, "-") { // fixed has no doc in hamba; only its logical type is checked
				logical(path, s.Logical())
			}
		case *avro.UnionSchema:
			for _, t := range s.Types() {
				walk(path, t)
			}
		case *avro.ArraySchema:
			walk(path+"[]", s.Items())
		case *avro.MapSchema:
			walk(path+"{}", s.Values())
		case *avro.PrimitiveSchema:
			logical(path, s.Logical())
		}
	}
	walk("", s)
	return out
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func orTop(path string) string {
	if path == "" {
		return "the top"
	}
	return path
}

// TestEverySchemaKeepsTheRules walks every embedded schema.
func TestEverySchemaKeepsTheRules(t *testing.T) {
	for _, n := range Names() {
		t.Run(n, func(t *testing.T) {
			for _, p := range ruleProblems(MustParse(n)) {
				t.Errorf("%s: %s", n, p)
			}
		})
	}
}

// TestRuleProblemsFindsEveryBreak proves the walk reaches every corner: each
// case breaks one rule somewhere deep and must be named by its path.
func TestRuleProblemsFindsEveryBreak(t *testing.T) {
	const tmpl = `{"type":"record","name":"R","namespace":"t","doc":"top","fields":[
		{"name":"id","type":"string","doc":"id"},
		{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"at"},
		{"name":"kind","type":{"type":"enum","name":"K","doc":"kinds","symbols":["A","OTHER"],"default":"OTHER"},"doc":"kind"},
		{"name":"items","type":{"type":"array","items":{"type":"record","name":"Item","doc":"item","fields":[
			{"name":"tags","type":{"type":"map","values":["null",{"type":"record","name":"Tag","doc":"tag","fields":[
				{"name":"v","type":"string","doc":"v"},
				{"name":"when","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null,"doc":"when"}
			]}]},"doc":"tags"}
		]}},"doc":"items"},
		{"name":"again","type":["null","Item"],"default":null,"doc":"a second use of Item"}
	]}`
	cases := []struct {
		name, from, to, want string
	}{
		{"clean", "", "", ""},
		{"top field without doc", `{"name":"id","type":"string","doc":"id"}`, `{"name":"id","type":"string"}`, "field id has no doc"},
		{"field deep in array, map and union without doc", `{"name":"v","type":"string","doc":"v"}`, `{"name":"v","type":"string","doc":" "}`, "field items[].tags{}.v has no doc"},
		{"micros at the top", `"timestamp-millis"},"doc":"at"`, `"timestamp-micros"},"doc":"at"`, "at is timestamp-micros"},
		{"micros deep in a union", `"timestamp-millis"}],"default":null,"doc":"when"`, `"timestamp-micros"}],"default":null,"doc":"when"`, "items[].tags{}.when is timestamp-micros"},
		{"local timestamp", `"timestamp-millis"},"doc":"at"`, `"local-timestamp-millis"},"doc":"at"`, "at is local-timestamp-millis"},
		{"enum without default", `"symbols":["A","OTHER"],"default":"OTHER"`, `"symbols":["A","OTHER"]`, "enum t.K (at kind) has no default"},
		{"nested record without doc", `"name":"Tag","doc":"tag",`, `"name":"Tag",`, "record t.Tag (at items[].tags{}) has no doc"},
		{"enum without doc", `"name":"K","doc":"kinds",`, `"name":"K",`, "enum t.K (at kind) has no doc"},
		{"top record without doc", `"namespace":"t","doc":"top",`, `"namespace":"t",`, "record t.R (at the top) has no doc"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mutated(t, tmpl, c.from, c.to)
			got := ruleProblems(s)
			switch {
			case c.want == "" && len(got) != 0:
				t.Fatalf("problems %q in a clean schema", got)
			case c.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], c.want)):
				t.Fatalf("problems %q, want exactly one, %q", got, c.want)
			}
		})
	}
}
