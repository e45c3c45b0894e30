package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/backoff"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
)

// applyCmd puts connector configs through a worker's REST API: PUT
// /connectors/NAME/config creates or updates each (idempotent), retried
// while the cluster starts or rebalances. The Helm chart's post-install
// Job runs it.
func applyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("apply", "apply [flags] CONNECTOR.json...", `  sportsconnect apply --url http://sportsconnect:8083 imgarena.json saba.json
  sportsconnect apply --url http://127.0.0.1:8083 --token '${env:REST_TOKEN}' syn.json`, stderr)
	base := fs.String("url", "http://127.0.0.1:8083", "the REST API of any worker of the cluster")
	token := fs.String("token", "", "bearer token (rest.auth.token); ${env:…} and ${file:…} references are resolved")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to retry while the cluster starts or rebalances")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: no connector config given", errUsage)
	}
	if _, err := url.ParseRequestURI(*base); err != nil || !strings.HasPrefix(*base, "http") {
		return fmt.Errorf("%w: --url %q is not an http(s) URL", errUsage, *base)
	}
	bearer := ""
	if *token != "" {
		resolved, err := worker.ResolveRefs(connector.Config{"token": *token})
		if err != nil {
			return fmt.Errorf("--token: %w", err)
		}
		bearer = resolved["token"]
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cl := &http.Client{Timeout: 30 * time.Second}
	for _, path := range fs.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("connector config: %w", err)
		}
		cfg, err := worker.ParseConnectorJSON(b)
		if err != nil {
			return fmt.Errorf("connector config %s: %w", path, err)
		}
		status, err := putConfig(ctx, cl, strings.TrimSuffix(*base, "/"), bearer, cfg)
		if err != nil {
			return fmt.Errorf("applying %s: %w", path, err)
		}
		verb := "updated"
		if status == http.StatusCreated {
			verb = "created"
		}
		fmt.Fprintf(stdout, "connector %s %s\n", cfg[connector.KeyName], verb)
	}
	return nil
}

// putConfig sends one PUT /connectors/NAME/config, retrying transport
// errors, 409 (a rebalance) and 5xx until ctx ends; any other refusal is
// returned with the API's message.
func putConfig(ctx context.Context, cl *http.Client, base, bearer string, cfg connector.Config) (int, error) {
	name := cfg[connector.KeyName]
	body, err := json.Marshal(cfg)
	if err != nil {
		return 0, err
	}
	wait := backoff.New(200*time.Millisecond, 5*time.Second)
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/connectors/"+url.PathEscape(name)+"/config", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := cl.Do(req)
		if err == nil {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			switch {
			case resp.StatusCode < 300:
				return resp.StatusCode, nil
			case resp.StatusCode == http.StatusConflict || resp.StatusCode >= 500:
				err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
			default:
				return resp.StatusCode, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
			}
		}
		last = err
		if werr := wait.Wait(ctx); werr != nil {
			return 0, fmt.Errorf("gave up retrying (%w); last error: %w", werr, last)
		}
	}
}
