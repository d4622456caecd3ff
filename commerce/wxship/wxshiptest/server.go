// Package wxshiptest is a local fake of the mini-program's server API
// (commerce/wxapp): the stable-token API, upload_shipping_info and
// getuserriskrank (riskrank.go). It checks each request's format as WeChat
// documents it and answers as WeChat does (errcode/errmsg), including token
// expiry, busy answers, slow answers and outages that tests switch on.
package wxshiptest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tide-live/tide/commerce/wxship"
)

// AppID and Secret are the credentials the fake accepts.
const (
	AppID  = "wx-test-app"
	Secret = "wx-test-secret"
)

// Upload is an upload the fake accepted, as WeChat received it.
type Upload struct {
	OrderKey struct {
		OrderNumberType int    `json:"order_number_type"`
		TransactionID   string `json:"transaction_id"`
		MchID           string `json:"mchid"`
		OutTradeNo      string `json:"out_trade_no"`
	} `json:"order_key"`
	LogisticsType int `json:"logistics_type"`
	DeliveryMode  int `json:"delivery_mode"`
	ShippingList  []struct {
		TrackingNo     string `json:"tracking_no"`
		ExpressCompany string `json:"express_company"`
		ItemDesc       string `json:"item_desc"`
		Contact        *struct {
			ConsignorContact string `json:"consignor_contact"`
			ReceiverContact  string `json:"receiver_contact"`
		} `json:"contact"`
	} `json:"shipping_list"`
	UploadTime string `json:"upload_time"`
	Payer      struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
	// Token is the access token it came with.
	Token string `json:"-"`
}

// Server is the fake.
type Server struct {
	srv *httptest.Server
	mux *http.ServeMux

	mu        sync.Mutex
	tokens    map[string]bool // token → still valid
	current   string
	issued    int
	failNext  []int // errcodes the next uploads get
	outage    bool
	uploads   []Upload
	companies map[string]bool
	risk      riskState
}

// NewServer starts a fake closed at the end of t.
func NewServer(t testing.TB) *Server {
	s := &Server{tokens: map[string]bool{}, companies: map[string]bool{}}
	for _, c := range []string{"SF", "YTO", "ZTO", "STO", "YD", "JTSD", "EMS", "JD"} {
		s.companies[c] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cgi-bin/stable_token", s.stableToken)
	mux.HandleFunc("POST /wxa/sec/order/upload_shipping_info", s.upload)
	mux.HandleFunc("POST /wxa/getuserriskrank", s.riskRank)
	s.mux = mux
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// Config is a wxship.Config for this fake.
func (s *Server) Config() wxship.Config {
	return wxship.Config{AppID: AppID, Secret: Secret, BaseURL: s.srv.URL}
}

// Handle serves more of WeChat's API from the same host (code2session for
// a test that logs in, say).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// URL is the fake's base URL.
func (s *Server) URL() string { return s.srv.URL }

// ExpireToken makes the current token expired (42001 on its next use).
func (s *Server) ExpireToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[s.current] = false
}

// RevokeToken forgets the current token, as when another process forced a
// refresh (40001 on its next use).
func (s *Server) RevokeToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, s.current)
	s.current = ""
}

// FailNext answers the next uploads (after their token is checked) with
// these errcodes, one each.
func (s *Server) FailNext(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, codes...)
}

// SetOutage makes every request answer HTTP 503 while on.
func (s *Server) SetOutage(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = on
}

// Uploads returns the accepted uploads, in order.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upload(nil), s.uploads...)
}

// TokensIssued is how many tokens the fake has handed out.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

func answer(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"errcode": code, "errmsg": msg})
}

func (s *Server) stableToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outage {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.GrantType != "client_credential" {
		answer(w, 47001, "data format error")
		return
	}
	if req.AppID != AppID || req.Secret != Secret {
		answer(w, 40013, "invalid appid or secret")
		return
	}
	// Like the stable-token API: the same token until it expires, unless forced.
	if req.ForceRefresh || !s.tokens[s.current] {
		s.issued++
		s.current = fmt.Sprintf("tok-%d", s.issued)
		s.tokens[s.current] = true
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": s.current, "expires_in": 7200})
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.admit(w, r)
	if !ok {
		return
	}
	if len(s.failNext) > 0 {
		code := s.failNext[0]
		s.failNext = s.failNext[1:]
		answer(w, code, "scripted failure")
		return
	}
	var u Upload
	if !decode(w, r, &u) {
		return
	}
	if msg := s.check(u); msg != "" {
		answer(w, 47001, "data format error: "+msg)
		return
	}
	u.Token = tok
	s.uploads = append(s.uploads, u)
	answer(w, 0, "ok")
}

// admit answers as WeChat does during an outage (HTTP 503) and when r's
// access token is unknown (40001) or expired (42001), and returns the
// token; s.mu is held.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.outage {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return "", false
	}
	tok := r.URL.Query().Get("access_token")
	valid, known := s.tokens[tok]
	switch {
	case !known:
		answer(w, 40001, "invalid credential, access_token is invalid or not latest")
		return tok, false
	case !valid:
		answer(w, 42001, "access_token expired")
		return tok, false
	}
	return tok, true
}

// decode reads r's body into v, refusing unknown fields as a format
// error (47001).
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		answer(w, 47001, "data format error: "+err.Error())
		return false
	}
	return true
}

// check returns what is wrong with u, "" if nothing.
func (s *Server) check(u Upload) string {
	k := u.OrderKey
	switch {
	case k.OrderNumberType == 2 && k.TransactionID == "":
		return "order_key.transaction_id is required for order_number_type 2"
	case k.OrderNumberType == 1 && (k.MchID == "" || k.OutTradeNo == ""):
		return "order_key.mchid and out_trade_no are required for order_number_type 1"
	case k.OrderNumberType != 1 && k.OrderNumberType != 2:
		return "order_key.order_number_type"
	case u.LogisticsType < 1 || u.LogisticsType > 4:
		return "logistics_type"
	case u.DeliveryMode != 1:
		return "delivery_mode: only UNIFIED_DELIVERY (1) is expected"
	case len(u.ShippingList) != 1:
		return "shipping_list: one parcel for a unified delivery"
	case u.Payer.OpenID == "":
		return "payer.openid"
	}
	if _, err := time.Parse(time.RFC3339, u.UploadTime); err != nil {
		return "upload_time: not RFC 3339"
	}
	it := u.ShippingList[0]
	if n := utf8.RuneCountInString(it.ItemDesc); n == 0 || n > 120 {
		return "shipping_list.item_desc: 1 to 120 characters"
	}
	if u.LogisticsType != 1 {
		return ""
	}
	switch {
	case it.TrackingNo == "":
		return "shipping_list.tracking_no"
	case !s.companies[it.ExpressCompany]:
		return "shipping_list.express_company: unknown company " + it.ExpressCompany
	case it.ExpressCompany == "SF" && (it.Contact == nil || !strings.Contains(it.Contact.ReceiverContact, "****")):
		return "shipping_list.contact: SF needs a masked contact"
	}
	return ""
}
