package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
)

func validateCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", "validate WORKER.properties [CONNECTOR.json...]", `  sportsconnect validate worker.properties synthetic.json imgarena.json
  sportsconnect validate deploy/examples/imgarena/worker.properties deploy/examples/imgarena/connector.json

  Checks every file without connecting to anything: unknown keys, wrong
  types, missing required settings, values outside the allowed set, topic
  names Kafka would refuse (topic.prefix, the dead-letter topic, the
  worker's offset/config/status topics), connector names (no '/', no
  control characters), URLs of a scheme the provider does not speak, and
  ${env:NAME} / ${file:/path:key} references that do not resolve. Every
  problem of a file is listed at once; each names its key and says what
  is expected; secrets are never printed. The exit code is 1 if any file
  has a problem, 2 on a usage error, 0 otherwise.`, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return fmt.Errorf("%w: need a worker config", errUsage)
	}
	problems := 0
	report := func(path, what string, err error) {
		if err == nil {
			fmt.Fprintf(stdout, "%s: ok%s\n", path, what)
			return
		}
		var ces connector.ConfigErrors
		n := 1
		if errors.As(err, &ces) {
			n = len(ces)
		}
		problems += n
		fmt.Fprintf(stdout, "%s:%s %d problem(s)\n", path, what, n)
		if ces != nil {
			for _, e := range ces {
				fmt.Fprintf(stdout, "  %s\n", e)
			}
		} else {
			fmt.Fprintf(stdout, "  %s\n", err)
		}
	}
	ws, err := worker.LoadWorkerConfig(fs.Arg(0))
	report(fs.Arg(0), "", err)
	prefix := ""
	if ws != nil {
		prefix = ws.TopicPrefix
	}
	ps := plugins()
	names := map[string]string{} // connector name -> file
	for _, p := range fs.Args()[1:] {
		cfg, err := loadConnector(p, prefix)
		if err == nil {
			_, _, err = worker.CheckConnectorConfig(ps, cfg)
		}
		what := ""
		if cfg != nil && cfg[connector.KeyName] != "" {
			name := cfg[connector.KeyName]
			what = fmt.Sprintf(" (connector %q)", name)
			if other, dup := names[name]; dup && err == nil {
				err = connector.ConfigErrors{{Key: connector.KeyName, Value: name, Problem: "already used by " + other + ": connector names must be unique"}}
			}
			names[name] = p
		}
		report(p, what, err)
	}
	if problems > 0 {
		return fmt.Errorf("%d problem(s) found", problems)
	}
	return nil
}

// loadConnector reads a connector JSON file (Connect's POST /connectors
// body) and applies the worker's default topic.prefix. References are
// left unresolved in the returned config, so it can be shown; check it
// with worker.CheckConnectorConfig.
func loadConnector(path, topicPrefix string) (connector.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("connector config: %w", err)
	}
	c, err := worker.ParseConnectorJSON(b)
	if err != nil {
		return nil, err
	}
	if _, ok := c[connector.KeyTopicPrefix]; !ok && topicPrefix != "" {
		c[connector.KeyTopicPrefix] = topicPrefix
	}
	return c, nil
}
