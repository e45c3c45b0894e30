package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

// settingDoc is one setting as `plugins --json` prints it.
type settingDoc struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Required bool     `json:"required"`
	Default  *string  `json:"default,omitempty"` // nil when required
	Allowed  []string `json:"allowed,omitempty"`
	Min      *int64   `json:"min,omitempty"`
	Doc      string   `json:"doc"`
}

// pluginDoc is one connector class as `plugins --json` prints it.
type pluginDoc struct {
	Class    string       `json:"class"`
	Doc      string       `json:"doc"`
	Settings []settingDoc `json:"settings"`
}

func pluginsCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plugins", "plugins [flags] [CLASS...]", `  sportsconnect plugins
  sportsconnect plugins imgarena
  sportsconnect plugins --json saba

  Lists the connector classes this binary runs, each with its settings:
  type, default (or required), allowed values and what it does. The
  settings every connector takes (Connect's names) come first. Nothing is
  contacted: no broker, no registry, no provider.`, stderr)
	asJSON := fs.Bool("json", false, "print JSON: the common settings as class \"\", then each class")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ps := plugins()
	classes := fs.Args()
	if len(classes) == 0 {
		classes = ps.Classes()
	}
	docs := []pluginDoc{{Class: "", Doc: "settings every connector takes", Settings: settingDocs(connector.CommonSpec())}}
	for _, c := range classes {
		p, err := ps.Lookup(c)
		if err != nil {
			return fmt.Errorf("%w: unknown connector class %q (known: %v)", errUsage, c, ps.Classes())
		}
		docs = append(docs, pluginDoc{Class: p.Class, Doc: p.Doc, Settings: settingDocs(p.Spec)})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(docs); err != nil {
			return fmt.Errorf("writing the plugin list: %w", err)
		}
		return nil
	}
	for i, d := range docs {
		if i == 0 {
			fmt.Fprintln(stdout, "Settings every connector takes (Kafka Connect's names):")
		} else {
			fmt.Fprintf(stdout, "\nconnector.class=%s\n  %s\n", d.Class, d.Doc)
		}
		for _, s := range d.Settings {
			fmt.Fprintf(stdout, "\n  %s  %s\n", s.Name, describe(s))
			if s.Doc != "" {
				fmt.Fprintf(stdout, "      %s\n", s.Doc)
			}
		}
	}
	return nil
}

// settingDocs lists the keys of spec, secrets' defaults redacted.
func settingDocs(spec connector.ConfigSpec) []settingDoc {
	out := make([]settingDoc, 0, len(spec))
	for _, k := range spec {
		s := settingDoc{Name: k.Name, Type: k.Type.String(), Required: k.Required, Allowed: k.Allowed, Min: k.Min, Doc: k.Doc}
		if !k.Required {
			d := k.Default
			if k.Type == connector.TypePassword && d != "" {
				d = connector.Redacted
			}
			s.Default = &d
		}
		out = append(out, s)
	}
	return out
}

// describe is a setting's one-line summary: type, default or required,
// bounds and allowed values.
func describe(s settingDoc) string {
	parts := []string{s.Type}
	if s.Required {
		parts = append(parts, "required")
	} else {
		parts = append(parts, "default "+connector.AllowedList([]string{*s.Default}))
	}
	if s.Min != nil {
		parts = append(parts, fmt.Sprintf(">= %d", *s.Min))
	}
	if len(s.Allowed) > 0 {
		parts = append(parts, "one of "+connector.AllowedList(s.Allowed))
	}
	return strings.Join(parts, ", ")
}
