package main

import (
	"context"
	"fmt"
	"io"

	"github.com/seed-474f70f7/sportsconnect/internal/rest"
)

func versionCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "version", `  sportsconnect version

  Prints the version, the commit it was built from ("(modified)" when the
  tree had uncommitted changes), the Go version and the franz-go version.`, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: version takes no arguments", errUsage)
	}
	b := rest.ReadBuild()
	commit := b.Commit
	if b.Modified {
		commit += " (modified)"
	}
	fmt.Fprintf(stdout, "sportsconnect %s\ncommit    %s\ngo        %s\nfranz-go  %s\n", b.Version, commit, b.GoVersion, b.FranzGo)
	return nil
}
