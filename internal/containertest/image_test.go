package containertest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/eoscheck"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The synthetic run the containerized worker writes.
const (
	partitions = 4
	events     = 500
	payload    = 560 // the synthetic connector's default payload size
)

// imageFiles is everything the image may hold: a regular file not listed
// here (a shell, a package database, a library) fails the test.
var imageFiles = []string{
	"etc/group",
	"etc/passwd",
	"etc/ssl/certs/ca-certificates.crt",
	"sportsconnect",
	"usr/share/doc/sportsconnect/LICENSE",
	"usr/share/doc/sportsconnect/THIRD_PARTY_NOTICES.md",
}

// env is the repository root and the podman configuration every call uses.
type env struct {
	root string
	conf string // CONTAINERS_CONF
}

// newEnv locates the checkout and its committed podman configuration.
func newEnv(t *testing.T) env {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env GOMOD: %v (%q)", err, out)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	return env{root: root, conf: filepath.Join(root, "deploy", "container", "containers.conf")}
}

// command returns podman with the project's configuration and runtime.
func (e env) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "podman", append([]string{"--runtime", "runc"}, args...)...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+e.conf)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// podman runs podman args within d and returns its stdout; it fails t with
// the command's whole output on a non-zero exit.
func (e env) podman(t *testing.T, d time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := e.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("podman %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, tail(stdout.String()), tail(stderr.String()))
	}
	return stdout.String()
}

// script runs a bash script of deploy/container with extra environment and
// fails t with its output on a non-zero exit.
func (e env) script(t *testing.T, d time.Duration, name string, extraEnv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(e.root, "deploy", "container", name))
	cmd.Dir = e.root
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("deploy/container/%s: %v\n%s", name, err, tail(string(out)))
	}
	return string(out)
}

// tail returns the last 60 lines of s.
func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 60 {
		lines = append([]string{fmt.Sprintf("[... %d lines before]", len(lines)-60)}, lines[len(lines)-60:]...)
	}
	return strings.Join(lines, "\n")
}

// randomHex returns n random bytes in hex.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestImage builds the image from this checkout and proves it: (a) podman
// is there or gets installed, and the image builds with no base image;
// its content is exactly the static binary, the CA bundle, passwd/group and
// the licence files (no shell), it runs as uid 65532 with the OCI labels
// the binary's build information says; (b) `demo` exits 0 in it; (c) a
// standalone worker in it, with worker.properties and connector.json
// mounted read-only, writes a synthetic run to the real broker that reads
// back exactly once with committed offsets at the end, and exits 0 on
// SIGTERM (podman stop); (d) the image's size is logged.
func TestImage(t *testing.T) {
	// The real broker and registry first: like every broker test, missing
	// services fail here (and -short skips) before a minute of building.
	testenv.Kafka(t)
	registry := testenv.Registry(t)
	e := newEnv(t)
	start := time.Now()

	// (a) podman, the image, what is in it.
	e.script(t, 5*time.Minute, "ensure-podman.sh")
	t.Logf("podman ready in %s", time.Since(start).Round(time.Millisecond))

	image := "localhost/sportsconnect-test:" + randomHex(t, 6)
	built := time.Now()
	out := e.script(t, 8*time.Minute, "build.sh", "IMAGE="+image)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if b, err := e.command(ctx, "rmi", "--force", image).CombinedOutput(); err != nil {
			t.Errorf("podman rmi %s: %v\n%s", image, err, b)
		}
	})
	t.Logf("image %s built in %s: %s", image, time.Since(built).Round(time.Millisecond), lastLine(out))

	checkImageConfig(t, e, image, checkImageContent(t, e, image))

	// (b) the demo inside the image.
	demoStart := time.Now()
	demo := e.podman(t, 4*time.Minute, "run", "--rm", "--network", "host", image, "demo")
	if !strings.Contains(demo, "nothing lost, nothing duplicated") {
		t.Fatalf("demo exited 0 but did not report its check:\n%s", tail(demo))
	}
	t.Logf("demo in the image: exit 0 in %s", time.Since(demoStart).Round(time.Millisecond))

	// (c) a standalone worker from the image against the real broker.
	workerStart := time.Now()
	runWorker(t, e, image, registry)
	t.Logf("worker in the image: %d x %d events exactly once, SIGTERM exit 0, in %s",
		partitions, events, time.Since(workerStart).Round(time.Millisecond))

	// (d) the size.
	size, err := strconv.ParseInt(strings.TrimSpace(e.podman(t, time.Minute, "image", "inspect", "--format", "{{.Size}}", image)), 10, 64)
	if err != nil {
		t.Fatalf("image size: %v", err)
	}
	t.Logf("image size: %d bytes (%.1f MB); whole test %s", size, float64(size)/1e6, time.Since(start).Round(time.Millisecond))
	// The binary is about 25 MB: much more means something besides it and
	// its few files got in (a base image, a second binary).
	if size > 64<<20 {
		t.Errorf("image is %d bytes, more than 64 MiB: what besides the static binary is in it?", size)
	}
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// built is what the image's binary says of its own build.
type built struct {
	version, revision string
}

// checkImageContent exports the image's file system and checks it holds
// exactly imageFiles, all owned by root and not writable by others; that
// the binary is a static executable; that the CA bundle parses; that passwd
// and group name the user 65532; and that LICENSE and the notices are the
// checkout's. It returns the binary's build information.
func checkImageContent(t *testing.T, e env, image string) built {
	t.Helper()
	id := strings.TrimSpace(e.podman(t, time.Minute, "create", image))
	defer e.podman(t, time.Minute, "rm", "--force", id)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := e.command(ctx, "export", id)
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var problems []string
	tr := tar.NewReader(stdout)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading podman export: %v", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
		default:
			problems = append(problems, fmt.Sprintf("%s: not a regular file (type %q, link %q)", name, h.Typeflag, h.Linkname))
			continue
		}
		if h.Uid != 0 || h.Gid != 0 || h.Mode&0o022 != 0 {
			problems = append(problems, fmt.Sprintf("%s: owner %d:%d mode %o, want root-owned, writable by root only", name, h.Uid, h.Gid, h.Mode))
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading %s from podman export: %v", name, err)
		}
		files[name] = b
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("podman export: %v\n%s", err, stderr.String())
	}

	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	if strings.Join(names, " ") != strings.Join(imageFiles, " ") {
		problems = append(problems, fmt.Sprintf("files %v, want exactly %v", names, imageFiles))
	}
	for _, sh := range []string{"bin/sh", "bin/bash", "bin/busybox"} {
		if _, ok := files[sh]; ok {
			problems = append(problems, sh+": the image has a shell")
		}
	}

	bin := files["sportsconnect"]
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("sportsconnect in the image is not an ELF executable: %v", err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			problems = append(problems, "sportsconnect is dynamically linked (CGO_ENABLED=0 builds a static binary)")
			break
		}
	}
	bi, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("build information of the image's binary: %v", err)
	}
	var b built
	b.version, b.revision = bi.Main.Version, "unknown"
	if b.version == "" || b.version == "(devel)" {
		b.version = "dev"
	}
	cgo := ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.revision = s.Value
		case "CGO_ENABLED":
			cgo = s.Value
		case "-trimpath":
			if s.Value != "true" {
				problems = append(problems, "binary not built with -trimpath")
			}
		}
	}
	if cgo != "0" {
		problems = append(problems, fmt.Sprintf("binary built with CGO_ENABLED=%q, want 0", cgo))
	}

	if !x509.NewCertPool().AppendCertsFromPEM(files["etc/ssl/certs/ca-certificates.crt"]) {
		problems = append(problems, "etc/ssl/certs/ca-certificates.crt holds no certificate")
	}
	if !strings.Contains(string(files["etc/passwd"]), ":x:65532:65532:") {
		problems = append(problems, fmt.Sprintf("etc/passwd has no user 65532:\n%s", files["etc/passwd"]))
	}
	if !strings.Contains(string(files["etc/group"]), ":x:65532:") {
		problems = append(problems, fmt.Sprintf("etc/group has no group 65532:\n%s", files["etc/group"]))
	}
	for img, repo := range map[string]string{
		"usr/share/doc/sportsconnect/LICENSE":                "LICENSE",
		"usr/share/doc/sportsconnect/THIRD_PARTY_NOTICES.md": "deploy/THIRD_PARTY_NOTICES.md",
	} {
		want, err := os.ReadFile(filepath.Join(e.root, repo))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(files[img], want) {
			problems = append(problems, img+" differs from the checkout's "+repo)
		}
	}
	if len(problems) > 0 {
		t.Fatalf("image content:\n  %s", strings.Join(problems, "\n  "))
	}
	t.Logf("image content: %d files, static binary %d bytes, version %s revision %s", len(files), len(bin), b.version, b.revision)
	return b
}

// checkImageConfig checks the image's user, entry point and OCI labels.
func checkImageConfig(t *testing.T, e env, image string, b built) {
	t.Helper()
	var cfg struct {
		User       string
		Entrypoint []string
		Labels     map[string]string
	}
	if err := json.Unmarshal([]byte(e.podman(t, time.Minute, "image", "inspect", "--format", "{{json .Config}}", image)), &cfg); err != nil {
		t.Fatalf("podman image inspect: %v", err)
	}
	var problems []string
	if cfg.User != "65532" {
		problems = append(problems, fmt.Sprintf("User %q, want 65532", cfg.User))
	}
	if strings.Join(cfg.Entrypoint, " ") != "/sportsconnect" {
		problems = append(problems, fmt.Sprintf("Entrypoint %q, want [/sportsconnect]", cfg.Entrypoint))
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.source":   "https://github.com/seed-474f70f7/sportsconnect",
		"org.opencontainers.image.version":  b.version,
		"org.opencontainers.image.revision": b.revision,
		"org.opencontainers.image.title":    "sportsconnect",
	} {
		if got := cfg.Labels[k]; got != want {
			problems = append(problems, fmt.Sprintf("label %s=%q, want %q", k, got, want))
		}
	}
	if len(problems) > 0 {
		t.Fatalf("image config:\n  %s", strings.Join(problems, "\n  "))
	}
}

// runWorker runs `sportsconnect run` from the image with host networking
// against the real broker, its two config files mounted read-only, waits
// until the committed offsets say the synthetic run is complete, checks
// it exactly once, then stops the container with SIGTERM and requires
// exit 0.
func runWorker(t *testing.T, e env, image, registry string) {
	t.Helper()
	u := testenv.UniqueName(t, "sc-")
	group, offsets, prefix := u+"-g", u+"-offsets", u
	const name = "image"

	dir := t.TempDir()
	workerProps := filepath.Join(dir, "worker.properties")
	connJSON := filepath.Join(dir, "connector.json")
	write := func(p, content string) {
		// 0644: the container's user (65532) reads it through the bind mount.
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	write(workerProps, testenv.WorkerProperties(t, group, offsets))
	write(connJSON, fmt.Sprintf(`{"name": %q, "config": {
		"connector.class": "synthetic", "tasks.max": "2", "topic.prefix": %q,
		"transaction.boundary": "poll", "topic.creation.default.partitions": "2",
		"synthetic.partitions": "%d", "synthetic.events.per.partition": "%d",
		"synthetic.batch.max": "100"}}`, name, prefix, partitions, events))

	container := "sportsconnect-test-" + randomHex(t, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	cmd := e.command(ctx, "run", "--rm", "--name", container, "--network", "host",
		"--volume", workerProps+":/etc/sportsconnect/worker.properties:ro",
		"--volume", connJSON+":/etc/sportsconnect/connector.json:ro",
		image, "run", "/etc/sportsconnect/worker.properties", "/etc/sportsconnect/connector.json")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped { // a failure on the way: leave no container behind
			c, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_ = e.command(c, "rm", "--force", "--time", "0", container).Run()
			<-exited
		}
	}()

	opts := []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if err := eoscheck.CheckOffsets(ctx, opts, offsets, name, partitions, events); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the worker in the container did not commit %d events per partition within 2 minutes: %v\nlogs:\n%s", events, err, tail(logs.String()))
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("the worker's container exited before finishing the run (%v):\n%s", err, tail(logs.String()))
		case <-time.After(300 * time.Millisecond):
		}
	}

	// The process in the container is not root.
	// podman top reads /proc on the host (there is no ps in the image);
	// user is the name the image's /etc/passwd gives the effective uid.
	if user := strings.Fields(e.podman(t, time.Minute, "top", container, "user")); len(user) != 2 || user[1] != "sportsconnect" {
		t.Errorf("podman top %s user: %q, want the worker running as sportsconnect (65532)", container, user)
	}

	got, count, err := eoscheck.ReadTopic(ctx, opts, registry, prefix+".synthetic.events", payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := eoscheck.Check(got, partitions, events); err != nil {
		t.Fatal(err)
	}

	stopStart := time.Now()
	e.podman(t, time.Minute, "stop", "--time", "30", container)
	stopped = true
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the worker's container after SIGTERM: %v, want exit 0\nlogs:\n%s", err, tail(logs.String()))
		}
	case <-time.After(time.Minute):
		t.Fatalf("podman run did not return within a minute of podman stop\nlogs:\n%s", tail(logs.String()))
	}
	t.Logf("%d records read_committed, every partition 1..%d once; SIGTERM to exit 0 in %s",
		count, events, time.Since(stopStart).Round(time.Millisecond))
}
