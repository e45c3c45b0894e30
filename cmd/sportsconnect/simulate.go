package main

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
)

// simulator runs one provider's simulator in the foreground until ctx ends.
type simulator func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// simulators is every provider simulator. A provider package adds one
// line here, pointing at its RunSimulator.
func simulators() map[string]simulator {
	return map[string]simulator{
		"imgarena": imgarenasim.RunSimulator,
		"roanuz":   roanuzsim.RunSimulator,
		"saba":     sabasim.RunSimulator,
	}
}

func simulateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sims := simulators()
	names := make([]string, 0, len(sims))
	for n := range sims {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(stderr, "Usage: sportsconnect simulate PROVIDER [flags]\n\nRuns a provider simulator (a faithful local server of its protocol, with fault injection) until interrupted.\nProviders: %v\nRun 'sportsconnect simulate PROVIDER --help' for its flags.\n", names)
		if len(args) == 0 {
			return fmt.Errorf("%w: name a provider", errUsage)
		}
		return nil
	}
	sim, ok := sims[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown provider %q (known: %v)", errUsage, args[0], names)
	}
	return sim(ctx, args[1:], stdout, stderr)
}
