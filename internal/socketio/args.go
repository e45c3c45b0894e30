package socketio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Arg is one argument of a received event: either JSON or a binary
// attachment.
//
// A binary attachment passed as a top-level argument (for example
// socket.emit("ev", buffer) on the server) arrives as a binary Arg whose
// Binary holds the attachment's bytes intact. A binary attachment nested
// inside a JSON argument (socket.emit("ev", {data: buffer})) is replaced by a
// JSON string holding its standard base64 encoding, which encoding/json
// decodes back into a []byte field.
type Arg struct {
	// JSON is the argument's JSON text; nil for a binary argument.
	JSON json.RawMessage
	// Binary is the attachment's bytes; meaningful only when JSON is nil.
	Binary []byte
}

// IsBinary reports whether the argument is a binary attachment.
func (a Arg) IsBinary() bool { return a.JSON == nil }

// Decode stores the argument in v: JSON arguments are unmarshalled with
// encoding/json; a binary argument can only be stored in a *[]byte (which
// then aliases Arg.Binary).
func (a Arg) Decode(v any) error {
	if !a.IsBinary() {
		if err := json.Unmarshal(a.JSON, v); err != nil {
			return fmt.Errorf("socketio: decode argument: %w", err)
		}
		return nil
	}
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("socketio: decode binary argument into %T: need *[]byte", v)
	}
	*p = a.Binary
	return nil
}

// String returns the JSON text, or a summary of a binary argument.
func (a Arg) String() string {
	if a.IsBinary() {
		return fmt.Sprintf("<binary %d bytes>", len(a.Binary))
	}
	return string(a.JSON)
}

// maxPlaceholderDepth bounds how deep nested placeholders are searched;
// deeper ones are left as they are.
const maxPlaceholderDepth = 32

// placeholderKey is the key that marks a binary placeholder object.
const placeholderKey = `"_placeholder"`

// placeholderIndex reports whether raw is a binary placeholder
// {"_placeholder":true,"num":N} and returns N, checked against n attachments.
func placeholderIndex(raw json.RawMessage, n int) (int, bool, error) {
	if jsonKind(raw) != '{' || !bytes.Contains(raw, []byte(placeholderKey)) {
		return 0, false, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return 0, false, fmt.Errorf("binary placeholder: %w: %v", ErrInvalidPacket, err)
	}
	if string(bytes.TrimSpace(obj["_placeholder"])) != "true" {
		return 0, false, nil
	}
	num, err := strconv.ParseFloat(string(bytes.TrimSpace(obj["num"])), 64)
	if err != nil || num != math.Trunc(num) || num < 0 || num >= float64(n) {
		return 0, false, fmt.Errorf("binary placeholder num %s with %d attachments: %w",
			obj["num"], n, ErrInvalidPacket)
	}
	return int(num), true, nil
}

// resolveArgs turns the raw arguments of an event into Args: top-level
// placeholders become binary Args, nested ones base64 JSON strings.
func resolveArgs(items []json.RawMessage, attachments [][]byte) ([]Arg, error) {
	args := make([]Arg, len(items))
	for i, item := range items {
		num, ok, err := placeholderIndex(item, len(attachments))
		if err != nil {
			return nil, err
		}
		if ok {
			args[i] = Arg{Binary: attachments[num]}
			continue
		}
		if len(attachments) > 0 {
			if item, err = replacePlaceholders(item, attachments, 0); err != nil {
				return nil, err
			}
		}
		args[i] = Arg{JSON: item}
	}
	return args, nil
}

// resolveJSON turns raw arguments into JSON, every placeholder replaced by a
// base64 JSON string.
func resolveJSON(items []json.RawMessage, attachments [][]byte) ([]json.RawMessage, error) {
	if len(attachments) == 0 {
		return items, nil
	}
	out := make([]json.RawMessage, len(items))
	for i, item := range items {
		r, err := replacePlaceholders(item, attachments, 0)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// replacePlaceholders rewrites raw with every placeholder replaced by the
// base64 JSON string of its attachment, keeping the order of object keys.
func replacePlaceholders(raw json.RawMessage, attachments [][]byte, depth int) (json.RawMessage, error) {
	if depth > maxPlaceholderDepth || !bytes.Contains(raw, []byte(placeholderKey)) {
		return raw, nil
	}
	num, ok, err := placeholderIndex(raw, len(attachments))
	if err != nil {
		return nil, err
	}
	if ok {
		return json.Marshal(attachments[num]) // []byte marshals as a base64 string
	}
	kind := jsonKind(raw)
	if kind != '{' && kind != '[' {
		return raw, nil // a string that merely contains the key
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // opening delimiter
		return nil, fmt.Errorf("binary placeholders: %w: %v", ErrInvalidPacket, err)
	}
	var out bytes.Buffer
	out.WriteByte(kind)
	for first := true; dec.More(); first = false {
		if !first {
			out.WriteByte(',')
		}
		if kind == '{' {
			key, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("binary placeholders: %w: %v", ErrInvalidPacket, err)
			}
			k, _ := json.Marshal(key)
			out.Write(k)
			out.WriteByte(':')
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("binary placeholders: %w: %v", ErrInvalidPacket, err)
		}
		if v, err = replacePlaceholders(v, attachments, depth+1); err != nil {
			return nil, err
		}
		out.Write(v)
	}
	if kind == '{' {
		out.WriteByte('}')
	} else {
		out.WriteByte(']')
	}
	return out.Bytes(), nil
}

// encodeArgs marshals outgoing arguments into a JSON array, prefixed with the
// event name when event is non-nil. Top-level []byte arguments (and binary
// Args) become binary attachments with placeholders; json.RawMessage and JSON
// Args are sent as they are; anything else goes through json.Marshal.
func encodeArgs(event *string, args []any) (json.RawMessage, [][]byte, error) {
	var buf bytes.Buffer
	var attachments [][]byte
	buf.WriteByte('[')
	if event != nil {
		name, _ := json.Marshal(*event)
		buf.Write(name)
	}
	for i, a := range args {
		if i > 0 || event != nil {
			buf.WriteByte(',')
		}
		var raw []byte
		var bin []byte
		isBin := false
		switch v := a.(type) {
		case json.RawMessage:
			if v == nil {
				raw = []byte("null")
			} else if !json.Valid(v) {
				return nil, nil, fmt.Errorf("argument %d: invalid json.RawMessage", i)
			} else {
				raw = v
			}
		case []byte:
			bin, isBin = v, true
		case Arg:
			if v.IsBinary() {
				bin, isBin = v.Binary, true
			} else if !json.Valid(v.JSON) {
				return nil, nil, fmt.Errorf("argument %d: invalid JSON Arg", i)
			} else {
				raw = v.JSON
			}
		default:
			var err error
			if raw, err = json.Marshal(v); err != nil {
				return nil, nil, fmt.Errorf("argument %d: %w", i, err)
			}
		}
		if isBin {
			if bin == nil {
				bin = []byte{}
			}
			fmt.Fprintf(&buf, `{"_placeholder":true,"num":%d}`, len(attachments))
			attachments = append(attachments, bin)
			continue
		}
		buf.Write(raw)
	}
	buf.WriteByte(']')
	return buf.Bytes(), attachments, nil
}
