package avroreg

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/schemas"
	"github.com/twmb/franz-go/pkg/sr"
)

// These tests run against the real registry (testenv.Registry: the local
// Apicurio 3.0.9 through its Confluent-compatible API) and show that it
// keeps the per-subject level the serializer sets and enforces it.

func realRegistry(t *testing.T) (*sr.Client, string) {
	t.Helper()
	url := testenv.Registry(t)
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatal(err)
	}
	return cl, url
}

func versions(t *testing.T, cl *sr.Client, subject string) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	vs, err := cl.SubjectVersions(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestRealRegistryEnforcesBackwardPerSubject(t *testing.T) {
	cl, url := realRegistry(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic := testenv.UniqueName(t, "avroreg-")
	subject := Subject(topic)
	ser := NewSerializer(cl)

	const v1 = `{"type":"record","name":"R","namespace":"t","doc":"d","fields":[
		{"name":"a","type":"string","doc":"d"},
		{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"d"}]}`
	if err := ser.Register(ctx, topic, avro.MustParse(v1)); err != nil {
		t.Fatal(err)
	}
	id, _ := ser.ID(topic)
	// Every start registers again: the same text is the same version.
	if err := NewSerializer(cl).Register(ctx, topic, avro.MustParse(v1)); err != nil {
		t.Fatal(err)
	}
	if vs := versions(t, cl, subject); len(vs) != 1 {
		t.Fatalf("%s holds versions %v after registering the same schema twice, want 1", subject, vs)
	}
	if ss, err := cl.SchemaByVersion(ctx, subject, -1); err != nil || ss.ID != id || !strings.Contains(ss.Schema.Schema, `"doc":"d"`) {
		t.Fatalf("latest of %s: %+v, %v; want id %d, with its docs", subject, ss, err, id)
	}
	// The level reads back, through the client and on the wire.
	if l := subjectLevel(t, cl, subject); l != sr.CompatBackward {
		t.Fatalf("%s: level %s after Register, want BACKWARD", subject, l)
	}
	resp, err := http.Get(url + "/config/" + subject)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("GET /config/%s: %d %s", subject, resp.StatusCode, body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"BACKWARD"`) {
		t.Fatalf("GET /config/%s answered %d %s", subject, resp.StatusCode, body)
	}

	// A new field without a default cannot read the data already written:
	// refused, with the subject and the registry's words.
	const noDefault = `{"type":"record","name":"R","namespace":"t","doc":"d","fields":[
		{"name":"a","type":"string","doc":"d"},
		{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"d"},
		{"name":"b","type":"int","doc":"d"}]}`
	err = ser.Register(ctx, topic, avro.MustParse(noDefault))
	var inc *IncompatibleError
	if !errors.As(err, &inc) {
		t.Fatalf("incompatible schema: error %v (%T), want an *IncompatibleError", err, err)
	}
	t.Logf("refused: %v", err)
	if inc.Subject != subject || inc.Level != sr.CompatBackward || inc.Message == "" ||
		!strings.Contains(err.Error(), "subject "+subject) || !strings.Contains(err.Error(), inc.Message) {
		t.Fatalf("refusal %+v does not name the subject and the registry's message: %v", inc, err)
	}
	if vs := versions(t, cl, subject); len(vs) != 1 {
		t.Fatalf("%s holds versions %v after the refusal, want 1", subject, vs)
	}

	// The same field with a default is compatible: registered.
	withDefault := strings.Replace(noDefault, `{"name":"b","type":"int","doc":"d"}`, `{"name":"b","type":"int","default":0,"doc":"d"}`, 1)
	if err := ser.Register(ctx, topic, avro.MustParse(withDefault)); err != nil {
		t.Fatalf("compatible schema refused: %v", err)
	}
	if vs := versions(t, cl, subject); len(vs) != 2 {
		t.Fatalf("%s holds versions %v, want 2", subject, vs)
	}
}

// TestRealRegistryTakesTheV1SchemasOverV0 upgrades every subject the way a
// running deployment is upgraded: the pre-1.0 worker registered the v0
// schemas (schemas/testdata/v0) in their canonical form, as it did; the
// new worker registers the current ones. Every one must be accepted under
// BACKWARD. Registering the canonical form, as before, would be refused:
// it drops ts_micros' default.
func TestRealRegistryTakesTheV1SchemasOverV0(t *testing.T) {
	cl, _ := realRegistry(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ser := NewSerializer(cl)
	v0dir := filepath.Join("..", "..", "schemas", "testdata", "v0")
	ents, err := os.ReadDir(v0dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".avsc") {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(v0dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			old, err := avro.ParseWithCache(string(src), "", &avro.SchemaCache{})
			if err != nil {
				t.Fatal(err)
			}
			topic := testenv.UniqueName(t, "avroreg-upgrade-")
			if _, err := cl.CreateSchema(ctx, Subject(topic), sr.Schema{Schema: old.String(), Type: sr.TypeAvro}); err != nil {
				t.Fatal(err)
			}
			cur := schemas.MustParse(e.Name())
			if e.Name() == "roanuz_ball_update.avsc" {
				// The old way of registering, canonical form, on a
				// BACKWARD subject: ts_micros without its default.
				if _, err := EnsureBackward(ctx, cl, Subject(topic)); err != nil {
					t.Fatal(err)
				}
				_, err := cl.CreateSchema(ctx, Subject(topic), sr.Schema{Schema: cur.String(), Type: sr.TypeAvro})
				if err == nil {
					t.Fatal("the canonical form (no defaults) was accepted over v0; this test no longer shows why Register sends the full schema")
				}
				t.Logf("canonical form refused, as expected: %v", err)
			}
			if err := ser.Register(ctx, topic, cur); err != nil {
				t.Fatalf("the current %s is refused over v0: %v", e.Name(), err)
			}
			if vs := versions(t, cl, Subject(topic)); len(vs) != 2 {
				t.Fatalf("versions %v, want 2", vs)
			}
		})
	}
}
