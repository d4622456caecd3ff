package tencent

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
)

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// equalHex compares two hex digests in constant time, ignoring case.
func equalHex(a, b string) bool {
	da, errA := hex.DecodeString(a)
	db, errB := hex.DecodeString(b)
	return errA == nil && errB == nil && len(da) == len(db) && subtle.ConstantTimeCompare(da, db) == 1
}
