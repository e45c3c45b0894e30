package roanuzsim

import (
	"net/http"
	"sync/atomic"
)

// connLimit counts the project's open Socket.IO connections, as the
// server sees them: from the accepted handshake until the server's side of
// the connection ends (the client's disconnect or close read, a read
// error, or a drop), so a connection a client has closed but the server
// has not yet seen closed still counts.
type connLimit struct {
	open          int64 // guarded by Simulator.mu
	peak, refused atomic.Int64
}

// WithConnectionLimit makes the Socket.IO server refuse a connection while
// n of the project's connections are open (0 or less: no limit, the
// default). Every connection of the simulator belongs to its one project
// (the token, which names the project, only comes with connect_to_match).
// Roanuz allows 20 WebSocket connections per project (the connector's
// roanuz.connections.max may not exceed it).
//
// Roanuz's page on the match WebSocket (subscribe, connect_to_match,
// on_match_joined, on_match_update, on_error for a match not subscribed)
// states neither the limit nor how one connection too many is refused, so the simulator refuses before the WebSocket
// upgrade, the only place a Socket.IO server can say no to the connection
// itself: HTTP 429 Too Many Requests, with a body in the shape of Roanuz's
// REST errors (error code "S-429"). A client sees a failed handshake (the
// connector's Socket.IO client: a HandshakeError with the status) and must
// not count on the refusal being silent. RefusedConnections counts them;
// PeakConnections tracks the most open at once whether or not a limit is
// set.
func WithConnectionLimit(n int) SimOption { return func(o *simOptions) { o.connLimit = max(n, 0) } }

// sockAdmit takes a place for a new connection; false (and counted as
// refused) when the limit is reached.
func (s *Simulator) sockAdmit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.o.connLimit > 0 && s.cl.open >= int64(s.o.connLimit) {
		s.cl.refused.Add(1)
		return false
	}
	s.cl.open++
	if s.cl.open > s.cl.peak.Load() {
		s.cl.peak.Store(s.cl.open)
	}
	return true
}

// sockRelease gives back the place of a connection that ended.
func (s *Simulator) sockRelease() {
	s.mu.Lock()
	s.cl.open--
	s.mu.Unlock()
}

// refuseConnection answers a handshake beyond the limit.
func (s *Simulator) refuseConnection(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	simError(w, http.StatusTooManyRequests, "S-429", "too many WebSocket connections for this project")
}

// PeakConnections returns the most Socket.IO connections open at once so far.
func (s *Simulator) PeakConnections() int64 { return s.cl.peak.Load() }

// RefusedConnections returns how many Socket.IO connections were refused
// for the limit (WithConnectionLimit).
func (s *Simulator) RefusedConnections() int64 { return s.cl.refused.Load() }

// OpenConnections returns how many Socket.IO connections are open now.
func (s *Simulator) OpenConnections() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cl.open
}
