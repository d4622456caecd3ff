// Package wxship uploads shipments to WeChat's mini-program shipping-info
// service (发货信息管理, wxa/sec/order/upload_shipping_info), which a
// mini-program taking WeChat Pay must call for every paid order it ships.
// The access token and WeChat's errcodes are commerce/wxapp's.
package wxship

import (
	"context"
	"errors"

	"github.com/tide-live/tide/commerce/wxapp"
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = wxapp.DefaultBaseURL

// Config is the mini-program's credentials and WeChat's host.
type Config = wxapp.Config

// APIError is WeChat's answer with a non-zero errcode.
type APIError = wxapp.APIError

// Client uploads shipping info. It is safe for concurrent use.
type Client struct {
	app *wxapp.Client
}

// New returns a Client of cfg, with a token of its own.
func New(cfg Config) (*Client, error) {
	app, err := wxapp.New(cfg)
	if err != nil {
		return nil, err
	}
	return Over(app), nil
}

// Over returns a Client that calls WeChat with app (and its token, shared
// with app's other users).
func Over(app *wxapp.Client) *Client { return &Client{app: app} }

// Permanent says whether err is a refusal WeChat will repeat (an
// *APIError that is not Transient): the upload must be fixed, not retried.
func Permanent(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && !ae.Transient() && !wxapp.TokenRejected(err)
}

// Upload sends one shipment. A token WeChat rejects is refreshed and the
// upload sent once more.
func (c *Client) Upload(ctx context.Context, s Shipping) error {
	if err := s.Validate(); err != nil {
		return err
	}
	return c.app.Call(ctx, "/wxa/sec/order/upload_shipping_info", s.request(), nil)
}
