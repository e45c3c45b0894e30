package roanuzsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// simError writes a Roanuz error answer.
func simError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"data": nil, "cache": nil, "schema": map[string]string{"major_version": "5.0", "minor_version": "5.0.1"},
		"error": map[string]string{"code": code, "msg": msg}, "http_status_code": status,
	})
}

func simJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Simulator) handleAuth(w http.ResponseWriter, r *http.Request) {
	s.restCalls.Add(1)
	if r.PathValue("project") != s.o.project {
		s.authFailures.Add(1)
		simError(w, http.StatusNotFound, "P-404", "project not found")
		return
	}
	var req struct {
		APIKey string `json:"api_key"`
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if json.Unmarshal(b, &req) != nil || req.APIKey != s.o.apiKey {
		s.authFailures.Add(1)
		simError(w, http.StatusUnauthorized, "A-401-1", "invalid api key")
		return
	}
	if s.o.inactive {
		s.authFailures.Add(1)
		simError(w, http.StatusPaymentRequired, "P-402", "project inactive")
		return
	}
	s.mu.Lock()
	s.tokenSeq++
	tok := fmt.Sprintf("sim-token-%d-%d", s.tokenSeq, time.Now().UnixNano())
	exp := time.Now().Add(s.o.tokenLife)
	s.tokens[tok] = exp
	s.mu.Unlock()
	s.auths.Add(1)
	simJSON(w, map[string]any{"data": map[string]any{"token": tok,
		"expires": json.Number(strconv.FormatFloat(float64(exp.UnixNano())/1e9, 'f', 3, 64))}, "error": nil})
}

// tokenOK checks the rs-token header (or tok) and writes the 401 if not.
func (s *Simulator) tokenOK(w http.ResponseWriter, tok string) bool {
	s.mu.Lock()
	exp, ok := s.tokens[tok]
	s.mu.Unlock()
	if !ok {
		simError(w, http.StatusUnauthorized, "A-401-2", "invalid token")
		return false
	}
	if time.Now().After(exp) {
		simError(w, http.StatusUnauthorized, "A-401-3", "token expired")
		return false
	}
	return true
}

// tokenValid reports whether tok is a live token.
func (s *Simulator) tokenValid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && time.Now().Before(exp)
}

func (s *Simulator) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	s.restCalls.Add(1)
	if r.PathValue("project") != s.o.project {
		simError(w, http.StatusNotFound, "P-404", "project not found")
		return
	}
	if !s.tokenOK(w, r.Header.Get(headerToken)) {
		return
	}
	match, action := r.PathValue("match"), r.PathValue("action")
	want := map[string]string{"subscribe": MethodWebSocket, "unsubscribe": MethodWebSocket,
		"detail-updates-subscribe": MethodWebHook, "detail-updates-unsubscribe": MethodWebHook}[action]
	if want == "" {
		simError(w, http.StatusNotFound, "E-404", "no such endpoint")
		return
	}
	if s.tls[match] == nil {
		simError(w, http.StatusNotFound, "M-404", "match not found")
		return
	}
	var req struct {
		Method string `json:"method"`
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if json.Unmarshal(b, &req) != nil || req.Method != want {
		simError(w, http.StatusBadRequest, "E-400", "method must be "+want)
		return
	}
	sub := action == "subscribe" || action == "detail-updates-subscribe"
	s.mu.Lock()
	if s.subs[match] == nil {
		s.subs[match] = map[string]bool{}
	}
	s.subs[match][want] = sub
	s.subCalls[match+"/"+action]++
	s.mu.Unlock()
	simJSON(w, map[string]any{"data": map[string]any{"status": true, "message": action + "d"}, "error": nil})
}

func (s *Simulator) handleMatch(w http.ResponseWriter, r *http.Request) {
	s.restCalls.Add(1)
	if r.PathValue("project") != s.o.project {
		simError(w, http.StatusNotFound, "P-404", "project not found")
		return
	}
	if !s.tokenOK(w, r.Header.Get(headerToken)) {
		return
	}
	match := r.PathValue("match")
	if s.tls[match] == nil {
		simError(w, http.StatusNotFound, "M-404", "match not found")
		return
	}
	s.mu.Lock()
	step := max(0, s.step[match]-s.o.restBehind)
	s.mu.Unlock()
	doc := s.tls[match].matchDoc(step)
	if d := s.o.restDelay; d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
}

// matchDoc returns the Match API response of match at its current step.
func (s *Simulator) matchDoc(match string) []byte {
	s.mu.Lock()
	step := s.step[match]
	s.mu.Unlock()
	return s.tls[match].matchDoc(step)
}

// handleFeatured serves GET /v5/cricket/{project}/featured-matches-2/: the
// listed matches with their status at their current step.
func (s *Simulator) handleFeatured(w http.ResponseWriter, r *http.Request) {
	s.restCalls.Add(1)
	s.featuredCalls.Add(1)
	if r.PathValue("project") != s.o.project {
		simError(w, http.StatusNotFound, "P-404", "project not found")
		return
	}
	if !s.tokenOK(w, r.Header.Get(headerToken)) {
		return
	}
	s.mu.Lock()
	listed := append([]string(nil), s.listed...)
	steps := map[string]int{}
	for _, m := range listed {
		steps[m] = s.step[m]
	}
	s.mu.Unlock()
	matches := []any{}
	for _, m := range listed {
		tl := s.tls[m]
		if tl == nil {
			continue
		}
		status, play := tl.status(steps[m])
		matches = append(matches, map[string]any{"key": m, "name": "Team A vs Team B", "short_name": "A vs B",
			"status": status, "play_status": play, "start_at": 1733148000, "format": "t20",
			"teams": map[string]any{"a": map[string]string{"key": "a", "code": "TA", "name": "Team A"},
				"b": map[string]string{"key": "b", "code": "TB", "name": "Team B"}}})
	}
	simJSON(w, map[string]any{"data": map[string]any{"matches": matches, "intelligent_order": listed},
		"cache":  map[string]any{"key": "featured-matches", "expires": time.Now().Add(time.Minute).Unix()},
		"schema": map[string]string{"major_version": "5.0", "minor_version": "5.0.1"}, "error": nil})
}

// status returns the match's status and play_status after step.
func (tl *timeline) status(step int) (status, play string) {
	status, play = "not_started", "scheduled"
	for i := 0; i <= step && i < len(tl.steps); i++ {
		switch tl.steps[i].Kind {
		case stepPlay, stepBall:
			status, play = "started", "in_play"
		case stepResult:
			return "completed", "result"
		}
	}
	return status, play
}
