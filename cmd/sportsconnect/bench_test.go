package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseCounts(t *testing.T) {
	cases := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"1000,5000,10000", []int{1000, 5000, 10000}, false},
		{" 10 , 20 ,", []int{10, 20}, false},
		{"7", []int{7}, false},
		{"", nil, true},
		{",", nil, true},
		{"1000,ten", nil, true},
		{"0", nil, true},
		{"-5", nil, true},
	}
	for _, tc := range cases {
		got, err := parseCounts(tc.in)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("parseCounts(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestDefaultBenchProviders: every benchmark the bench command runs by
// default exists, the scale curve among them.
func TestDefaultBenchProviders(t *testing.T) {
	benches := providerBenches()
	names := strings.Split(defaultBenchProviders, ",")
	for _, name := range names {
		if _, ok := benches[name]; !ok {
			t.Errorf("default provider benchmark %q does not exist", name)
		}
	}
	if !slices.Contains(names, "imgarena-scale") {
		t.Errorf("the scale curve is not run by default: %q", defaultBenchProviders)
	}
}

// TestBenchRejectsEmptyRuns: a count of zero is a usage error before
// anything connects (--events 0 used to panic in the watcher).
func TestBenchRejectsEmptyRuns(t *testing.T) {
	for _, flag := range []string{"--events", "--partitions", "--topic-partitions", "--tasks", "--rounds", "--process-events"} {
		var out, errOut strings.Builder
		err := benchCmd(t.Context(), []string{flag, "0", "--brokers", "127.0.0.1:1", "--registry", "http://127.0.0.1:1"}, &out, &errOut)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), flag+" must be at least 1") {
			t.Errorf("bench %s 0: %v; want a usage error naming the flag", flag, err)
		}
	}
}
