package fraudch

import tidev1 "github.com/tide-live/tide/proto/tide/v1"

// click is a product click of user on device at at (Unix ms).
func click(user, device string, at int64) *tidev1.Event {
	return &tidev1.Event{Type: tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, Ts: at, ReceivedAt: at,
		UserId: user, DeviceId: device}
}
