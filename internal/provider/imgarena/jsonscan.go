package imgarena

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// fastDecoder is the JSON reading under decodeAction: it reads b from i,
// validating as it goes, and each method returns false to give up (on
// invalid JSON, or on what decodeAction leaves to encoding/json).
// FuzzScanValue checks that what it skips is what encoding/json calls
// valid.
type fastDecoder struct {
	b     []byte
	s     string // b's bytes as a string, shared (decodeAction's invariant)
	i     int
	depth int
}

// newFastDecoder reads b (not empty), sharing its bytes as d.s.
func newFastDecoder(b []byte) fastDecoder {
	return fastDecoder{b: b, s: unsafe.String(&b[0], len(b))}
}

func (d *fastDecoder) space() {
	for d.i < len(d.b) && isSpace(d.b[d.i]) {
		d.i++
	}
}

// object reads an object, calling field for each key with d at the key's
// value (after the colon and spaces); field reads the value.
func (d *fastDecoder) object(field func(key []byte) bool) bool {
	return d.list('{', '}', func() bool {
		key, ok := d.plainKey()
		return ok && d.colon() && field(key)
	})
}

// fields reads an object's members into the fields names names: set
// reads the value of field i (see field for the keys it gives up on).
func (d *fastDecoder) fields(names []string, set func(i int) bool) bool {
	var seen uint32
	return d.object(func(key []byte) bool { return d.field(key, names, &seen, set) })
}

// list reads an object or array, from open to close, calling member for
// each member (an object's key, colon and value; an array's value).
func (d *fastDecoder) list(open, close byte, member func() bool) bool {
	if d.i >= len(d.b) || d.b[d.i] != open {
		return false
	}
	d.i++
	d.space()
	if d.i < len(d.b) && d.b[d.i] == close {
		d.i++
		return true
	}
	for {
		if !member() {
			return false
		}
		d.space()
		if d.i >= len(d.b) {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
			d.space()
		case close:
			d.i++
			return true
		default:
			return false
		}
	}
}

// colon reads the colon after a key, with the spaces around it.
func (d *fastDecoder) colon() bool {
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != ':' {
		return false
	}
	d.i++
	d.space()
	return true
}

// plainKey reads a string of printable ASCII without escapes.
func (d *fastDecoder) plainKey() ([]byte, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	start := d.i + 1
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			return d.b[start:j], true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return nil, false
		}
	}
	return nil, false
}

// field reads the value of key: into field i of names (set), or skipped
// when no field has that name. It gives up where encoding/json would match
// key to a field by folding case, or on a field seen before (seen is a bit
// set by index).
func (d *fastDecoder) field(key []byte, names []string, seen *uint32, set func(i int) bool) bool {
	for i, n := range names {
		if string(key) == n {
			if *seen&(1<<i) != 0 {
				return false
			}
			*seen |= 1 << i
			return set(i)
		}
	}
	for _, n := range names {
		if len(key) == len(n) && strings.EqualFold(string(key), n) {
			return false
		}
	}
	_, ok := d.value()
	return ok
}

// nullOrObject leaves a pointer field nil for null, or reads the object
// with obj; any other value gives up (encoding/json fails on it).
func (d *fastDecoder) nullOrObject(obj func() bool) bool {
	if d.literal("null") {
		return true
	}
	if d.i >= len(d.b) || d.b[d.i] != '{' || d.depth >= maxFastDepth {
		return false
	}
	d.depth++
	defer func() { d.depth-- }()
	return obj()
}

// literal reads lit if it is next.
func (d *fastDecoder) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// flexString reads any value as flexString.UnmarshalJSON does: a string
// without escapes and in valid UTF-8 as its text, null as nothing, anything
// else as its JSON text.
func (d *fastDecoder) flexString(f *flexString) bool {
	if d.literal("null") {
		*f = flexString{}
		return true
	}
	v, ok := d.text()
	if !ok {
		return false
	}
	if v[0] == '"' {
		v = v[1 : len(v)-1]
		if !plainString(v) {
			return false
		}
	}
	*f = flexString{s: v, ok: true}
	return true
}

// flexInt reads any value as flexInt.UnmarshalJSON does.
func (d *fastDecoder) flexInt(f *flexInt) bool {
	v, ok := d.text()
	if ok {
		*f = flexIntOf(v)
	}
	return ok
}

// flexBool reads any value as flexBool.UnmarshalJSON does.
func (d *fastDecoder) flexBool(f *flexBool) bool {
	v, ok := d.text()
	if ok {
		*f = flexBoolOf(v)
	}
	return ok
}

// raw keeps any value's JSON text, as json.RawMessage does (null too),
// sharing b's bytes.
func (d *fastDecoder) raw(m *json.RawMessage) bool {
	v, ok := d.value()
	if ok {
		*m = v
	}
	return ok
}

// flexStrings reads an array of flexString values; null leaves a nil
// slice and [] an empty one, as encoding/json does.
func (d *fastDecoder) flexStrings(out *[]flexString) bool {
	if d.literal("null") {
		*out = nil
		return true
	}
	*out = []flexString{}
	return d.list('[', ']', func() bool {
		var f flexString
		if !d.flexString(&f) {
			return false
		}
		*out = append(*out, f)
		return true
	})
}

// plainString reports whether a string's content reads as itself: no
// escape, no control character, valid UTF-8.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' || c < 0x20 {
			return false
		}
		if c >= utf8.RuneSelf {
			return utf8.ValidString(s)
		}
	}
	return true
}

// text reads one valid JSON value and returns its text, sharing b's bytes.
func (d *fastDecoder) text() (string, bool) {
	start := d.i
	if !d.skip() {
		return "", false
	}
	return d.s[start:d.i], true
}

// value reads one valid JSON value and returns its text.
func (d *fastDecoder) value() ([]byte, bool) {
	start := d.i
	if !d.skip() {
		return nil, false
	}
	return d.b[start:d.i], true
}

// skip reads one valid JSON value.
func (d *fastDecoder) skip() bool {
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		return d.skipString()
	case c == '{' || c == '[':
		return d.skipComposite(c)
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.skipNumber()
	}
	return false
}

func (d *fastDecoder) skipComposite(open byte) bool {
	if d.depth >= maxFastDepth {
		return false
	}
	d.depth++
	defer func() { d.depth-- }()
	if open == '[' {
		return d.list('[', ']', d.skip)
	}
	// Keys of a skipped object may be any valid string.
	return d.list('{', '}', func() bool {
		return d.i < len(d.b) && d.b[d.i] == '"' && d.skipString() && d.colon() && d.skip()
	})
}

// skipString reads a valid JSON string (escapes checked; bytes that are
// not UTF-8 are valid JSON to encoding/json, which replaces them).
func (d *fastDecoder) skipString() bool {
	for j := d.i + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			j++
			if j >= len(d.b) {
				return false
			}
			switch d.b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(d.b) || !isHex(d.b[j+1]) || !isHex(d.b[j+2]) || !isHex(d.b[j+3]) || !isHex(d.b[j+4]) {
					return false
				}
				j += 4
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// skipNumber reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (d *fastDecoder) skipNumber() bool {
	digits := func() bool {
		start := d.i
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
		return d.i > start
	}
	if d.b[d.i] == '-' {
		d.i++
	}
	if d.i < len(d.b) && d.b[d.i] == '0' {
		d.i++
	} else if !digits() {
		return false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if !digits() {
			return false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if !digits() {
			return false
		}
	}
	return true
}
