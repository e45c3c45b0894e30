// Package schemas holds the Avro schemas of every record the connector
// writes, as .avsc files embedded in the binary. Each file is one
// self-contained record schema, named after the file:
// synthetic_event.avsc holds sportsconnect.synthetic.Event.
package schemas

import (
	"embed"
	"fmt"
	"sort"
	"strings"

	"github.com/hamba/avro/v2"
)

//go:embed *.avsc
var files embed.FS

// Source returns the text of the schema file name (e.g. "synthetic_event.avsc").
func Source(name string) (string, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("schema %s: %w", name, err)
	}
	return string(b), nil
}

// Parse parses the schema file name.
func Parse(name string) (avro.Schema, error) {
	src, err := Source(name)
	if err != nil {
		return nil, err
	}
	s, err := avro.ParseWithCache(src, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("parsing schema %s: %w", name, err)
	}
	return s, nil
}

// MustParse parses the schema file name and panics if it does not parse;
// for package-level use with the embedded files, which tests parse.
func MustParse(name string) avro.Schema {
	s, err := Parse(name)
	if err != nil {
		panic(err)
	}
	return s
}

// Names lists the embedded schema files, sorted.
func Names() []string {
	ents, _ := files.ReadDir(".")
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".avsc") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}
