package sabasim

import (
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
)

// negotiateEncoding picks the content coding for an Accept-Encoding value:
// the first of br, gzip, deflate the client lists, else identity. ok is
// false when the client lists only codings the server does not support.
func negotiateEncoding(h string) (coding string, ok bool) {
	if strings.TrimSpace(h) == "" {
		return "identity", true
	}
	identity, anyKnown := true, false
	for _, item := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(item), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		q := 1.0
		if k, v, found := strings.Cut(strings.TrimSpace(params), "="); found && strings.TrimSpace(k) == "q" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		switch name {
		case "br", "gzip", "deflate":
			anyKnown = true
			if q > 0 && coding == "" {
				coding = name
			}
		case "*":
			anyKnown = true
			if q > 0 && coding == "" {
				coding = "gzip"
			}
			if q == 0 {
				identity = false
			}
		case "identity":
			anyKnown = true
			if q == 0 {
				identity = false
			}
		}
	}
	switch {
	case coding != "":
		return coding, true
	case anyKnown && identity:
		return "identity", true
	}
	return "", false
}

// frameWriter writes SSE frames through the negotiated coding, flushing each.
type frameWriter struct {
	w   http.ResponseWriter
	enc io.Writer
	fl  interface{ Flush() error }
}

func newFrameWriter(w http.ResponseWriter, coding string) *frameWriter {
	fw := &frameWriter{w: w, enc: w}
	switch coding {
	case "br":
		bw := brotli.NewWriterLevel(w, 4)
		fw.enc, fw.fl = bw, bw
	case "gzip":
		gw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		fw.enc, fw.fl = gw, gw
	case "deflate":
		zw, _ := zlib.NewWriterLevel(w, zlib.BestSpeed)
		fw.enc, fw.fl = zw, zw
	}
	return fw
}

func (f *frameWriter) write(b []byte) error {
	if _, err := f.enc.Write(b); err != nil {
		return err
	}
	if f.fl != nil {
		if err := f.fl.Flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(f.w).Flush()
}

func (f *frameWriter) close() {
	if c, ok := f.enc.(io.Closer); ok && f.fl != nil {
		_ = c.Close()
	}
}

func frame(id string, data []byte) []byte {
	b := make([]byte, 0, len(id)+len(data)+20)
	b = append(b, "id: "...)
	b = append(b, id...)
	b = append(b, "\r\ndata: "...)
	b = append(b, data...)
	return append(b, "\r\n\r\n"...)
}

func writeStatus(w http.ResponseWriter, status int) {
	writeJSON(w, httpStatusOf(status), map[string]any{"status": status, "message": StatusMessage(status)})
}

func (s *Simulator) handleStream(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s.stats.connects.Add(1)
	claims, err := s.checkToken(requestToken(r))
	if err != nil {
		s.stats.unauthorized.Add(1)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "token invalid or expired"})
		return
	}
	s.mu.Lock()
	fail := 0
	if len(s.failNext) > 0 {
		fail, s.failNext = s.failNext[0], s.failNext[1:]
	}
	s.mu.Unlock()
	if fail != 0 {
		writeStatus(w, fail)
		return
	}
	coding, ok := negotiateEncoding(r.Header.Get("Accept-Encoding"))
	if !ok {
		writeStatus(w, StatusInvalidEncoding)
		return
	}
	q := r.URL.Query()
	view, err := newStreamView(r.PathValue("endpoint"), q.Get("query"), q.Get("includeMarkets"))
	if err != nil {
		writeStatus(w, StatusInvalidQuery)
		return
	}

	// Where the connection starts: a replay after Last-Event-Id, or a snapshot.
	lastID := r.Header.Get("Last-Event-Id")
	s.mu.Lock()
	var first []byte
	pos := s.head
	resend := int64(-1) // index of the update the client named, sent again
	idx, known := s.Lookup(lastID)
	switch {
	case lastID != "" && known && idx <= s.head && s.head-idx <= s.o.cacheSize && idx+1 >= s.logBase:
		pos = idx
		if s.o.replayInclude && idx >= s.logBase {
			pos, resend = idx-1, idx
		}
		s.stats.replays.Add(1)
	default:
		status := StatusInitialData
		if lastID != "" {
			status = StatusReset
			s.stats.resets.Add(1)
		} else {
			s.stats.initials.Add(1)
		}
		snap := s.state.snapshot()
		data, _, err := view.render(s.state, &snap, status)
		if err != nil {
			s.mu.Unlock()
			writeStatus(w, StatusInternalServerError)
			return
		}
		first = frame(s.IDOf(s.head), data)
	}
	cutGen := s.cutGen
	s.mu.Unlock()

	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	if coding != "identity" {
		w.Header().Set("Content-Encoding", coding)
	}
	w.WriteHeader(http.StatusOK)
	_ = http.NewResponseController(w).Flush() // headers now, even before the first frame
	fw := newFrameWriter(w, coding)
	defer fw.close()
	if !s.waitStall(r) {
		return
	}
	if first != nil {
		if err := fw.write(first); err != nil {
			return
		}
	}
	ka := time.NewTicker(s.o.keepAlive)
	defer ka.Stop()
	var kaCount int
	for {
		s.mu.Lock()
		notify, head, revoked, cut := s.notify, s.head, claims.Gen != s.tokenGen, s.cutGen != cutGen
		lost := pos < head && pos+1 < s.logBase // fell out of the cache: end, the client's reconnect gets a Reset
		var next []byte
		twice := false
		if pos < head && pos+1 >= s.logBase {
			u := s.log[pos+1-s.logBase]
			data, n, err := view.render(s.state, u, StatusSuccess)
			if err == nil && (n > 0 || u.Malformed) {
				next = frame(u.ID, data)
				twice = s.o.duplicateEvery > 0 && u.Index%s.o.duplicateEvery == 0
				if u.Index == resend {
					s.stats.duplicates.Add(1)
				}
			}
			pos++
		}
		s.mu.Unlock()
		if cut {
			s.stats.cuts.Add(1)
			partial := next
			if partial == nil {
				partial = []byte("id: " + s.IDOf(head+1) + "\r\ndata: {\"status\":0,\"message\":\"Succ")
			}
			_ = fw.write(partial[:len(partial)/2])
			panic(http.ErrAbortHandler)
		}
		if lost || revoked || (s.o.endOnExpiry && !s.tokenValid(claims)) {
			return
		}
		if !s.waitStall(r) {
			return
		}
		if next != nil {
			if err := fw.write(next); err != nil {
				return
			}
			if twice {
				s.stats.duplicates.Add(1)
				if err := fw.write(next); err != nil {
					return
				}
			}
			continue
		}
		if pos < head {
			continue // an update this stream's filter drops entirely
		}
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-notify:
		case <-ka.C:
			kaCount++
			ping := []byte(": keep-alive\r\n\r\n")
			if kaCount%3 == 0 {
				// Sometimes an event without id and without items.
				ping = []byte("data: {\"status\":0,\"message\":\"KeepAlive\",\"payload\":{}}\r\n\r\n")
			}
			if !s.waitStall(r) {
				return
			}
			if err := fw.write(ping); err != nil {
				return
			}
		}
	}
}

// waitStall blocks while a stall is in force; false if the request ended.
func (s *Simulator) waitStall(r *http.Request) bool {
	for {
		s.mu.Lock()
		until := s.stallTo
		s.mu.Unlock()
		d := time.Until(until)
		if d <= 0 {
			return true
		}
		select {
		case <-r.Context().Done():
			return false
		case <-s.done:
			return false
		case <-time.After(d):
		}
	}
}
