package eoscheck

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		got  Positions
		want string // "" = passes; else a substring of the error
	}{
		{"exact", Positions{0: {1, 2, 3}, 1: {1, 2, 3}}, ""},
		{"missing partition", Positions{0: {1, 2, 3}}, "partition 1: 0 records, want 3"},
		{"duplicate", Positions{0: {1, 2, 2, 3}, 1: {1, 2, 3}}, "partition 0: 4 records, want 3 (first anomaly at index 2: position 2)"},
		{"gap", Positions{0: {1, 3}, 1: {1, 2, 3}}, "partition 0: 2 records"},
		{"reordered", Positions{0: {1, 3, 2}, 1: {1, 2, 3}}, "partition 0: record 1 is position 3, want 2"},
		{"stray partition", Positions{0: {1, 2, 3}, 1: {1, 2, 3}, 5: {1}}, "unexpected partition 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.got, 2, 3)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}
