package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

const offsetsHelp = `  sportsconnect offsets get   --worker worker.properties syn
  sportsconnect offsets set   --worker worker.properties syn < offsets.json
  sportsconnect offsets set   --worker worker.properties --file offsets.json syn
  sportsconnect offsets reset --worker worker.properties syn

  offsets.json is the body of Connect's PATCH /connectors/{name}/offsets
  (a null offset deletes that partition's offset):
    {"offsets": [{"partition": {"partition": 0}, "offset": {"position": 1200}}]}

  set and reset are refused while the connector runs. How that is decided:
   1. The worker's REST API (--rest, default the worker config's listeners)
      is asked for the connector's status. If that worker runs it and it is
      not STOPPED, the change is refused (stop it first:
      curl -X PUT http://127.0.0.1:8083/connectors/syn/stop). If it is
      STOPPED there, the change is made through that worker's API.
   2. Otherwise the broker is asked whether a worker of the group is alive
      (every running worker is a member of the Kafka group named by its
      group.id, shown by kafka-consumer-groups.sh --describe --members), and
      for the connector's tasks' transactional ids
      (<group.id>-<connector>-<task>): a live worker, even an idle one, or a
      transaction open right now refuses the change unless --force.
   3. The change is written to the offsets topic in one transaction, after
      fencing every task's transactional id: a task still running anywhere
      (a worker without a REST API, an idle one) can never commit again and
      fails as fenced, so exactly-once holds even then.`

func offsetsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "get" && args[0] != "set" && args[0] != "reset") {
		fmt.Fprintf(stderr, "Usage: sportsconnect offsets get|set|reset [flags] CONNECTOR\n\nExamples:\n%s\n", offsetsHelp)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return fmt.Errorf("%w: expected get, set or reset", errUsage)
	}
	verb := args[0]
	fs := newFlags("offsets "+verb, "offsets "+verb+" [flags] CONNECTOR", offsetsHelp, stderr)
	workerPath := fs.String("worker", "", "worker properties file (bootstrap.servers, group.id, offset.storage.topic, listeners)")
	file := fs.String("file", "-", "set: the offsets JSON file; - reads stdin")
	restURL := fs.String("rest", "", "REST API of the worker that may run the connector (default: the worker config's listeners; 'none' skips the check)")
	tasks := fs.Int("tasks", 1, "set/reset: fence at least this many task ids (tasks.max); ids the broker knows are fenced too")
	force := fs.Bool("force", false, "set/reset: write even if a task of the connector has a transaction open (that task is fenced and fails)")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 || *workerPath == "" {
		fs.Usage()
		return fmt.Errorf("%w: need --worker FILE and one CONNECTOR name", errUsage)
	}
	name := fs.Arg(0)
	ws, err := worker.LoadWorkerConfig(*workerPath)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	topic := ws.Config.String(worker.WKeyOffsetsTopic)
	if verb == "get" {
		offs, err := worker.ReadConnectorOffsets(ctx, ws.Kafka, topic, name)
		if err != nil {
			return err
		}
		return printJSON(stdout, offs)
	}
	var body []byte
	var offs worker.ConnectorOffsets
	if verb == "set" {
		if body, err = readInput(*file); err != nil {
			return err
		}
		if offs, err = worker.ParseConnectorOffsets(body); err != nil {
			return err
		}
		if len(offs.Offsets) == 0 {
			return fmt.Errorf("%w: no offsets given", worker.ErrBadOffsets)
		}
	}
	api := apiClient{base: *restURL, token: ws.REST.AuthToken}
	if api.base == "" && ws.REST.Addr != "" {
		api.base = "http://" + ws.REST.Addr
	}
	if api.base != "none" && api.base != "" {
		done, err := api.tryChange(ctx, verb, name, body, stdout)
		if done || err != nil {
			return err
		}
	}
	group := ws.Config.String(worker.WKeyGroupID)
	workers, err := worker.RunningWorkers(ctx, ws.Kafka, group)
	if err != nil {
		return err
	}
	if len(workers) > 0 && !*force {
		return fmt.Errorf("refusing to change the offsets of %s: %w (%s in group %s, which may run it even while idle); "+
			"change them through that worker's REST API after PUT /connectors/%s/stop, or stop the worker "+
			"(or use --force: its tasks of %s are fenced and fail)", name, worker.ErrWorkerRunning, strings.Join(workers, ", "), group, name, name)
	}
	n, open, err := connectorTxns(ctx, ws.Kafka, group, name)
	if err != nil {
		fmt.Fprintf(stderr, "offsets: could not list the tasks' transactions (%v); fencing %d task id(s)\n", err, *tasks)
	}
	if len(open) > 0 && !*force {
		return fmt.Errorf("refusing to change the offsets of %s: %s has a transaction open, so a worker is running the connector; "+
			"stop it first (or use --force: that task is fenced and fails)", name, strings.Join(open, ", "))
	}
	ow := worker.OffsetWriter{Kafka: ws.Kafka, Topic: topic, Group: group, Connector: name, Tasks: max(*tasks, n)}
	if verb == "set" {
		if err := ow.Alter(ctx, offs); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "The offsets for connector %s have been altered successfully (%d partition(s); %d task id(s) fenced)\n", name, len(offs.Offsets), ow.Tasks)
		return nil
	}
	if err := ow.Reset(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "The offsets for connector %s have been reset successfully (%d task id(s) fenced)\n", name, ow.Tasks)
	return nil
}

func readInput(path string) ([]byte, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("offsets file: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading offsets: %w", err)
	}
	return b, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// connectorTxns returns how many task ids of the connector the broker
// knows (highest task number + 1) and those with a transaction open now.
func connectorTxns(ctx context.Context, opts []kgo.Opt, group, name string) (int, []string, error) {
	txns, err := worker.ConnectorTransactions(ctx, opts, group, name)
	if err != nil {
		return 0, nil, err
	}
	n := 0
	var open []string
	for _, t := range txns {
		n = max(n, t.Task+1)
		switch t.State {
		case "Ongoing", "PrepareCommit", "PrepareAbort":
			open = append(open, t.ID)
		}
	}
	return n, open, nil
}

// apiClient asks a worker's REST API.
type apiClient struct {
	base, token string
}

func (a apiClient) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.base, "/")+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	cl := &http.Client{Timeout: 30 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// tryChange asks the worker at a.base about the connector. done means the
// change was made through it; an error means it was refused. Neither means
// no worker there runs the connector.
func (a apiClient) tryChange(ctx context.Context, verb, name string, body []byte, stdout io.Writer) (bool, error) {
	path := "/connectors/" + url.PathEscape(name)
	code, b, err := a.do(ctx, http.MethodGet, path+"/status", nil)
	if err != nil {
		return false, nil // no worker answers there
	}
	switch code {
	case http.StatusNotFound:
		return false, nil
	case http.StatusOK:
	default:
		return false, fmt.Errorf("asking the worker at %s about %s: HTTP %d: %s", a.base, name, code, bytes.TrimSpace(b))
	}
	var st struct {
		Connector struct {
			State string `json:"state"`
		} `json:"connector"`
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Connector.State == "" {
		return false, fmt.Errorf("the service at %s is not a sportsconnect/Connect worker (status answer %q)", a.base, bytes.TrimSpace(b))
	}
	if st.Connector.State != string(worker.StateStopped) {
		return false, fmt.Errorf("refusing to change the offsets of %s: it is %s on the worker at %s; stop it first:\n  curl -X PUT %s%s/stop",
			name, st.Connector.State, a.base, strings.TrimRight(a.base, "/"), path)
	}
	method := http.MethodPatch
	if verb == "reset" {
		method, body = http.MethodDelete, nil
	}
	code, b, err = a.do(ctx, method, path+"/offsets", body)
	if err != nil {
		return false, fmt.Errorf("changing offsets through the worker at %s: %w", a.base, err)
	}
	var msg struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(b, &msg)
	if code != http.StatusOK {
		return false, errors.New("the worker at " + a.base + " refused: " + msg.Message)
	}
	fmt.Fprintf(stdout, "%s (through the worker at %s)\n", msg.Message, a.base)
	return true, nil
}
