package imgarena

import (
	"encoding/json"
	"strings"
	"testing"
)

// scanWhole reports whether b is one JSON value the scanner reads whole.
func scanWhole(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	d := newFastDecoder(b)
	d.space()
	if !d.skip() {
		return false
	}
	d.space()
	return d.i == len(b)
}

func TestScanValidates(t *testing.T) {
	deep := strings.Repeat("[", maxFastDepth) + strings.Repeat("]", maxFastDepth)
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`{"a":[1,-0,0.5,1e9,-2E-3,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9"]}`, true},
		{" \t\r\n{ \"a\" : [ ] , \"b\" : { } } ", true},
		{"\"\xff\xfe\"", true}, // not UTF-8, but valid JSON to encoding/json
		{deep, true},
		{"[" + deep + "]", false}, // deeper than the scanner goes
		{`{"a":1,}`, false},
		{`[1,]`, false},
		{`{"a" 1}`, false},
		{`{1:1}`, false},
		{`01`, false},
		{`1.`, false},
		{`.5`, false},
		{`1e`, false},
		{`-`, false},
		{`+1`, false},
		{`"\u12"`, false},
		{`"\x"`, false},
		{"\"a\x1fb\"", false},
		{`tru`, false},
		{`nul`, false},
		{`"open`, false},
		{`[1 2]`, false},
		{`{} {}`, false},
		{``, false},
	} {
		if got := scanWhole([]byte(tc.in)); got != tc.want {
			t.Errorf("scan(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if tc.want && !json.Valid([]byte(tc.in)) {
			t.Errorf("%q is not valid JSON to encoding/json", tc.in)
		}
	}
}

// FuzzScanValue: the scanner accepts exactly what encoding/json calls
// valid, up to its depth.
func FuzzScanValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,-0.5e3,true,null,"\u00e9"]}`, `[]`, `"x"`, `{"a":{"b":{}}}`, `1`, `-0`, `[1,]`} {
		f.Add([]byte(s))
	}
	for _, p := range simPackets(5) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := scanWhole(b), json.Valid(b)
		if got && !want {
			t.Fatalf("the scanner accepts %q, which encoding/json calls invalid", b)
		}
		if want && !got && strings.Count(string(b), "[")+strings.Count(string(b), "{") < maxFastDepth {
			t.Fatalf("the scanner refuses %q, valid JSON", b)
		}
	})
}
