package live

import (
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/live"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

func roomProto(r live.Room) *tidev1.Room {
	return &tidev1.Room{RoomId: r.ID, MerchantId: r.MerchantID, Title: r.Title, CoverUrl: r.CoverURL,
		Category: r.Category, AnchorName: r.AnchorName}
}

// StateProto is the LiveService enum value of a session state.
func StateProto(s live.State) tidev1.SessionState {
	switch s {
	case live.StateScheduled:
		return tidev1.SessionState_SESSION_STATE_SCHEDULED
	case live.StateLive:
		return tidev1.SessionState_SESSION_STATE_LIVE
	case live.StatePaused:
		return tidev1.SessionState_SESSION_STATE_PAUSED
	case live.StateEnded:
		return tidev1.SessionState_SESSION_STATE_ENDED
	case live.StateReplayReady:
		return tidev1.SessionState_SESSION_STATE_REPLAY_READY
	case live.StateBanned:
		return tidev1.SessionState_SESSION_STATE_BANNED
	case live.StateCancelled:
		return tidev1.SessionState_SESSION_STATE_CANCELLED
	case live.StateExpired:
		return tidev1.SessionState_SESSION_STATE_EXPIRED
	}
	return tidev1.SessionState_SESSION_STATE_UNSPECIFIED
}

func sessionProto(s live.Session) *tidev1.LiveSession {
	return &tidev1.LiveSession{SessionId: s.ID, RoomId: s.RoomID, State: StateProto(s.State),
		ScheduledStart: s.ScheduledStart.UnixMilli(), ScheduledEnd: s.ScheduledEnd.UnixMilli(),
		StartedAt: unixMilli(s.StartedAt), EndedAt: unixMilli(s.EndedAt), Provider: s.Provider, BanReason: s.BanReason}
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func shelfProto(lines []live.ShelfLine, products map[string]commerce.Product) []*tidev1.ShelfItem {
	out := make([]*tidev1.ShelfItem, 0, len(lines))
	for _, l := range lines {
		it := &tidev1.ShelfItem{ProductId: l.ProductID, Explaining: l.Explaining}
		if p, ok := products[l.ProductID]; ok {
			it.Title, it.PriceFen = p.Title, p.PriceFen
			if len(p.Images) > 0 {
				it.ImageUrl = p.Images[0]
			}
		}
		out = append(out, it)
	}
	return out
}
