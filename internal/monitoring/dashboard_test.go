package monitoring

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deployDir is the repository's deploy/ folder, from this package.
var deployDir = filepath.Join("..", "..", "deploy")

// datasourceRef is a panel's, target's or variable's datasource.
type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// panel is what the tests read of a Grafana panel (rows hold their
// collapsed panels in Panels).
type panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  *datasourceRef `json:"datasource"`
	GridPos     struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr       string         `json:"expr"`
		RefID      string         `json:"refId"`
		Datasource *datasourceRef `json:"datasource"`
	} `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Panels []panel `json:"panels"`
}

// variable is a dashboard template variable.
type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource *datasourceRef  `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
}

// queryText is the variable's query: a string, or the query editor's
// object {"query": ...}.
func (v variable) queryText() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(v.Query, &o)
	return o.Query
}

// dashboard is what the tests read of the dashboard JSON.
type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

// allPanels returns every panel, rows' nested panels included, rows excluded.
func (d dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type != "row" {
				out = append(out, p)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// loadDashboard decodes deploy/grafana/sportsconnect.json, refusing unknown
// trailing data.
func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "grafana", "sportsconnect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("deploy/grafana/sportsconnect.json: %v", err)
	}
	if dec.More() {
		t.Fatal("deploy/grafana/sportsconnect.json: data after the dashboard object")
	}
	return d
}

// TestDashboardShape checks the dashboard as Grafana would import it:
// unique panel ids (rows and nested panels included), a description and a
// unit on every panel, every query on the datasource variable, panels
// inside the 24-column grid without overlapping, and the template
// variables the queries use.
func TestDashboardShape(t *testing.T) {
	d := loadDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q, uid %q: both are needed for provisioning and links", d.Title, d.UID)
	}
	if d.SchemaVersion < 39 {
		t.Errorf("schemaVersion %d: older than Grafana 11's", d.SchemaVersion)
	}

	vars := map[string]variable{}
	for _, v := range d.Templating.List {
		if _, dup := vars[v.Name]; dup {
			t.Errorf("variable %s defined twice", v.Name)
		}
		vars[v.Name] = v
	}
	if ds, ok := vars["datasource"]; !ok || ds.Type != "datasource" || ds.queryText() != "prometheus" {
		t.Errorf("no datasource variable of type prometheus: %+v", ds)
	}
	for _, name := range []string{"job", "instance", "connector", "task", "fixture"} {
		v, ok := vars[name]
		if !ok {
			t.Errorf("no %s variable", name)
			continue
		}
		if v.Type != "query" || !v.Multi || !v.IncludeAll {
			t.Errorf("variable %s: type %q multi %v includeAll %v, want a multi-value query with All", name, v.Type, v.Multi, v.IncludeAll)
		}
		if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
			t.Errorf("variable %s does not query the datasource variable: %+v", name, v.Datasource)
		}
		if v.Definition != v.queryText() {
			t.Errorf("variable %s: definition %q differs from its query %q", name, v.Definition, v.queryText())
		}
	}

	ids := map[int]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if prev, dup := ids[p.ID]; dup || p.ID <= 0 {
				t.Errorf("panel %q has id %d, already %q's (or not positive)", p.Title, p.ID, prev)
			}
			ids[p.ID] = p.Title
			walk(p.Panels)
		}
	}
	walk(d.Panels)

	panels := d.allPanels()
	if len(panels) < 25 {
		t.Errorf("%d panels", len(panels))
	}
	type cell struct{ x, y int }
	taken := map[cell]string{}
	for _, r := range d.Panels {
		if r.Type == "row" {
			for x := range 24 {
				taken[cell{x, r.GridPos.Y}] = "row " + r.Title
			}
		}
	}
	for _, p := range panels {
		name := p.Title
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		if len(strings.Fields(p.Description)) < 12 {
			t.Errorf("panel %q: its description should say what it shows and what to do when it looks bad: %q", name, p.Description)
		}
		if p.FieldConfig.Defaults.Unit == "" {
			t.Errorf("panel %q has no unit", name)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || p.Datasource.Type != "prometheus" {
			t.Errorf("panel %q does not use the datasource variable: %+v", name, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", name)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: target %q has no expression, or its refId is empty or repeated", name, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q target %s does not use the datasource variable", name, tg.RefID)
			}
		}
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", name, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[cell{x, y}]; ok {
					t.Errorf("panels %q and %q overlap at (%d,%d)", other, name, x, y)
					return
				}
				taken[cell{x, y}] = name
			}
		}
	}
}
