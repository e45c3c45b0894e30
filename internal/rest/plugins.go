package rest

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
)

func (s *Server) listPlugins(w http.ResponseWriter, _ *http.Request) error {
	ps := s.opts.Worker.Plugins()
	out := []pluginInfo{}
	for _, c := range ps.Classes() {
		out = append(out, pluginInfo{Class: c, Type: connectorType, Version: s.opts.Version})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) plugin(r *http.Request) (connector.Plugin, error) {
	class := r.PathValue("class")
	p, err := s.opts.Worker.Plugins().Lookup(class)
	if err != nil {
		return connector.Plugin{}, &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("Unknown plugin %s (known: %v)", class, s.opts.Worker.Plugins().Classes())}
	}
	return p, nil
}

// keyGroup names the group a setting is shown in, as Connect groups them.
func keyGroup(p connector.Plugin, k connector.ConfigKey, common bool) string {
	if !common {
		return p.Class
	}
	switch {
	case strings.HasPrefix(k.Name, "errors."):
		return "Error Handling"
	case strings.HasPrefix(k.Name, "topic.creation."):
		return "Topic Creation"
	case strings.HasPrefix(k.Name, "transaction."):
		return "Exactly Once Support"
	}
	return "Common"
}

func keyInfo(p connector.Plugin, k connector.ConfigKey, common bool, order int) configKeyInfo {
	var def *string
	if !k.Required {
		d := k.Default
		if k.Type == connector.TypePassword && d != "" {
			d = connector.Redacted
		}
		def = &d
	}
	importance := "MEDIUM"
	if k.Required {
		importance = "HIGH"
	}
	return configKeyInfo{
		Name: k.Name, Type: k.Type.String(), Required: k.Required, DefaultValue: def,
		Importance: importance, Documentation: k.Doc, Group: keyGroup(p, k, common),
		Width: "NONE", DisplayName: k.Name, Dependents: []string{}, Order: order,
	}
}

// specKeys lists a plugin's settings (common first) with whether each is common.
func specKeys(p connector.Plugin) ([]connector.ConfigKey, map[string]bool) {
	common := map[string]bool{}
	keys := append([]connector.ConfigKey{}, connector.CommonSpec()...)
	for _, k := range keys {
		common[k.Name] = true
	}
	return append(keys, p.Spec...), common
}

func (s *Server) pluginConfig(w http.ResponseWriter, r *http.Request) error {
	p, err := s.plugin(r)
	if err != nil {
		return err
	}
	keys, common := specKeys(p)
	out := make([]configKeyInfo, 0, len(keys))
	for i, k := range keys {
		out = append(out, keyInfo(p, k, common[k.Name], i+1))
	}
	return writeJSON(w, http.StatusOK, out)
}

// validate is Connect's PUT /connector-plugins/{class}/config/validate: the
// result of checking the config against every setting, in ConfigInfos'
// shape. Unknown keys, which our worker refuses, are listed too, each
// with its error. Secrets are shown as "[hidden]".
func (s *Server) validate(w http.ResponseWriter, r *http.Request) error {
	p, err := s.plugin(r)
	if err != nil {
		return err
	}
	cfg, err := s.parseConfigBody(w, r, false)
	if err != nil {
		return err
	}
	if c, ok := cfg[connector.KeyClass]; ok && c != p.Class {
		return badRequest("Included connector type %s does not match request type %s", c, p.Class)
	}
	cfg[connector.KeyClass] = p.Class
	problems := map[string][]string{}
	_, _, rerr := worker.CheckConnectorConfig(s.opts.Worker.Plugins(), cfg)
	var ces connector.ConfigErrors
	if rerr != nil && !errors.As(rerr, &ces) {
		return rerr
	}
	for _, e := range ces {
		problems[e.Key] = append(problems[e.Key], e.Problem)
	}
	keys, common := specKeys(p)
	spec := connector.CommonSpec().Merge(p.Spec)
	shown := spec.Redact(cfg)
	out := configInfos{Name: p.Class, Groups: []string{}, Configs: []configInfo{}}
	seenGroup := map[string]bool{}
	known := map[string]bool{}
	for i, k := range keys {
		known[k.Name] = true
		ki := keyInfo(p, k, common[k.Name], i+1)
		if !seenGroup[ki.Group] {
			seenGroup[ki.Group] = true
			out.Groups = append(out.Groups, ki.Group)
		}
		var v *string
		if val, ok := shown[k.Name]; ok {
			v = &val
		} else if !k.Required {
			d := k.Default
			if k.Type == connector.TypePassword && d != "" {
				d = connector.Redacted
			}
			v = &d
		}
		errs := problems[k.Name]
		if errs == nil {
			errs = []string{}
		}
		out.ErrorCount += len(errs)
		out.Configs = append(out.Configs, configInfo{Definition: ki,
			Value: configValueInfo{Name: k.Name, Value: v, RecommendedValues: append([]string{}, k.Allowed...), Errors: errs, Visible: true}})
	}
	for _, name := range sortedKeys(cfg) {
		if known[name] {
			continue
		}
		errs := problems[name]
		if len(errs) == 0 {
			errs = []string{"unknown setting"}
		}
		out.ErrorCount += len(errs)
		v := shown[name]
		out.Configs = append(out.Configs, configInfo{
			Definition: configKeyInfo{Name: name, Type: "STRING", Importance: "LOW", Documentation: "not a setting of " + p.Class,
				Group: "Unknown", Width: "NONE", DisplayName: name, Dependents: []string{}, Order: len(out.Configs) + 1},
			Value: configValueInfo{Name: name, Value: &v, RecommendedValues: []string{}, Errors: errs, Visible: true},
		})
	}
	if rerr != nil && len(ces) == 0 {
		return rerr
	}
	return writeJSON(w, http.StatusOK, out)
}

func sortedKeys(c connector.Config) []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
