package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestNewAPIKey(t *testing.T) {
	a, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewAPIKey()
	if !regexp.MustCompile(`^tk_[0-9a-f]{64}$`).MatchString(a) || a == b {
		t.Errorf("keys %q, %q: want distinct tk_ + 64 hex", a, b)
	}
	if HashAPIKey(a) == HashAPIKey(b) || HashAPIKey(a) != HashAPIKey(a) {
		t.Error("HashAPIKey is not a function of the key")
	}
}

func TestKeyFile(t *testing.T) {
	mkey, akey := "tk_merchant_one", "tk_admin_one"
	body := "# tide API keys\n\n" +
		HashAPIKey(mkey).String() + "  merchant  m1  live dashboard\n" +
		HashAPIKey(akey).String() + " admin on-call\n"
	path := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m, err := keys.LookupKey(ctx, HashAPIKey(mkey))
	if err != nil {
		t.Fatal(err)
	}
	if m.Role != RoleMerchant || m.MerchantID != "m1" || m.Name != "live dashboard" || m.ID != HashAPIKey(mkey).String()[:12] {
		t.Errorf("merchant key = %+v", m)
	}
	a, err := keys.LookupKey(ctx, HashAPIKey(akey))
	if err != nil || a.Role != RoleAdmin || a.MerchantID != "" || a.Name != "on-call" {
		t.Errorf("admin key = %+v, %v", a, err)
	}
	if _, err := keys.LookupKey(ctx, HashAPIKey("tk_other")); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v", err)
	}
	// The file holds hashes: a line with the key itself is refused.
	for name, bad := range map[string]string{
		"plain key":           mkey + " merchant m1\n",
		"merchant without id": HashAPIKey(mkey).String() + " merchant\n",
		"user role":           HashAPIKey(mkey).String() + " user u1\n",
		"duplicate":           HashAPIKey(mkey).String() + " admin\n" + HashAPIKey(mkey).String() + " admin\n",
		"hash only":           HashAPIKey(mkey).String() + "\n",
	} {
		if _, err := ParseKeyFile(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: ParseKeyFile accepted %q", name, bad)
		}
	}
	if _, err := LoadKeyFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("LoadKeyFile of a missing file succeeded")
	}
}
