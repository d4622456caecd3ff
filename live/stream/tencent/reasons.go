package tencent

import (
	"fmt"
	"regexp"
	"strconv"
)

// A disconnect reason: what Tencent's errcode (and, for 18 and 21, the
// sub-code in errmsg) says, and whether the push may come back on its own.
type reason struct {
	text string
	blip bool
}

// disconnectReasons maps Tencent's disconnect codes (doc 267/31083) to a
// reason. A deliberate stop (the anchor unpublished, we dropped or forbade
// the stream, the push was refused) ends the session at once; a blip (the
// connection broke or went idle, a new push replaced this one) only pauses
// it until the grace period passes. Keys are "errcode" or "errcode/sub".
var disconnectReasons = map[string]reason{
	"1":      {"anchor stopped (RTMP deleteStream)", false},
	"2":      {"anchor stopped (RTMP closeStream)", false},
	"3":      {"anchor closed the connection without unpublishing", true},
	"4":      {"connection error", true},
	"8":      {"no data received (idle)", true},
	"20":     {"no data received for too long (idle)", true},
	"18":     {"push refused", false},
	"18/500": {"push refused: no txTime", false},
	"18/501": {"push refused: txTime expired", false},
	"18/502": {"push refused: no auth parameter", false},
	"18/503": {"push refused: auth check failed", false},
	"18/305": {"push refused: stream forbidden", false},
	"18/400": {"push refused: IP blacklist", false},
	"18/401": {"push refused: IP not in whitelist", false},
	"18/600": {"push refused: concurrency limit", false},
	"18/601": {"push refused: concurrency limit", false},
	"21/100": {"dropped by DropLiveStream", false},
	"21/101": {"forbidden by ForbidLiveStream", false},
	"21/102": {"replaced by a new push", true},
	"21/103": {"replaced by a new push", true},
}

var subCode = regexp.MustCompile(`\b([1-9][0-9]{2})\b`)

// disconnectReason explains a disconnect. Tencent reports the sub-code of
// errcode 18 and 21 in the message; an unknown code is treated as a blip, so
// the session pauses and still ends if the push does not come back.
func disconnectReason(errcode int, errmsg string) (text string, blip bool) {
	code := strconv.Itoa(errcode)
	if errcode == 18 || errcode == 21 {
		if m := subCode.FindStringSubmatch(errmsg); m != nil {
			if r, ok := disconnectReasons[code+"/"+m[1]]; ok {
				return fmt.Sprintf("tencent %s/%s: %s", code, m[1], r.text), r.blip
			}
		}
	}
	if r, ok := disconnectReasons[code]; ok {
		return fmt.Sprintf("tencent %s: %s", code, r.text), r.blip
	}
	if errcode == 21 {
		return fmt.Sprintf("tencent 21: stopped by the backend (%s)", errmsg), false
	}
	return fmt.Sprintf("tencent %s: %s", code, errmsg), true
}
