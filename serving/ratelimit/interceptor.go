package ratelimit

import (
	"context"
	"net/http"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/clientip"
)

// ByIP is the interceptor that limits calls (or, with WithCost, what they
// carry) per client address. Put it
// before authentication, so floods of bad credentials are limited too.
func (l *Limiter) ByIP() connect.Interceptor {
	return &interceptor{l: l, dim: ByIP}
}

// ByPrincipal is the interceptor that limits calls per authenticated caller
// (from auth.PrincipalFrom). Put it after auth's interceptor; anonymous
// calls pass it.
func (l *Limiter) ByPrincipal() connect.Interceptor {
	return &interceptor{l: l, dim: ByPrincipal}
}

type interceptor struct {
	l   *Limiter
	dim Dimension
}

func (i *interceptor) check(ctx context.Context, procedure string, peer connect.Peer, h http.Header, cost int) error {
	var key string
	if i.dim == ByPrincipal {
		p, _ := auth.PrincipalFrom(ctx)
		k, ok := principalKey(p)
		if !ok {
			return nil
		}
		key = k
	} else {
		k, ok := i.l.clientKey(peer.Addr, h)
		if !ok {
			return nil
		}
		key = k
	}
	if ok, retry := i.l.AllowN(procedure, i.dim, key, cost); !ok {
		return i.l.refuse(procedure, i.dim, cost, retry)
	}
	return nil
}

// WrapUnary implements connect.Interceptor.
func (i *interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		proc := req.Spec().Procedure
		if err := i.check(ctx, proc, req.Peer(), req.Header(), i.l.cost(proc, req.Any())); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient implements connect.Interceptor (nothing to do).
func (i *interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor; a stream takes one
// token when it opens.
func (i *interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := i.check(ctx, conn.Spec().Procedure, conn.Peer(), conn.RequestHeader(), 1); err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// clientKey is the bucket key of the client at peer address addr
// ("host:port"): the address itself for IPv4, its /64 for IPv6 (one
// subscriber's allocation), the X-Forwarded-For client behind trusted
// proxies (clientip.Resolver); and false for exempt clients.
func (l *Limiter) clientKey(addr string, h http.Header) (string, bool) {
	ip, ok := l.clients.Client(addr, h)
	if !ok {
		return "peer:" + addr, true
	}
	if clientip.Contains(l.exempt, ip) {
		return "", false
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String(), true
	}
	return ip.String(), true
}
