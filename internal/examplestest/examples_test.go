package examplestest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

// root is the repository root, from this package's directory.
const root = "../.."

// TestExamples validates every example directory with the real binary,
// and checks what validate cannot see: no inline comments in a
// .properties file, and every environment variable an example needs named
// in a comment of its worker.properties.
func TestExamples(t *testing.T) {
	bin := testenv.Binary(t)
	examples := []struct {
		dir   string
		class string // connector.class of its connector.json; "" = a worker config alone
	}{
		{"synthetic", "synthetic"},
		{"imgarena", "imgarena"},
		{"saba", "saba"},
		{"roanuz-webhook", "roanuz.webhook"},
		{"roanuz-match", "roanuz.match"},
		{"secured", ""},
		{"secured-mtls", ""},
		{"secured-oauth", ""},
		{"distributed", ""},
	}
	entries, err := os.ReadDir(filepath.Join(root, "deploy/examples"))
	if err != nil {
		t.Fatal(err)
	}
	// Examples that are not worker configs, and the test that runs each.
	listed := map[string]bool{
		"flink": true, // a Flink SQL job reading live.events: internal/flinktest
	}
	for _, ex := range examples {
		listed[ex.dir] = true
	}
	for _, e := range entries {
		if e.IsDir() && !listed[e.Name()] {
			t.Errorf("deploy/examples/%s is not checked: add it to the table", e.Name())
		}
	}
	for _, ex := range examples {
		t.Run(ex.dir, func(t *testing.T) {
			dir := filepath.Join(root, "deploy/examples", ex.dir)
			props := readFile(t, filepath.Join(dir, "worker.properties"))
			checkProperties(t, "worker.properties", props)
			files := []config{{name: "worker.properties", text: props, worker: true}}
			if ex.class != "" {
				conn := readFile(t, filepath.Join(dir, "connector.json"))
				var body struct {
					Name   string            `json:"name"`
					Config map[string]string `json:"config"`
				}
				if err := json.Unmarshal([]byte(conn), &body); err != nil {
					t.Fatalf("connector.json is not Connect's POST /connectors body: %v", err)
				}
				if body.Name == "" || body.Config["connector.class"] != ex.class {
					t.Errorf("connector.json: name %q, connector.class %q; want a name and %q", body.Name, body.Config["connector.class"], ex.class)
				}
				files = append(files, config{name: "connector.json", text: conn})
			}
			documented := commentText(props)
			for _, f := range files {
				for _, name := range envRefs(f.text) {
					if !regexp.MustCompile(`\b` + name + `\b`).MatchString(documented) {
						t.Errorf("%s uses ${env:%s}, which no comment of worker.properties names", f.name, name)
					}
				}
			}
			validate(t, bin, files...)
		})
	}
}

// TestREADMESnippets validates every ```properties block of README.md as a
// worker config and every ```json block as a connector config.
func TestREADMESnippets(t *testing.T) {
	bin := testenv.Binary(t)
	blocks := fencedBlocks(readFile(t, filepath.Join(root, "README.md")))
	minimalWorker := config{name: "minimal.properties", text: "bootstrap.servers=127.0.0.1:9092\nschema.registry.url=http://127.0.0.1:8081\n", worker: true}
	counts := map[string]int{}
	for _, b := range blocks {
		switch b.lang {
		case "properties":
			counts[b.lang]++
			t.Run(fmt.Sprintf("properties at line %d", b.line), func(t *testing.T) {
				checkProperties(t, "README.md", b.text)
				validate(t, bin, config{name: "worker.properties", text: b.text, worker: true})
			})
		case "json":
			counts[b.lang]++
			t.Run(fmt.Sprintf("json at line %d", b.line), func(t *testing.T) {
				validate(t, bin, minimalWorker, config{name: "connector.json", text: b.text})
			})
		}
	}
	if counts["properties"] == 0 || counts["json"] == 0 {
		t.Fatalf("README.md has %d properties and %d json blocks: the test finds none to check (fences changed?)", counts["properties"], counts["json"])
	}
}

// config is one file to validate.
type config struct {
	name, text string
	worker     bool // a worker .properties; else a connector .json
}

// validate runs `sportsconnect validate` on the files (the worker config
// first), with the files they name stood in for and the environment they
// reference set, and fails on any problem.
func validate(t *testing.T, bin string, files ...config) {
	t.Helper()
	dir := t.TempDir()
	st := &standIns{t: t, dir: dir}
	args := []string{"validate"}
	for _, f := range files {
		text := f.text
		if f.worker {
			text = st.properties(text)
		} else {
			text = st.json(text)
		}
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), st.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sportsconnect validate: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(files) {
		t.Fatalf("validate printed %d lines for %d files:\n%s", len(lines), len(files), out)
	}
	for _, l := range lines {
		if !strings.Contains(l, ": ok") {
			t.Errorf("validate: %s", l)
		}
	}
}

// checkProperties fails on a line that is not a comment but holds '#':
// Java properties have no inline comments, so it would be part of a value.
func checkProperties(t *testing.T, name, text string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line != "" && line[0] != '#' && line[0] != '!' && strings.Contains(line, "#") {
			t.Errorf("%s line %d: %q: Java properties have no inline comments; put the comment on a line of its own", name, n, line)
		}
	}
}

// commentText returns the comment lines of a .properties text.
func commentText(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "#") || strings.HasPrefix(l, "!") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

var (
	envRef  = regexp.MustCompile(`\$\{env:([^}]*)\}`)
	fileRef = regexp.MustCompile(`\$\{file:([^}]*)\}`)
)

// envRefs returns the environment variables text references outside
// comments, sorted.
func envRefs(text string) []string {
	seen := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "#") || strings.HasPrefix(t, "!") {
			continue
		}
		for _, m := range envRef.FindAllStringSubmatch(l, -1) {
			seen[m[1]] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// block is one fenced code block of a Markdown file.
type block struct {
	lang, text string
	line       int // of the opening fence
}

func fencedBlocks(md string) []block {
	var out []block
	var cur *block
	var body strings.Builder
	for i, l := range strings.Split(md, "\n") {
		if !strings.HasPrefix(l, "```") {
			if cur != nil {
				body.WriteString(l + "\n")
			}
			continue
		}
		if cur == nil {
			cur = &block{lang: strings.TrimSpace(strings.TrimPrefix(l, "```")), line: i + 1}
			body.Reset()
			continue
		}
		cur.text = body.String()
		out = append(out, *cur)
		cur = nil
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// standIns replaces what a config names outside itself with test
// stand-ins: ${env:NAME} gets a dummy value in env, ${file:PATH[:KEY]} a
// file in dir holding a dummy, and the TLS file settings PEM files.
type standIns struct {
	t   *testing.T
	dir string
	env []string
	n   int
}

// jaasDummy is a SASL login line the worker accepts.
const jaasDummy = `org.apache.kafka.common.security.scram.ScramLoginModule required username="example" password="example";`

// dummy is a stand-in value for key: a JAAS line for the SASL config, a
// plain word otherwise.
func dummy(key, value, ref string) string {
	whole := strings.TrimSpace(value) == ref
	switch {
	case key == "sasl.jaas.config" && whole:
		return jaasDummy
	case key == "basic.auth.user.info" && whole:
		return "example:example"
	}
	return "example"
}

// value returns v, the value of key, with its references pointed at
// stand-ins.
func (s *standIns) value(key, v string) string {
	for _, m := range envRef.FindAllStringSubmatch(v, -1) {
		s.env = append(s.env, m[1]+"="+dummy(key, v, m[0]))
	}
	v = fileRef.ReplaceAllStringFunc(v, func(ref string) string {
		arg := fileRef.FindStringSubmatch(ref)[1]
		content, suffix := dummy(key, v, ref)+"\n", ""
		if i := strings.LastIndex(arg, ":"); i > 0 {
			content, suffix = arg[i+1:]+"="+dummy(key, v, ref)+"\n", arg[i:]
		}
		return "${file:" + s.write(content) + suffix + "}"
	})
	switch key {
	case "ssl.truststore.location", "schema.registry.ssl.truststore.location":
		cert, _ := selfSigned(s.t)
		return s.write(cert)
	case "ssl.keystore.location", "schema.registry.ssl.keystore.location":
		cert, key := selfSigned(s.t)
		return s.write(cert + key)
	}
	return v
}

// write writes content to a new file in dir and returns its path.
func (s *standIns) write(content string) string {
	s.n++
	p := filepath.Join(s.dir, fmt.Sprintf("stand-in-%d", s.n))
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// properties rewrites the key=value lines of a .properties text.
func (s *standIns) properties(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		k, v, ok := strings.Cut(l, "=")
		if ok && t != "" && t[0] != '#' && t[0] != '!' {
			l = k + "=" + s.value(strings.TrimSpace(k), v)
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// json rewrites the values of a connector JSON text.
func (s *standIns) json(text string) string {
	var body struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal([]byte(text), &body); err != nil || body.Config == nil {
		s.t.Fatalf("not Connect's POST /connectors body {\"name\": ..., \"config\": {...}} with string values: %v\n%s", err, text)
	}
	for k, v := range body.Config {
		body.Config[k] = s.value(k, v)
	}
	b, err := json.Marshal(body)
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

// selfSigned returns a self-signed CA certificate and its key, PEM.
func selfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "examplestest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	var c, p bytes.Buffer
	_ = pem.Encode(&c, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&p, &pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	return c.String(), p.String()
}
