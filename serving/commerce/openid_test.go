package commerce_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/serving/auth"
	servingcommerce "github.com/tide-live/tide/serving/commerce"
)

type codes map[string]string // code → openid

func (c codes) Code2Session(_ context.Context, code string) (auth.WeChatSession, error) {
	if o, ok := c[code]; ok {
		return auth.WeChatSession{OpenID: o}, nil
	}
	return auth.WeChatSession{}, &auth.WeChatError{Code: 40029, Msg: "invalid code"}
}

func TestOpenIDFromLoginCode(t *testing.T) {
	const app = "wxapp"
	f := servingcommerce.OpenIDFromLoginCode(codes{"mine": "o-me", "theirs": "o-them"}, app)
	me := auth.UserIDFromOpenID(app, "o-me")
	if o, err := f(context.Background(), me, "mine"); err != nil || o != "o-me" {
		t.Fatalf("own code: %q %v", o, err)
	}
	if _, err := f(context.Background(), me, "theirs"); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("another user's code: %v", err)
	}
	if _, err := f(context.Background(), me, "bad"); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("a bad code: %v", err)
	}
	if _, err := f(context.Background(), me, ""); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("no code: %v", err)
	}
}
