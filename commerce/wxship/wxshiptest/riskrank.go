package wxshiptest

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"time"
)

// RiskCall is a getuserriskrank request the fake answered with a rank, as
// WeChat received it.
type RiskCall struct {
	AppID    string `json:"appid"`
	OpenID   string `json:"openid"`
	Scene    *int   `json:"scene"`
	ClientIP string `json:"client_ip"`
	MobileNo string `json:"mobile_no"`
	Email    string `json:"email_address"`
	Extended string `json:"extended_info"`
	IsTest   bool   `json:"is_test"`
	// Token is the access token it came with.
	Token string `json:"-"`
}

type riskState struct {
	ranks map[string]int // openid → rank; others get 0
	delay time.Duration
	calls []RiskCall
	next  int64
}

// SetRiskRank makes getuserriskrank answer rank for openID (default 0).
func (s *Server) SetRiskRank(openID string, rank int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.risk.ranks == nil {
		s.risk.ranks = map[string]int{}
	}
	s.risk.ranks[openID] = rank
}

// SetRiskDelay makes getuserriskrank answer only after d (a slow WeChat).
func (s *Server) SetRiskDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.risk.delay = d
}

// RiskCalls returns the getuserriskrank requests answered with a rank, in
// order.
func (s *Server) RiskCalls() []RiskCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RiskCall(nil), s.risk.calls...)
}

func (s *Server) riskRank(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delay := s.risk.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.admit(w, r)
	if !ok {
		return
	}
	var c RiskCall
	if !decode(w, r, &c) {
		return
	}
	if msg := checkRisk(c); msg != "" {
		answer(w, 47001, "data format error: "+msg)
		return
	}
	c.Token = tok
	s.risk.calls = append(s.risk.calls, c)
	s.risk.next++
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"errcode": 0, "errmsg": "getuserriskrank succ", "risk_rank": s.risk.ranks[c.OpenID], "unoin_id": s.risk.next})
}

// checkRisk returns what is wrong with c, "" if nothing.
func checkRisk(c RiskCall) string {
	switch {
	case c.AppID != AppID:
		return "appid"
	case c.OpenID == "":
		return "openid"
	case c.Scene == nil || *c.Scene < 0 || *c.Scene > 1:
		return "scene: 0 or 1"
	}
	if _, err := netip.ParseAddr(c.ClientIP); err != nil {
		return "client_ip: not an IP address"
	}
	return ""
}
