package flinktest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/seed-474f70f7/sportsconnect/schemas"
)

// TestSQLReaderSchemaIsLiveEvent checks the Avro reader schema that
// live_events.sql gives Flink against schemas/live_event.avsc: the same
// record, each of its fields one of the real schema's with the same type,
// and able to read what the connector writes. A change to the real schema
// that the SQL does not follow fails here, without services. (That the
// columns match the reader schema, Flink checks when it plans the job.)
func TestSQLReaderSchemaIsLiveEvent(t *testing.T) {
	sql, err := os.ReadFile(filepath.Join(exampleDir, "live_events.sql"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)'value\.avro-confluent\.schema'\s*=\s*'([^']*)'`).FindSubmatch(sql)
	if m == nil {
		t.Fatal("live_events.sql sets no 'value.avro-confluent.schema'")
	}
	reader, err := avro.Parse(string(m[1]))
	if err != nil {
		t.Fatalf("live_events.sql's reader schema does not parse: %v", err)
	}
	writer, err := schemas.Parse("live_event.avsc")
	if err != nil {
		t.Fatal(err)
	}
	rr, wr := reader.(*avro.RecordSchema), writer.(*avro.RecordSchema)
	if rr.FullName() != wr.FullName() {
		t.Errorf("reader schema %s, want %s", rr.FullName(), wr.FullName())
	}
	fields := map[string]*avro.Field{}
	for _, f := range wr.Fields() {
		fields[f.Name()] = f
	}
	for _, f := range rr.Fields() {
		w, ok := fields[f.Name()]
		if !ok {
			t.Errorf("reader field %s is not in live_event.avsc", f.Name())
			continue
		}
		if f.Type().String() != w.Type().String() {
			t.Errorf("reader field %s is %s, live_event.avsc has %s", f.Name(), f.Type(), w.Type())
		}
		if w.HasDefault() != f.HasDefault() {
			t.Errorf("reader field %s: default %v, live_event.avsc: %v", f.Name(), f.HasDefault(), w.HasDefault())
		}
	}
	if err := avro.NewSchemaCompatibility().Compatible(reader, writer); err != nil {
		t.Errorf("the reader schema cannot read live_event.avsc records: %v", err)
	}
}
