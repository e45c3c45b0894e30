package charttest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// helmVersion is the helm built from the Go module proxy for these tests.
const helmVersion = "v3.22.0"

const chart = "../sportsconnect"

// helm returns a helm binary, built once per machine (go install keeps the
// build in the Go build cache; the binary is kept in the temp dir).
func helm(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "sportsconnect-helm-"+helmVersion)
	bin := filepath.Join(dir, "helm")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", "helm.sh/helm/v3/cmd/helm@"+helmVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building helm %s from the Go module proxy: %v\n%s", helmVersion, err, out)
	}
	return bin
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// TestLint: helm lint --strict passes with the default values and with
// every option on.
func TestLint(t *testing.T) {
	h := helm(t)
	run(t, h, "lint", "--strict", chart)
	run(t, h, "lint", "--strict", chart, "-f", "testdata/full-values.yaml")
}

// rendered is one manifest of helm template, decoded.
type rendered struct {
	kind, name string
	obj        any
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// the chart renders (it is a CRD, not in k8s.io/api).
type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// template renders the chart and decodes every manifest strictly: a field
// the Kubernetes API types do not know fails the test.
func template(t *testing.T, args ...string) []rendered {
	t.Helper()
	out := run(t, helm(t), append([]string{"template", "rel", chart}, args...)...)
	var docs []rendered
	for _, doc := range strings.Split(out, "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(doc), "---")) == "" {
			continue
		}
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("manifest is not YAML: %v\n%s", err, doc)
		}
		var obj any
		switch head.Kind {
		case "ConfigMap":
			obj = &corev1.ConfigMap{}
		case "Secret":
			obj = &corev1.Secret{}
		case "Service":
			obj = &corev1.Service{}
		case "Deployment":
			obj = &appsv1.Deployment{}
		case "PodDisruptionBudget":
			obj = &policyv1.PodDisruptionBudget{}
		case "Job":
			obj = &batchv1.Job{}
		case "ServiceMonitor":
			obj = &serviceMonitor{}
		default:
			t.Fatalf("unexpected kind %q rendered", head.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s %s does not decode strictly: %v\n%s", head.Kind, head.Metadata.Name, err, doc)
		}
		docs = append(docs, rendered{kind: head.Kind, name: head.Metadata.Name, obj: obj})
	}
	return docs
}

func kinds(docs []rendered) []string {
	var out []string
	for _, d := range docs {
		out = append(out, d.kind+"/"+d.name)
	}
	slices.Sort(out)
	return out
}

func find[T any](t *testing.T, docs []rendered, kind string) T {
	t.Helper()
	for _, d := range docs {
		if d.kind == kind {
			return d.obj.(T)
		}
	}
	t.Fatalf("no %s rendered", kind)
	var zero T
	return zero
}

// TestTemplateDefaults: the default values render a ConfigMap, Deployment,
// Service and PodDisruptionBudget; the Deployment runs distributed mode
// with its probes, and the worker.properties it mounts is accepted by the
// worker's own parser, with the pod IP as the advertised host.
func TestTemplateDefaults(t *testing.T) {
	docs := template(t)
	want := []string{"ConfigMap/rel-sportsconnect", "Deployment/rel-sportsconnect", "PodDisruptionBudget/rel-sportsconnect", "Service/rel-sportsconnect"}
	if got := kinds(docs); !slices.Equal(got, want) {
		t.Fatalf("rendered %v, want %v", got, want)
	}
	t.Logf("default values render: %v", kinds(docs))
	d := find[*appsv1.Deployment](t, docs, "Deployment")
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Fatalf("replicas %v, want 3", d.Spec.Replicas)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "distributed") {
		t.Fatalf("args %v do not run distributed mode", c.Args)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Fatalf("probes %+v %+v", c.ReadinessProbe, c.LivenessProbe)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Fatalf("resources %+v", c.Resources)
	}
	if sc := d.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Fatal("pods may run as root")
	}

	cm := find[*corev1.ConfigMap](t, docs, "ConfigMap")
	t.Setenv("POD_IP", "10.1.2.3")
	raw, err := worker.ParseProperties(strings.NewReader(cm.Data["worker.properties"]))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := worker.ParseWorkerConfig(raw)
	if err != nil {
		t.Fatalf("the rendered worker.properties is refused:\n%v\n%s", err, cm.Data["worker.properties"])
	}
	if ws.Distributed.AdvertisedHost != "10.1.2.3" || ws.REST.Addr != "0.0.0.0:8083" {
		t.Fatalf("advertised host %q, listener %q", ws.Distributed.AdvertisedHost, ws.REST.Addr)
	}
}

// TestTemplateEverything: with every option on, the webhook Service (also
// for pods not ready: standbys answer it), the ServiceMonitor, the Secret
// and the connectors Job render; each connector config the Job applies is
// a valid config of its class.
func TestTemplateEverything(t *testing.T) {
	docs := template(t, "-f", "testdata/full-values.yaml")
	want := []string{"ConfigMap/rel-sportsconnect", "Deployment/rel-sportsconnect", "Job/rel-sportsconnect-connectors",
		"PodDisruptionBudget/rel-sportsconnect", "Secret/rel-sportsconnect-secrets", "Service/rel-sportsconnect",
		"Service/rel-sportsconnect-webhook", "ServiceMonitor/rel-sportsconnect"}
	if got := kinds(docs); !slices.Equal(got, want) {
		t.Fatalf("rendered %v, want %v", got, want)
	}
	t.Logf("every option on renders: %v", kinds(docs))
	for _, r := range docs {
		if s, ok := r.obj.(*corev1.Service); ok && r.name == "rel-sportsconnect-webhook" && !s.Spec.PublishNotReadyAddresses {
			t.Fatal("the webhook Service must reach pods that are not ready")
		}
	}
	job := find[*batchv1.Job](t, docs, "Job")
	if job.Annotations["helm.sh/hook"] != "post-install,post-upgrade" {
		t.Fatalf("job hook %q", job.Annotations["helm.sh/hook"])
	}
	args := job.Spec.Template.Spec.Containers[0].Args
	if args[0] != "apply" || !slices.Contains(args, "/etc/sportsconnect/connector-syn.json") || !slices.Contains(args, "/etc/sportsconnect/connector-rzhook.json") {
		t.Fatalf("job args %v", args)
	}
	cm := find[*corev1.ConfigMap](t, docs, "ConfigMap")
	plugins := connector.NewPlugins(synthetic.Plugin(), roanuz.WebhookPlugin())
	for _, name := range []string{"syn", "rzhook"} {
		body := cm.Data["connector-"+name+".json"]
		cfg, err := worker.ParseConnectorJSON([]byte(body))
		if err != nil {
			t.Fatalf("connector-%s.json: %v\n%s", name, err, body)
		}
		if cfg[connector.KeyName] != name {
			t.Fatalf("connector-%s.json names %q", name, cfg[connector.KeyName])
		}
		if _, _, err := connector.ValidateConnector(plugins, cfg); err != nil {
			t.Fatalf("connector-%s.json is invalid: %v", name, err)
		}
	}
	props := cm.Data["worker.properties"]
	for _, line := range []string{"security.protocol=SASL_SSL", "rest.auth.token=${file:/etc/sportsconnect/secrets/secrets.properties:rest.token}"} {
		if !strings.Contains(props, line+"\n") {
			t.Fatalf("worker.properties lacks %q:\n%s", line, props)
		}
	}
	sec := find[*corev1.Secret](t, docs, "Secret")
	if !strings.Contains(sec.StringData["secrets.properties"], "rest.token=not-a-real-token") {
		t.Fatalf("secrets.properties: %q", sec.StringData["secrets.properties"])
	}
}
