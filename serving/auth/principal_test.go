package auth

import (
	"context"
	"testing"

	"connectrpc.com/connect"
)

func TestRequireHelpers(t *testing.T) {
	user := Principal{Role: RoleUser, UserID: "u_1"}
	m1 := Principal{Role: RoleMerchant, MerchantID: "m1", KeyID: "k"}
	admin := Principal{Role: RoleAdmin, KeyID: "a"}
	anon := Principal{Role: RoleAnonymous}
	ctxOf := func(p *Principal) context.Context {
		if p == nil {
			return context.Background()
		}
		return WithPrincipal(context.Background(), *p)
	}
	code := func(err error) connect.Code {
		if err == nil {
			return 0
		}
		return connect.CodeOf(err)
	}
	const ok = connect.Code(0)
	tests := []struct {
		name                                  string
		p                                     *Principal
		user, merchantM1, merchantM2, isAdmin connect.Code
		merchantOf                            connect.Code
	}{
		{"no principal", nil, connect.CodeUnauthenticated, connect.CodeUnauthenticated, connect.CodeUnauthenticated, connect.CodeUnauthenticated, connect.CodeUnauthenticated},
		{"anonymous", &anon, connect.CodeUnauthenticated, connect.CodeUnauthenticated, connect.CodeUnauthenticated, connect.CodeUnauthenticated, connect.CodeUnauthenticated},
		{"user", &user, ok, connect.CodePermissionDenied, connect.CodePermissionDenied, connect.CodePermissionDenied, connect.CodePermissionDenied},
		{"merchant m1", &m1, connect.CodePermissionDenied, ok, connect.CodePermissionDenied, connect.CodePermissionDenied, ok},
		{"admin", &admin, connect.CodePermissionDenied, ok, ok, ok, connect.CodeInvalidArgument},
	}
	for _, tt := range tests {
		ctx := ctxOf(tt.p)
		_, err := RequireUser(ctx)
		if code(err) != tt.user {
			t.Errorf("%s: RequireUser = %v, want %v", tt.name, err, tt.user)
		}
		if _, err := RequireMerchant(ctx, "m1"); code(err) != tt.merchantM1 {
			t.Errorf("%s: RequireMerchant(m1) = %v, want %v", tt.name, err, tt.merchantM1)
		}
		if _, err := RequireMerchant(ctx, "m2"); code(err) != tt.merchantM2 {
			t.Errorf("%s: RequireMerchant(m2) = %v, want %v", tt.name, err, tt.merchantM2)
		}
		if _, err := RequireAdmin(ctx); code(err) != tt.isAdmin {
			t.Errorf("%s: RequireAdmin = %v, want %v", tt.name, err, tt.isAdmin)
		}
		m, err := MerchantOf(ctx)
		if code(err) != tt.merchantOf || (err == nil && m != "m1") {
			t.Errorf("%s: MerchantOf = %q, %v, want %v", tt.name, m, err, tt.merchantOf)
		}
	}
	if _, err := RequireMerchant(ctxOf(&m1), ""); code(err) != connect.CodeInvalidArgument {
		t.Errorf("RequireMerchant(\"\") = %v, want invalid_argument", err)
	}
	if p, err := RequireMerchant(ctxOf(&m1), "m1"); err != nil || p.KeyID != "k" {
		t.Errorf("RequireMerchant returns %+v, %v; want the caller", p, err)
	}
}

func TestRoleStrings(t *testing.T) {
	for _, r := range []Role{RoleUser, RoleMerchant, RoleAdmin} {
		got, err := ParseRole(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %v, %v", r.String(), got, err)
		}
	}
	if _, err := ParseRole("anonymous"); err == nil {
		t.Error("ParseRole(anonymous) succeeded")
	}
}
