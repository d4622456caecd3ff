package auth

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// APIKeyPrefix starts every API key, so a credential's kind is plain from
// its first bytes (and secret scanners can find leaked keys).
const APIKeyPrefix = "tk_"

// ErrUnknownKey is wrapped when no live API key has the presented hash
// (never issued, or revoked).
var ErrUnknownKey = errors.New("unknown or revoked API key")

// APIKey is what tide knows about an API key; the key itself is never
// stored, only its SHA-256.
type APIKey struct {
	ID         string // public id, for listing, audit and revocation
	Role       Role   // RoleMerchant or RoleAdmin
	MerchantID string // set for RoleMerchant: the only merchant the key may act for
	Name       string // what the key is for, e.g. "dashboard"
}

// Principal is the caller an API key authenticates.
func (k APIKey) Principal() Principal {
	return Principal{Role: k.Role, MerchantID: k.MerchantID, KeyID: k.ID}
}

func (k APIKey) validate() error {
	switch {
	case k.Role == RoleMerchant && k.MerchantID == "":
		return errors.New("a merchant API key needs a merchant id")
	case k.Role == RoleAdmin && k.MerchantID != "":
		return errors.New("an admin API key has no merchant id")
	case k.Role != RoleMerchant && k.Role != RoleAdmin:
		return fmt.Errorf("API keys are for merchants and admins, not %ss", k.Role)
	}
	return nil
}

// KeyHash is the SHA-256 of an API key, what stores keep and look up.
type KeyHash [sha256.Size]byte

// HashAPIKey returns key's SHA-256. Keys carry 256 random bits, so a plain
// hash (no salt, no slow KDF) is enough: it cannot be brute-forced, and a
// leaked table does not leak usable keys.
func HashAPIKey(key string) KeyHash { return sha256.Sum256([]byte(key)) }

// String is the hash in lower-case hex.
func (h KeyHash) String() string { return hex.EncodeToString(h[:]) }

// NewAPIKey makes a fresh random key: "tk_" and 64 hex characters (256 bits).
// Show it to its owner once; store only HashAPIKey(key).
func NewAPIKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("api key: %w", err)
	}
	return APIKeyPrefix + hex.EncodeToString(b[:]), nil
}

// KeyStore finds the live API key with a given hash. It returns an error
// wrapping ErrUnknownKey when there is none.
type KeyStore interface {
	LookupKey(ctx context.Context, h KeyHash) (APIKey, error)
}

// StaticKeys is a KeyStore read from a file, for the demo and small
// deployments. Safe for concurrent use (it never changes).
type StaticKeys struct{ keys map[KeyHash]APIKey }

// LoadKeyFile reads API keys from path; see ParseKeyFile for the format.
func LoadKeyFile(path string) (*StaticKeys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("api key file: %w", err)
	}
	defer f.Close()
	k, err := ParseKeyFile(f)
	if err != nil {
		return nil, fmt.Errorf("api key file %s: %w", path, err)
	}
	return k, nil
}

// ParseKeyFile reads one key a line, as whitespace-separated fields:
//
//	<sha256 hex of the key> merchant <merchant_id> [name…]
//	<sha256 hex of the key> admin [name…]
//
// Blank lines and lines starting with # are skipped. Make a line with
// `k=tk_$(openssl rand -hex 32); echo "$(printf %s "$k" | sha256sum | cut -c1-64) merchant m1 dashboard"`.
// A key's id is the first 12 hex characters of its hash.
func ParseKeyFile(r io.Reader) (*StaticKeys, error) {
	s := &StaticKeys{keys: map[KeyHash]APIKey{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: want <sha256> merchant <id> [name] or <sha256> admin [name]", n)
		}
		raw, err := hex.DecodeString(f[0])
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("line %d: %q is not a hex SHA-256 (hash the key, never store it)", n, f[0])
		}
		role, err := ParseRole(f[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		k := APIKey{ID: f[0][:12], Role: role}
		rest := f[2:]
		if role == RoleMerchant && len(rest) > 0 {
			k.MerchantID, rest = rest[0], rest[1:]
		}
		k.Name = strings.Join(rest, " ")
		if err := k.validate(); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		var h KeyHash
		copy(h[:], raw)
		if _, dup := s.keys[h]; dup {
			return nil, fmt.Errorf("line %d: the same key appears twice", n)
		}
		s.keys[h] = k
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// Len is the number of keys.
func (s *StaticKeys) Len() int { return len(s.keys) }

// LookupKey implements KeyStore.
func (s *StaticKeys) LookupKey(_ context.Context, h KeyHash) (APIKey, error) {
	if k, ok := s.keys[h]; ok {
		return k, nil
	}
	return APIKey{}, ErrUnknownKey
}
