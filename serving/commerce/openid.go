package commerce

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/serving/auth"
)

// OpenIDFromLoginCode is an OpenIDOf over WeChat's code2session: the code's
// openid must map to the calling user (auth.UserIDFromOpenID), so one
// user's code cannot pay as another.
func OpenIDFromLoginCode(wechat auth.CodeExchanger, appID string) OpenIDOf {
	return func(ctx context.Context, userID, code string) (string, error) {
		if code == "" {
			return "", connect.NewError(connect.CodeInvalidArgument, errors.New("login_code: is empty: send a fresh wx.login code"))
		}
		sess, err := wechat.Code2Session(ctx, code)
		if err != nil {
			var we *auth.WeChatError
			if errors.As(err, &we) {
				return "", connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("login_code: %w", err))
			}
			return "", connect.NewError(connect.CodeUnavailable, fmt.Errorf("wechat code2session: %w", err))
		}
		if auth.UserIDFromOpenID(appID, sess.OpenID) != userID {
			return "", connect.NewError(connect.CodePermissionDenied, errors.New("login_code: belongs to another user"))
		}
		return sess.OpenID, nil
	}
}
