package fraud_test

import (
	"fmt"
	"time"

	"github.com/tide-live/tide/features/fraud"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Five accounts on one phone within minutes: R1 flags the device and each
// account, and Keep drops their traffic from then on.
func Example() {
	eng := fraud.New(fraud.WithSink(func(f fraud.Flag) {
		if f.Kind == fraud.KindDevice {
			fmt.Println(f.Kind, f.ID, f.Rule, "-", f.Reason)
		}
	}))
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	for i := range 5 {
		e := &tidev1.Event{Type: tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, ReceivedAt: at + int64(i)*60_000,
			UserId: fmt.Sprint("acct", i), DeviceId: "phone-1", RoomId: "r1", ProductId: "p1"}
		fmt.Println(e.UserId, "kept:", eng.Keep(e))
	}
	fmt.Println("acct0 flagged:", eng.IsFlagged(fraud.KindUser, "acct0"))
	// Output:
	// acct0 kept: true
	// acct1 kept: true
	// acct2 kept: true
	// acct3 kept: true
	// device phone-1 r1_device_accounts - 5 accounts on this device within 24h0m0s (threshold 5)
	// acct4 kept: false
	// acct0 flagged: true
}
