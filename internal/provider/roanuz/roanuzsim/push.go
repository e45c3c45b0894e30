package roanuzsim

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/backoff"
)

// PushOptions configure a Pusher: where it posts and which faults it injects.
type PushOptions struct {
	URL          string        // the receiver URL (with the secret segment in path-token mode)
	SecretHeader string        // header carrying the secret; "" = none
	Secret       string        // the secret
	Senders      int           // concurrent senders (default 4)
	RetryMin     time.Duration // first retry delay (default 50 ms), doubling with jitter
	RetryMax     time.Duration // longest retry delay (default 1 s)
	Timeout      time.Duration // per-request timeout (default 15 s)
	Seed         uint64        // fault and order choices
	Duplicates   float64       // probability a push is sent again after its 2xx
	LostAckEvery int           // fault: the 2xx of every N-th push is "lost" (ignored) and the push sent again
	Reorder      float64       // probability two neighbouring pushes swap places
	PlainJSON    float64       // probability a push is sent as plain JSON, not gzip
	// Injected bad requests, each sent once every N timeline pushes (0 = never):
	CorruptEvery   int // a gzip body with a broken stream
	OversizedEvery int // a body of OversizedBytes bytes
	WrongSecret    int // a valid push with the wrong secret
	BombEvery      int // a gzip bomb inflating to BombBytes
	OversizedBytes int // default 2 MiB
	BombBytes      int // default 64 MiB
}

// PushResult is the outcome of one timeline push.
type PushResult struct {
	Match    string
	Step     int
	Body     []byte // the JSON posted
	Attempts int
	Acked    time.Time     // when the 2xx came
	Latency  time.Duration // of the acknowledged attempt
}

// PushStats summarise a Pusher run.
type PushStats struct {
	Acked, Attempts, Retries, Duplicates, LostAcks int64
	ByStatus                                       map[int]int64 // status of every attempt (0 = transport error)
	Injected                                       map[string][]int
}

// Pusher posts a simulator's push timeline to a webhook like Roanuz does:
// gzipped JSON, retried until a 2xx, with duplicates, reordering and
// injected bad requests.
type Pusher struct {
	sim *Simulator
	o   PushOptions
	hc  *http.Client

	mu                                sync.Mutex
	results                           []*PushResult
	byStatus                          map[int]int64
	injected                          map[string][]int
	attempts, retries, dups, lostAcks atomic.Int64
}

// NewPusher returns a pusher of sim's timelines.
func (s *Simulator) NewPusher(o PushOptions) *Pusher {
	if o.Senders <= 0 {
		o.Senders = 4
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 50 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.OversizedBytes <= 0 {
		o.OversizedBytes = 2 << 20
	}
	if o.BombBytes <= 0 {
		o.BombBytes = 64 << 20
	}
	return &Pusher{sim: s, o: o, hc: &http.Client{Timeout: o.Timeout},
		byStatus: map[int]int64{}, injected: map[string][]int{}}
}

// Timeline returns every push of every match, in the order the pusher sends
// them (round-robin over matches, neighbours swapped by Reorder).
func (p *Pusher) Timeline() []*PushResult {
	var out []*PushResult
	longest := 0
	for _, m := range p.sim.o.matches {
		longest = max(longest, len(p.sim.tls[m].steps))
	}
	for i := 0; i < longest; i++ {
		for _, m := range p.sim.o.matches {
			if tl := p.sim.tls[m]; i < len(tl.steps) {
				out = append(out, &PushResult{Match: m, Step: i, Body: tl.pushBody(i)})
			}
		}
	}
	rng := rand.New(rand.NewPCG(p.o.Seed, 0x5eed))
	for i := 0; i+1 < len(out); i++ {
		if rng.Float64() < p.o.Reorder {
			out[i], out[i+1] = out[i+1], out[i]
			i++
		}
	}
	return out
}

// Run posts the whole timeline and returns when every push was
// acknowledged (nil) or ctx ended.
func (p *Pusher) Run(ctx context.Context) ([]*PushResult, error) {
	pushes := p.Timeline()
	p.mu.Lock()
	p.results = pushes
	p.mu.Unlock()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < p.o.Senders; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(p.o.Seed, uint64(w)+1))
			for i := range jobs {
				p.send(ctx, rng, pushes[i], i)
			}
		}(w)
	}
feed:
	for i := range pushes {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return pushes, fmt.Errorf("pusher: %w", err)
	}
	return pushes, nil
}

// send posts push i until a 2xx (and maybe once more as a duplicate), and
// injects the bad requests due at i.
func (p *Pusher) send(ctx context.Context, rng *rand.Rand, r *PushResult, i int) {
	p.inject(ctx, i, r.Body)
	bo := backoff.New(p.o.RetryMin, p.o.RetryMax)
	plain := rng.Float64() < p.o.PlainJSON
	for ctx.Err() == nil {
		r.Attempts++
		start := time.Now()
		status := p.Post(ctx, r.Body, plain, p.o.Secret)
		if status/100 == 2 && r.Attempts == 1 && p.o.LostAckEvery > 0 && i%p.o.LostAckEvery == p.o.LostAckEvery-1 {
			// As if the answer never came back: the provider sends it again.
			p.lostAcks.Add(1)
			status = 0
		}
		if status/100 == 2 {
			p.mu.Lock()
			r.Acked, r.Latency = time.Now(), time.Since(start)
			p.mu.Unlock()
			if rng.Float64() < p.o.Duplicates {
				p.dups.Add(1)
				p.Post(ctx, r.Body, !plain, p.o.Secret)
			}
			return
		}
		p.retries.Add(1)
		if bo.Wait(ctx) != nil {
			return
		}
	}
}

func (p *Pusher) inject(ctx context.Context, i int, body []byte) {
	every := func(n int) bool { return n > 0 && i%n == n-1 }
	record := func(kind string, status int) {
		p.mu.Lock()
		p.injected[kind] = append(p.injected[kind], status)
		p.mu.Unlock()
	}
	if every(p.o.CorruptEvery) {
		z := gzipBytes(body)
		z[len(z)/2] ^= 0xff
		z = z[:len(z)-4]
		record("corrupt", p.postRaw(ctx, z, "gzip", p.o.Secret))
	}
	if every(p.o.OversizedEvery) {
		big := append(bytes.Repeat([]byte(" "), p.o.OversizedBytes), body...)
		record("oversized", p.postRaw(ctx, big, "", p.o.Secret))
	}
	if every(p.o.WrongSecret) {
		record("wrong-secret", p.postRaw(ctx, gzipBytes(body), "gzip", p.o.Secret+"-wrong"))
	}
	if every(p.o.BombEvery) {
		record("bomb", p.postRaw(ctx, GzipBomb(p.o.BombBytes), "gzip", p.o.Secret))
	}
}

// Post sends body once, gzipped (or plain) with secret, outside the
// timeline (as a provider retry or a repeat would), and returns the status
// (0 on a transport error). It counts in Stats.
func (p *Pusher) Post(ctx context.Context, body []byte, plain bool, secret string) int {
	if plain {
		return p.postRaw(ctx, body, "", secret)
	}
	return p.postRaw(ctx, gzipBytes(body), "gzip", secret)
}

func (p *Pusher) postRaw(ctx context.Context, body []byte, encoding, secret string) int {
	p.attempts.Add(1)
	url := p.o.URL
	if p.o.SecretHeader == "" && secret != "" {
		url += "/" + secret
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	if p.o.SecretHeader != "" {
		req.Header.Set(p.o.SecretHeader, secret)
	}
	status := 0
	if resp, err := p.hc.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		status = resp.StatusCode
	}
	p.mu.Lock()
	p.byStatus[status]++
	p.mu.Unlock()
	return status
}

// Stats returns counts so far.
func (p *Pusher) Stats() PushStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := PushStats{Attempts: p.attempts.Load(), Retries: p.retries.Load(), Duplicates: p.dups.Load(), LostAcks: p.lostAcks.Load(),
		ByStatus: map[int]int64{}, Injected: map[string][]int{}}
	for k, v := range p.byStatus {
		st.ByStatus[k] = v
	}
	for k, v := range p.injected {
		st.Injected[k] = append([]int(nil), v...)
	}
	for _, r := range p.results {
		if !r.Acked.IsZero() {
			st.Acked++
		}
	}
	return st
}

// P99 returns the 99th percentile of the acknowledged attempts' latency.
func P99(rs []*PushResult) time.Duration {
	var ls []time.Duration
	for _, r := range rs {
		if !r.Acked.IsZero() {
			ls = append(ls, r.Latency)
		}
	}
	if len(ls) == 0 {
		return 0
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i] < ls[j] })
	return ls[min(len(ls)-1, len(ls)*99/100)]
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// GzipBomb returns a small gzip stream inflating to n bytes: a JSON object
// opening followed by spaces.
func GzipBomb(n int) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write([]byte(`{"sport":"cricket","pad":"`))
	chunk := bytes.Repeat([]byte("A"), 64<<10)
	for w := 0; w < n; w += len(chunk) {
		_, _ = zw.Write(chunk)
	}
	_, _ = zw.Write([]byte(`"}`))
	_ = zw.Close()
	return buf.Bytes()
}
