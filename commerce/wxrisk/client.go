// Package wxrisk asks WeChat how risky a mini-program user is
// (getUserRiskRank, POST /wxa/getuserriskrank, 安全风控): a rank from 0 to 4,
// higher riskier, judged by WeChat from the account's history and the
// client's network and device. tide asks it in scene 1 (营销作弊, coupon
// and flash-sale abuse) before a flash-sale or coupon order (fraud rule R7).
package wxrisk

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/tide-live/tide/commerce/wxapp"
)

// Scene is what the rank is asked for (getUserRiskRank's scene).
type Scene int

// Scenes WeChat documents for mini-programs.
const (
	// SceneRegister: signing up (0, 注册).
	SceneRegister Scene = 0
	// SceneMarketing: coupon, flash-sale and other promotion abuse (1, 营销作弊).
	SceneMarketing Scene = 1
)

// MaxRank is the riskiest rank WeChat answers.
const MaxRank = 4

// Request is one user to rank.
type Request struct {
	// OpenID is the user's openid in this mini-program.
	OpenID string
	Scene  Scene
	// ClientIP is the address the user's request came from (required:
	// WeChat compares it with where the account usually is).
	ClientIP netip.Addr
	// IsTest marks a test call (is_test), which WeChat does not count.
	IsTest bool
}

// Validate checks what WeChat would refuse; the error names the field.
func (r Request) Validate() error {
	switch {
	case r.OpenID == "":
		return fmt.Errorf("wxrisk: openid: is empty")
	case r.Scene != SceneRegister && r.Scene != SceneMarketing:
		return fmt.Errorf("wxrisk: scene: %d is not 0 or 1", r.Scene)
	case !r.ClientIP.IsValid():
		return fmt.Errorf("wxrisk: client_ip: is required")
	}
	return nil
}

// Rank is WeChat's answer.
type Rank struct {
	// Rank is risk_rank, 0 to MaxRank.
	Rank int
	// RequestID is WeChat's id of this lookup (unoin_id, sic), for a
	// complaint to WeChat about a rank.
	RequestID int64
}

// Client looks up risk ranks. It is safe for concurrent use.
type Client struct {
	app *wxapp.Client
}

// New returns a Client that calls WeChat with app (and its access token).
func New(app *wxapp.Client) *Client { return &Client{app: app} }

type (
	rankRequest struct {
		AppID    string `json:"appid"`
		OpenID   string `json:"openid"`
		Scene    int    `json:"scene"`
		ClientIP string `json:"client_ip"`
		IsTest   bool   `json:"is_test,omitempty"`
	}
	rankAnswer struct {
		RiskRank *int  `json:"risk_rank"`
		UnoinID  int64 `json:"unoin_id"` // WeChat's spelling
	}
)

// RiskRank asks WeChat for r's user's rank. A non-zero errcode is a
// *wxapp.APIError; an answer without a rank in 0..MaxRank is an error.
func (c *Client) RiskRank(ctx context.Context, r Request) (Rank, error) {
	if err := r.Validate(); err != nil {
		return Rank{}, err
	}
	var ans rankAnswer
	req := rankRequest{AppID: c.app.AppID(), OpenID: r.OpenID, Scene: int(r.Scene), ClientIP: r.ClientIP.Unmap().String(), IsTest: r.IsTest}
	if err := c.app.Call(ctx, "/wxa/getuserriskrank", req, &ans); err != nil {
		return Rank{}, fmt.Errorf("wxrisk: %w", err)
	}
	if ans.RiskRank == nil || *ans.RiskRank < 0 || *ans.RiskRank > MaxRank {
		return Rank{}, fmt.Errorf("wxrisk: an answer without a risk_rank in 0..%d", MaxRank)
	}
	return Rank{Rank: *ans.RiskRank, RequestID: ans.UnoinID}, nil
}
