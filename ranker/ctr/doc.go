// Package ctr is the click-through model of the feed: a logistic regression
// (L2-regularised, fitted with L-BFGS from gonum/optimize on standardised
// features) that predicts whether a viewer shown a live room enters it
// (ROOM_IMPRESSION → ROOM_ENTER) or shown a product clicks it
// (PRODUCT_IMPRESSION → PRODUCT_CLICK).
//
// A candidate is described by a fixed-size Features vector built without
// allocations from what serving has at request time: the collaborative
// filtering score of a ranker.Model, the candidate's online features
// (features.RoomFeatures / ProductFeatures: 1 min and 5 min counts,
// viewers now, live status and session start) and the viewer's
// (features.UserFeatures: past engagement with the anchor, recency of the
// last visit, follows, recent categories, impressions, rooms just left).
// See the Feature constants for the layout.
//
// Availability is both a feature and a hard filter: a room that is not live
// is never scored (ScoreRooms gives it Unavailable), whatever its features.
//
// Serving, per request:
//
//	var u ctr.User                      // reused across requests
//	u.Reset(&userFeatures, now)
//	hist := ctr.History(anchors, userFeatures.Anchors, 50, hist[:0])
//	anchors.ScoreInto(hist, items, cf)  // CF of each candidate's anchor
//	ctr.NormalizeCF(cf)
//	m.ScoreRooms(&u, rooms, cats, cf, out) // P(enter), or Unavailable
//
// The artifact (Artifact.Save) holds the room and the product model with
// their standardisation parameters and held-out metrics.
package ctr
