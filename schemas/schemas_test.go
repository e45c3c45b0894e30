package schemas

import "testing"

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
