// Package avroreg is the glue between Avro schemas and a Confluent-API
// schema registry: it registers each topic's value schema under
// <topic>-value and encodes and decodes Confluent wire format
// (magic byte 0, 4-byte big-endian schema id, Avro binary).
package avroreg

import (
	"context"
	"fmt"
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
}

type topicSchema struct {
	id     int
	schema avro.Schema
}

// NewSerializer returns a serializer registering schemas with cl.
func NewSerializer(cl *sr.Client) *Serializer {
	return &Serializer{cl: cl, api: avro.Config{}.Freeze(), ids: map[string]topicSchema{}, dec: NewDecoder(cl)}
}

// Subject returns the registry subject of topic's values (TopicNameStrategy).
func Subject(topic string) string { return topic + "-value" }

// Register registers schema under <topic>-value (a no-op in the registry
// if it is already there) and remembers its id.
func (s *Serializer) Register(ctx context.Context, topic string, schema avro.Schema) error {
	ss, err := s.cl.CreateSchema(ctx, Subject(topic), sr.Schema{Schema: schema.String(), Type: sr.TypeAvro})
	if err != nil {
		return fmt.Errorf("registering %s: %w", Subject(topic), err)
	}
	s.mu.Lock()
	s.ids[topic] = topicSchema{id: ss.ID, schema: schema}
	s.mu.Unlock()
	return nil
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
	b, err := s.api.Marshal(ts.schema, v)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", schemaName(ts.schema), err)
	}
	dst = append(dst, 0, byte(ts.id>>24), byte(ts.id>>16), byte(ts.id>>8), byte(ts.id))
	return append(dst, b...), nil
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
