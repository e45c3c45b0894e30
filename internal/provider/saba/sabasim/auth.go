package sabasim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// Refresh modes of the simulator's /refreshToken (its request body is not
// documented, so servers may differ).
const (
	RefreshBearer = "bearer" // renews the token sent as Authorization: Bearer
	RefreshBroken = "broken" // always answers 404: clients must log in again
)

type tokenClaims struct {
	Sub   string `json:"sub"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`    // seconds, as JWTs have it
	ExpMs int64  `json:"exp_ms"` // milliseconds, so tests can use sub-second lifetimes
	Jti   int64  `json:"jti"`
	Gen   int64  `json:"gen"`
}

var b64 = base64.RawURLEncoding

func (s *Simulator) signingKey() []byte {
	k := make([]byte, 16)
	binary.LittleEndian.PutUint64(k, s.o.seed^0x6a7774)
	return k
}

// issueToken returns a new signed JWT-shaped token and its lifetime.
func (s *Simulator) issueToken(sub string) (string, time.Duration) {
	s.mu.Lock()
	s.jti++
	now := time.Now()
	c := tokenClaims{Sub: sub, Iat: now.Unix(), Exp: now.Add(s.o.tokenTTL).Unix(), ExpMs: now.Add(s.o.tokenTTL).UnixMilli(), Jti: s.jti, Gen: s.tokenGen}
	s.mu.Unlock()
	head := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body, _ := json.Marshal(c)
	msg := head + "." + b64.EncodeToString(body)
	mac := hmac.New(sha256.New, s.signingKey())
	mac.Write([]byte(msg))
	return msg + "." + b64.EncodeToString(mac.Sum(nil)), s.o.tokenTTL
}

// checkToken verifies tok's signature, expiry and generation.
func (s *Simulator) checkToken(tok string) (tokenClaims, error) {
	var c tokenClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return c, errBadToken
	}
	mac := hmac.New(sha256.New, s.signingKey())
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return c, errBadToken
	}
	body, err := b64.DecodeString(parts[1])
	if err != nil || json.Unmarshal(body, &c) != nil {
		return c, errBadToken
	}
	if !s.tokenValid(c) {
		return c, errBadToken
	}
	return c, nil
}

// CheckToken returns nil if tok is a token this simulator would accept now
// (its signature, expiry and generation), else an error.
func (s *Simulator) CheckToken(tok string) error {
	_, err := s.checkToken(tok)
	return err
}

func (s *Simulator) tokenValid(c tokenClaims) bool {
	s.mu.Lock()
	gen := s.tokenGen
	s.mu.Unlock()
	return c.Gen == gen && time.Now().UnixMilli() < c.ExpMs
}

// requestToken returns the token of r: Authorization: Bearer, or the token
// query parameter.
func requestToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return r.URL.Query().Get("token")
}

type loginRequest struct {
	VendorID       string `json:"vendor_id"`
	VendorMemberID string `json:"vendor_member_id"`
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Simulator) handleLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "POST only"})
		return
	}
	var req loginRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.VendorID == "" || req.VendorMemberID == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "vendor_id and vendor_member_id are required"})
		return
	}
	if (s.o.vendorID != "" && req.VendorID != s.o.vendorID) || (s.o.memberID != "" && req.VendorMemberID != s.o.memberID) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "unknown vendor"})
		return
	}
	s.stats.logins.Add(1)
	tok, ttl := s.issueToken(req.VendorMemberID)
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(ttl / time.Second)})
}

func (s *Simulator) handleRefresh(w http.ResponseWriter, r *http.Request) {
	if s.o.refreshMode == RefreshBroken {
		http.NotFound(w, r)
		return
	}
	c, err := s.checkToken(requestToken(r))
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "token invalid or expired"})
		return
	}
	s.stats.refreshes.Add(1)
	tok, ttl := s.issueToken(c.Sub)
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(ttl / time.Second)})
}
