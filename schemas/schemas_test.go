package schemas

import (
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
)

func TestEveryEmbeddedSchemaParses(t *testing.T) {
	names := Names()
	if len(names) == 0 {
		t.Fatal("no embedded schemas")
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			s, err := Parse(n)
			if err != nil {
				t.Fatal(err)
			}
			if s.Type() != "record" {
				t.Fatalf("%s: type %s, want record", n, s.Type())
			}
		})
	}
}

func TestParseUnknown(t *testing.T) {
	if _, err := Parse("nope.avsc"); err == nil {
		t.Fatal("expected an error for a missing schema")
	}
}

// mutated parses src with its one occurrence of from replaced by to (src
// itself when from is empty), for tests that break a schema on purpose.
func mutated(t *testing.T, src, from, to string) avro.Schema {
	t.Helper()
	if from != "" {
		if strings.Count(src, from) != 1 {
			t.Fatalf("mutation %q does not apply once", from)
		}
		src = strings.Replace(src, from, to, 1)
	}
	s, err := avro.ParseWithCache(src, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
