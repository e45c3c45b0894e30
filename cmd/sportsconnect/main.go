// Command sportsconnect is the one binary: it runs connectors against a
// Kafka cluster (run), the embedded demo (demo), and the provider
// simulators. It only wires packages together and handles signals.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"run":      {"run connectors against a Kafka cluster: run WORKER.properties CONNECTOR.json...", runCmd},
		"simulate": {"run a provider simulator: simulate PROVIDER [flags]", simulateCmd},
		"demo":     {"run the main job on the embedded default (in-process Kafka and registry), then check and print what it wrote", demoCmd},
		"bench":    {"measure the pipeline on a real broker beside a raw franz-go producer baseline", benchCmd},
		"validate": {"check worker and connector configs without connecting: validate WORKER.properties CONNECTOR.json...", validateCmd},
		"consume":  {"print a topic's records read_committed, Avro decoded to JSON lines: consume [flags] TOPIC", consumeCmd},
		"offsets":  {"read or change a connector's committed offsets: offsets get|set|reset --worker WORKER.properties CONNECTOR", offsetsCmd},
		"apply":    {"create or update connectors through a worker's REST API (distributed mode): apply --url URL CONNECTOR.json...", applyCmd},
		"plugins":  {"list the connector classes with their settings, defaults and docs (no broker needed): plugins [CLASS...]", pluginsCmd},
		"version":  {"print the version, commit, Go version and franz-go version", versionCmd},
	}
}

// errUsage marks a usage error: exit code 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(mainCode(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func mainCode(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sportsconnect: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "sportsconnect %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "sportsconnect %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "sportsconnect: a Kafka Connect-style source connector for live sports data, with exactly-once resume.")
	fmt.Fprintln(w, "\nUsage: sportsconnect COMMAND [flags] [args]   (flags may also follow the args; -- ends them)\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'sportsconnect COMMAND --help' for a command's flags and examples;")
	fmt.Fprintln(w, "deploy/examples/ holds a worker.properties and connector.json per provider to start from.")
}

// parseFlags parses args with flags anywhere among the positional
// arguments: Go's flag package stops at the first positional one, and a
// flag after it would silently be taken for a file name. "--" ends the
// flags. After it, fs.Args() holds the positional arguments in order. A
// flag error is a usage error (exit 2); -h/--help is flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, positional...))
}

// newFlags returns a flag set whose --help prints usage and examples.
func newFlags(name, synopsis, examples string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sportsconnect %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
		if examples != "" {
			fmt.Fprintf(stderr, "\nExamples:\n%s\n", examples)
		}
	}
	return fs
}
