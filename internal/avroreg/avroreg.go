// Package avroreg is the glue between Avro schemas and a Confluent-API
// schema registry: it registers each topic's value schema under
// <topic>-value and encodes and decodes Confluent wire format
// (magic byte 0, 4-byte big-endian schema id, Avro binary).
package avroreg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// Serializer registers value schemas and encodes values. It implements
// worker.Serializer and is safe for concurrent use.
type Serializer struct {
	cl  *sr.Client
	api avro.API

	mu  sync.RWMutex
	ids map[string]topicSchema // by topic

	dec *Decoder // values read back (Decode)

	// writers are encoders whose buffers AppendEncode reuses: a value is
	// encoded into one, with its wire-format header, and copied out once.
	writers sync.Pool
}

// maxPooledWriter is the largest buffer a writer goes back to the pool
// with; one that grew past it (a large snapshot value) is dropped.
const maxPooledWriter = 64 << 10

type topicSchema struct {
	id     int
	schema avro.Schema
}

// NewSerializer returns a serializer registering schemas with cl.
func NewSerializer(cl *sr.Client) *Serializer {
	s := &Serializer{cl: cl, api: avro.Config{}.Freeze(), ids: map[string]topicSchema{}, dec: NewDecoder(cl)}
	s.writers.New = func() any { return avro.NewWriter(nil, 1024, avro.WithWriterConfig(s.api)) }
	return s
}

// Subject returns the registry subject of topic's values (TopicNameStrategy).
func Subject(topic string) string { return topic + "-value" }

// Register makes sure the registry checks the subject <topic>-value for
// BACKWARD compatibility (EnsureBackward), then registers schema under it
// (a no-op in the registry if it is already there) and remembers its id.
//
// The schema is registered in full, docs and defaults included (its JSON,
// not its Parsing Canonical Form): readers downstream read the docs from
// the registry, the registry's compatibility check needs the field and
// enum defaults, and a new field with a default would otherwise be refused
// as a field without one.
//
// A schema the registry refuses as incompatible with the subject's
// registered versions is an *IncompatibleError naming the subject and
// carrying the registry's own message.
func (s *Serializer) Register(ctx context.Context, topic string, schema avro.Schema) error {
	subject := Subject(topic)
	level, err := EnsureBackward(ctx, s.cl, subject)
	if err != nil {
		return err
	}
	text, err := json.Marshal(schema)
	if err != nil {
		return fmt.Errorf("registering %s: writing the schema as JSON: %w", subject, err)
	}
	ss, err := s.cl.CreateSchema(ctx, subject, sr.Schema{Schema: string(text), Type: sr.TypeAvro})
	if err != nil {
		var re *sr.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusConflict {
			msg := re.Message
			if msg == "" {
				msg = strings.TrimSpace(string(re.Raw))
			}
			return &IncompatibleError{Subject: subject, Level: level, Message: msg, Err: err}
		}
		return fmt.Errorf("registering %s: %w", subject, err)
	}
	s.mu.Lock()
	s.ids[topic] = topicSchema{id: ss.ID, schema: schema}
	s.mu.Unlock()
	return nil
}

// IncompatibleError is a schema the registry refused (HTTP 409) because it
// is not compatible with the versions registered under the subject.
type IncompatibleError struct {
	Subject string                // the subject, <topic>-value
	Level   sr.CompatibilityLevel // the level the subject is checked at
	Message string                // the registry's own message
	Err     error                 // the registry's answer (*sr.ResponseError)
}

func (e *IncompatibleError) Error() string {
	return fmt.Sprintf("the schema registry refused the new schema of subject %s: not %s compatible with the versions registered under it: %s",
		e.Subject, e.Level, e.Message)
}

func (e *IncompatibleError) Unwrap() error { return e.Err }

// includesBackward reports whether level checks at least BACKWARD.
func includesBackward(level sr.CompatibilityLevel) bool {
	switch level {
	case sr.CompatBackward, sr.CompatBackwardTransitive, sr.CompatFull, sr.CompatFullTransitive:
		return true
	}
	return false
}

// EnsureBackward makes the registry check subject for BACKWARD
// compatibility (a new schema must read the data written with the
// registered ones) and returns the level it is checked at. A subject whose
// own level already includes BACKWARD and is stricter (BACKWARD_TRANSITIVE,
// FULL, FULL_TRANSITIVE) keeps it: the connector never weakens a rule set
// in the registry. Otherwise the subject is set to BACKWARD.
//
// If the registry does not take the setting (no per-subject config, no
// permission), the subject's effective level (its own, else the global
// one) is read: registration goes on if that includes BACKWARD, and fails
// otherwise, with the registry's answer, rather than write to a subject
// nothing checks.
func EnsureBackward(ctx context.Context, cl *sr.Client, subject string) (sr.CompatibilityLevel, error) {
	// A stricter level is kept. BACKWARD itself is set again: a registry
	// may answer with its global level for a subject without its own, and
	// the subject must not follow a later change of that.
	if r := cl.Compatibility(ctx, subject); len(r) == 1 && r[0].Err == nil &&
		r[0].Level != sr.CompatBackward && includesBackward(r[0].Level) {
		return r[0].Level, nil
	}
	r := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatBackward}, subject)
	if len(r) == 1 && r[0].Err == nil {
		return sr.CompatBackward, nil
	}
	setErr := errors.New("no answer")
	if len(r) == 1 {
		setErr = r[0].Err
	}
	eff := cl.Compatibility(sr.WithParams(ctx, sr.DefaultToGlobal), subject)
	if len(eff) == 1 && eff[0].Err == nil && includesBackward(eff[0].Level) {
		return eff[0].Level, nil
	}
	level := "unknown"
	if len(eff) == 1 && eff[0].Err == nil {
		level = eff[0].Level.String()
	}
	return 0, fmt.Errorf("setting compatibility %s on subject %s: %w (its level is %s: the registry must check BACKWARD compatibility on the subjects the connector writes)",
		sr.CompatBackward, subject, setErr, level)
}

// ID returns the schema id registered for topic.
func (s *Serializer) ID(topic string) (int, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ts, ok := s.ids[topic]
	return ts.id, ok
}

// AppendEncode appends v in Confluent wire format to dst. The topic must
// have been registered, with the same schema.
func (s *Serializer) AppendEncode(dst []byte, topic string, schema avro.Schema, v any) ([]byte, error) {
	s.mu.RLock()
	ts, ok := s.ids[topic]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("topic %s has no registered schema", topic)
	}
	if schema != nil && schema != ts.schema && schema.Fingerprint() != ts.schema.Fingerprint() {
		return nil, fmt.Errorf("topic %s: record schema %s is not the registered one", topic, schemaName(schema))
	}
	w := s.writers.Get().(*avro.Writer)
	w.Reset(nil)
	w.Error = nil
	_, _ = w.Write([]byte{0, byte(ts.id >> 24), byte(ts.id >> 16), byte(ts.id >> 8), byte(ts.id)})
	w.WriteVal(ts.schema, v)
	err := w.Error
	if err == nil {
		dst = append(dst, w.Buffer()...)
	}
	if cap(w.Buffer()) <= maxPooledWriter {
		s.writers.Put(w)
	}
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", schemaName(ts.schema), err)
	}
	return dst, nil
}

// Decode decodes b, a value in Confluent wire format, into v with the
// schema it was written with (fetched by id once); see Decoder.Decode.
func (s *Serializer) Decode(ctx context.Context, b []byte, v any) error {
	return s.dec.Decode(ctx, b, v)
}

func schemaName(s avro.Schema) string {
	if n, ok := s.(avro.NamedSchema); ok {
		return n.FullName()
	}
	return string(s.Type())
}

// Decoder decodes Confluent wire format values, fetching each schema by id
// from the registry once. It is what any consumer needs: the registry URL
// and nothing else.
type Decoder struct {
	cl  *sr.Client
	api avro.API

	mu      sync.Mutex
	schemas map[int]avro.Schema
}

// NewDecoder returns a decoder fetching schemas from cl.
func NewDecoder(cl *sr.Client) *Decoder {
	return &Decoder{cl: cl, api: avro.Config{}.Freeze(), schemas: map[int]avro.Schema{}}
}

// Schema returns the schema with id, fetching it if needed.
func (d *Decoder) Schema(ctx context.Context, id int) (avro.Schema, error) {
	d.mu.Lock()
	s, ok := d.schemas[id]
	d.mu.Unlock()
	if ok {
		return s, nil
	}
	got, err := d.cl.SchemaByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("fetching schema %d: %w", id, err)
	}
	s, err = avro.ParseWithCache(got.Schema, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("parsing schema %d: %w", id, err)
	}
	d.mu.Lock()
	d.schemas[id] = s
	d.mu.Unlock()
	return s, nil
}

// Decode decodes b (Confluent wire format) into v, which may be a pointer to
// a struct or to any (generic maps).
func (d *Decoder) Decode(ctx context.Context, b []byte, v any) error {
	var h sr.ConfluentHeader
	id, body, err := h.DecodeID(b)
	if err != nil {
		return fmt.Errorf("reading wire format header: %w", err)
	}
	s, err := d.Schema(ctx, id)
	if err != nil {
		return err
	}
	if err := d.api.Unmarshal(s, body, v); err != nil {
		return fmt.Errorf("decoding with schema %d: %w", id, err)
	}
	return nil
}
