package avroreg

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// The registry side of schema evolution, on srfake (what make demo and the
// quick tests run on). srfake stores the per-subject level but never checks
// a registration against it; registry_test.go shows the real registry
// enforcing it.

const schemaDocumented = `{"type":"record","name":"R","namespace":"t","doc":"a record","fields":[
	{"name":"a","type":"string","doc":"field a"},
	{"name":"b","type":"long","doc":"field b"},
	{"name":"k","type":{"type":"enum","name":"K","symbols":["X","OTHER"],"default":"OTHER"},"doc":"kind"},
	{"name":"c","type":["null","string"],"default":null,"doc":"field c"}]}`

func fakeRegistry(t *testing.T, opts ...srfake.Option) (*srfake.Registry, *sr.Client) {
	t.Helper()
	reg := srfake.New(opts...)
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return reg, cl
}

func subjectLevel(t *testing.T, cl *sr.Client, subject string) sr.CompatibilityLevel {
	t.Helper()
	r := cl.Compatibility(context.Background(), subject)
	if len(r) != 1 || r[0].Err != nil {
		t.Fatalf("reading the compatibility of %s: %+v", subject, r)
	}
	return r[0].Level
}

func TestRegisterSetsBackwardAndKeepsDocsAndDefaults(t *testing.T) {
	ctx := context.Background()
	reg, cl := fakeRegistry(t, srfake.WithGlobalCompat(sr.CompatNone))
	ser := NewSerializer(cl)
	if err := ser.Register(ctx, "topic.x", avro.MustParse(schemaDocumented)); err != nil {
		t.Fatal(err)
	}
	if l := subjectLevel(t, cl, "topic.x-value"); l != sr.CompatBackward {
		t.Fatalf("subject level %s after Register, want BACKWARD", l)
	}
	got, ok := reg.GetSchema("topic.x-value", 1)
	if !ok {
		t.Fatal("nothing registered")
	}
	// The registry holds the schema in full: downstream readers see the
	// docs, and the registry's checks see the defaults.
	for _, want := range []string{`"doc":"field a"`, `"doc":"a record"`, `"default":null`, `"default":"OTHER"`} {
		if !strings.Contains(got.Schema.Schema, want) {
			t.Errorf("registered schema lacks %s: %s", want, got.Schema.Schema)
		}
	}
	// What was registered reads back as the same schema.
	back, err := avro.Parse(got.Schema.Schema)
	if err != nil || back.Fingerprint() != avro.MustParse(schemaDocumented).Fingerprint() {
		t.Fatalf("registered text parses to another schema (%v): %s", err, got.Schema.Schema)
	}
}

func TestRegisterKeepsAStricterLevel(t *testing.T) {
	reg, cl := fakeRegistry(t)
	if err := reg.SetCompat("topic.x-value", sr.CompatFullTransitive); err != nil {
		t.Fatal(err)
	}
	if err := NewSerializer(cl).Register(context.Background(), "topic.x", avro.MustParse(schemaA)); err != nil {
		t.Fatal(err)
	}
	if l := subjectLevel(t, cl, "topic.x-value"); l != sr.CompatFullTransitive {
		t.Fatalf("subject level %s, want FULL_TRANSITIVE kept", l)
	}
}

// refuseConfigPut makes the registry refuse PUT /config/{subject}, as one
// without per-subject config, or without the permission, would; it counts
// the refusals.
func refuseConfigPut(reg *srfake.Registry) *atomic.Int32 {
	var n atomic.Int32
	reg.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/config/") {
			n.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error_code":40301,"message":"User is denied operation Write on Subject"}`))
			return true
		}
		return false
	})
	return &n
}

func TestRegisterWhenTheLevelCannotBeSet(t *testing.T) {
	ctx := context.Background()
	t.Run("the global level checks backward: go on", func(t *testing.T) {
		reg, cl := fakeRegistry(t, srfake.WithGlobalCompat(sr.CompatBackward))
		refused := refuseConfigPut(reg)
		if err := NewSerializer(cl).Register(ctx, "topic.x", avro.MustParse(schemaA)); err != nil {
			t.Fatalf("registration refused although the registry checks BACKWARD: %v", err)
		}
		if refused.Load() != 1 {
			t.Fatalf("%d refused PUT /config, want 1", refused.Load())
		}
	})
	t.Run("nothing checks: refuse to register", func(t *testing.T) {
		reg, cl := fakeRegistry(t, srfake.WithGlobalCompat(sr.CompatNone))
		refuseConfigPut(reg)
		err := NewSerializer(cl).Register(ctx, "topic.x", avro.MustParse(schemaA))
		if err == nil {
			t.Fatal("registered on a subject nothing checks")
		}
		for _, want := range []string{"topic.x-value", "User is denied operation Write", "its level is NONE"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if reg.SubjectExists("topic.x-value") {
			t.Error("the schema was registered anyway")
		}
	})
}

func TestRegisterIncompatibleNamesSubjectAndRegistryMessage(t *testing.T) {
	reg, cl := fakeRegistry(t)
	const msg = "Schema being registered is incompatible with an earlier schema for subject \"topic.x-value\""
	reg.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/versions") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error_code":409,"message":"` + strings.ReplaceAll(msg, `"`, `\"`) + `"}`))
			return true
		}
		return false
	})
	err := NewSerializer(cl).Register(context.Background(), "topic.x", avro.MustParse(schemaA))
	var inc *IncompatibleError
	if !errors.As(err, &inc) {
		t.Fatalf("error %v (%T), want an *IncompatibleError", err, err)
	}
	if inc.Subject != "topic.x-value" || inc.Level != sr.CompatBackward || inc.Message != msg {
		t.Fatalf("incompatible error %+v", inc)
	}
	var re *sr.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusConflict {
		t.Fatalf("the registry's answer is not kept: %v", err)
	}
	for _, want := range []string{"subject topic.x-value", "not BACKWARD compatible", msg} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
