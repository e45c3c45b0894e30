package roanuz

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// The order rule of the match stream. Roanuz sends no position, so after a
// (re)connect the task joins its matches and fetches each over REST; the
// REST answer and the socket updates that arrive meanwhile race, and the
// REST answer may be the older of the two. A document is written only if
//
//   - it is not a REST answer whose request was sent before a socket
//     update of the same match was received (the socket state is then at
//     least as new): dropped as "superseded";
//   - it is not behind the last written document in anything that only
//     moves forward in a match (see progress): dropped as "behind", from
//     either source;
//   - it is not one of the recent documents written before the last one:
//     dropped as "written before".
//
// Each drop is counted (MatchTask.stale) and logged; the balls of a
// dropped document whose keys were never written are still written. The
// first rule compares receipt numbers of this process (matchQueue), which
// need not outlive it: a socket update received before a crash was either
// committed, and is then what the second rule compares with, or is lost
// with the process. The second rule's reference, the progress of the last
// written document, is kept in the match's committed offset, so it holds
// across restarts. A socket update counts as received when it is queued:
// one that waits for room in a full queue may supersede a REST answer
// requested meanwhile, which errs on the side of the socket.

// Reasons a stale document is dropped.
const (
	staleSuperseded = "superseded"
	staleBehind     = "behind"
	staleRevisit    = "written before"
)

// Sources of a match document.
const (
	sourceSocket = "socket"
	sourceREST   = "rest"
)

// offsetProgress is the offset key of the last written document's progress.
const offsetProgress = "progress"

// progress is how far a match document is, in what only moves forward in a
// match: status (not_started 0, started 1, completed 2), toss decided
// (0/1), squads announced, innings started, innings completed, legal balls
// bowled, the latest ball key of related_balls and the latest updated_time
// among them (a correction moves it on). A field is -1 where the document
// does not carry it, and is then not compared.
type progress struct {
	status, toss, squads, innings, inningsDone, balls, lastBall int64
	updated                                                     float64
}

// unknownProgress compares with nothing.
var unknownProgress = progress{-1, -1, -1, -1, -1, -1, -1, -1}

// behind reports whether p is older than q in any field both carry.
func (p progress) behind(q progress) bool {
	a := [...]int64{p.status, p.toss, p.squads, p.innings, p.inningsDone, p.balls, p.lastBall}
	b := [...]int64{q.status, q.toss, q.squads, q.innings, q.inningsDone, q.balls, q.lastBall}
	for i := range a {
		if a[i] >= 0 && b[i] >= 0 && a[i] < b[i] {
			return true
		}
	}
	return p.updated >= 0 && q.updated >= 0 && p.updated < q.updated
}

// String encodes p for the offset: "p1:" and the fields, comma-separated.
func (p progress) String() string {
	return fmt.Sprintf("p1:%d,%d,%d,%d,%d,%d,%d,%s", p.status, p.toss, p.squads, p.innings, p.inningsDone, p.balls, p.lastBall,
		strconv.FormatFloat(p.updated, 'f', -1, 64))
}

// parseProgress decodes String's form; anything else is unknownProgress.
func parseProgress(s string) progress {
	f := strings.Split(strings.TrimPrefix(s, "p1:"), ",")
	if !strings.HasPrefix(s, "p1:") || len(f) != 8 {
		return unknownProgress
	}
	var n [7]int64
	for i := range n {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return unknownProgress
		}
		n[i] = v
	}
	u, err := strconv.ParseFloat(f[7], 64)
	if err != nil {
		return unknownProgress
	}
	return progress{n[0], n[1], n[2], n[3], n[4], n[5], n[6], u}
}

// statusRank orders the documented match statuses; -1 for any other.
func statusRank(s string) int64 {
	switch s {
	case "not_started":
		return 0
	case "started":
		return 1
	case "completed":
		return 2
	}
	return -1
}

// presence counts what a raw JSON field holds: -1 absent, 0 null or
// empty, else 1 (or, for an object, its non-null members).
func presence(raw json.RawMessage) int64 {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "":
		return -1
	case s == "null" || s == "{}" || s == "[]" || s == `""`:
		return 0
	case strings.HasPrefix(s, "{"):
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return -1
		}
		var n int64
		for _, v := range m {
			if t := strings.TrimSpace(string(v)); t != "null" && t != "{}" && t != "[]" {
				n++
			}
		}
		return n
	}
	return 1
}

// ballProgress returns the latest ball key (-1 if none is a number) and the
// latest updated_time (-1 if none) of related_balls.
func ballProgress(balls []rawBall) (last int64, updated float64) {
	last, updated = -1, -1
	for _, b := range balls {
		if k, err := strconv.ParseInt(b.key, 10, 64); err == nil && k > last {
			last = k
		}
		var d struct {
			UpdatedTime json.Number `json:"updated_time"`
		}
		if json.Unmarshal(b.raw, &d) == nil && d.UpdatedTime != "" {
			if f, err := strconv.ParseFloat(string(d.UpdatedTime), 64); err == nil && f > updated {
				updated = f
			}
		}
	}
	return last, updated
}

// staleCounts counts the stale documents dropped, by reason.
type staleCounts struct {
	superseded, behind, revisit atomic.Int64
}

// add counts one drop for reason and returns the total so far.
func (c *staleCounts) add(reason string) int64 {
	switch reason {
	case staleSuperseded:
		c.superseded.Add(1)
	case staleBehind:
		c.behind.Add(1)
	default:
		c.revisit.Add(1)
	}
	return c.total()
}

// total returns every drop so far.
func (c *staleCounts) total() int64 {
	return c.superseded.Load() + c.behind.Load() + c.revisit.Load()
}

// staleReason returns why the document doc, of did's content, must not be
// written after st's last written one ("" if it may be).
func staleReason(st *matchState, msg streamMsg, doc *matchDocument, did uint64) string {
	switch {
	case msg.source == sourceREST && st.sockSeq > msg.seq:
		return staleSuperseded
	case doc.progress.behind(st.progress) || (st.completed && doc.match.Status != "completed"):
		return staleBehind
	case st.docs.has(did):
		return staleRevisit
	}
	return ""
}

// dropStale counts and logs a stale document of match m, of progress p.
func (t *MatchTask) dropStale(m *Match, msg streamMsg, p progress, reason string, st *matchState) {
	total := t.stale.add(reason)
	t.log.Info("roanuz stale match document dropped", zap.String("match", m.Key), zap.String("source", msg.source),
		zap.String("reason", reason), zap.String("etag", m.Etag), zap.String("written_etag", st.etag),
		zap.Stringer("progress", p), zap.Stringer("written_progress", st.progress),
		zap.Duration("age", time.Since(msg.received)), zap.Int64("dropped_total", total))
}
