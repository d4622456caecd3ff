package feed

import (
	"bytes"
	"math"
	"testing"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker/ctr"
)

// ctrArtifact makes a room CTR artifact whose only weights are w (on raw
// features: Mean 0, Scale 1) and bias, round-tripped through Save and Load
// as serving reads ctr.bin.
func ctrArtifact(t *testing.T, version string, bias float64, w map[ctr.Feature]float64) *ctr.Artifact {
	return ctrArtifactOf(t, ctr.Rooms, version, bias, w)
}

// ctrArtifactOf is ctrArtifact for a model of kind k.
func ctrArtifactOf(t *testing.T, k ctr.Kind, version string, bias float64, w map[ctr.Feature]float64) *ctr.Artifact {
	t.Helper()
	m := &ctr.Model{Kind: k, Names: ctr.RoomNames[:], Bias: bias}
	if k == ctr.Products {
		m.Names = ctr.ProductNames[:]
	}
	for i := range ctr.N {
		m.Scale[i] = 1
	}
	for f, v := range w {
		m.Weights[f] = v
	}
	var buf bytes.Buffer
	a := &ctr.Artifact{Rooms: m, Version: version}
	if k == ctr.Products {
		a = &ctr.Artifact{Products: m, Version: version}
	}
	if err := a.Save(&buf); err != nil {
		t.Fatal(err)
	}
	a, err := ctr.Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The product feed scores with the artifact's product model: a weight on
// the viewer's own past engagement with a product puts it first, the
// opposite weight pushes it off the page; a room-only artifact leaves the
// product feed on the hand-set fallback.
func TestProductsScoredByCTRArtifact(t *testing.T) {
	st := ctr.NewStore(ctrArtifact(t, "rooms-only", 0, nil))
	w := productWorld(t, WithCTRModel(st))
	w.productEvent(tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, "mia", productID(2, 5))
	req := &tidev1.ProductsRequest{PageSize: 10, Explain: true}
	scorer := func(res *tidev1.ProductsResponse) string {
		for _, r := range res.Items[0].GetReasons() {
			if r.GetKind() == tidev1.ReasonKind_REASON_KIND_SCORER {
				return r.GetDetail()
			}
		}
		return ""
	}
	if got := scorer(w.products("mia", req)); got != ScorerHandSet {
		t.Fatalf("room-only artifact: product scorer %q, want %q", got, ScorerHandSet)
	}
	st.Swap(ctrArtifactOf(t, ctr.Products, "pA", -3, map[ctr.Feature]float64{ctr.Visited: 5}))
	res := w.products("mia", req)
	if got := scorer(res); got != "ctr pA" || res.Items[0].GetProductId() != productID(2, 5) {
		t.Fatalf("pA: scorer %q, feed %v; want the clicked %s first", got, productIDs(res.Items), productID(2, 5))
	}
	if got, want := res.Items[0].GetScore(), 1/(1+math.Exp(-2)); math.Abs(got-want) > 1e-9 {
		t.Fatalf("score %v, want σ(−3+5) = %v", got, want)
	}
	st.Swap(ctrArtifactOf(t, ctr.Products, "pB", -3, map[ctr.Feature]float64{ctr.Visited: -5}))
	res = w.products("mia", req)
	for _, id := range productIDs(res.Items) {
		if id == productID(2, 5) {
			t.Fatalf("pB penalises engaged products, yet %s is on the first page: %v", id, productIDs(res.Items))
		}
	}
}

func scorerOf(t *testing.T, it *tidev1.RoomItem) string {
	t.Helper()
	for _, r := range it.GetReasons() {
		if r.GetKind() == tidev1.ReasonKind_REASON_KIND_SCORER {
			return r.GetDetail()
		}
	}
	t.Fatalf("%s: no scorer reason in %v", it.GetRoomId(), it.GetReasons())
	return ""
}

// The served room feed's scores are the loaded artifact's probabilities:
// swapping in an artifact with the opposite weight on recent enters
// reverses the order of a hot and a cold room, and without an artifact the
// reasons say the hand-set fallback scored.
func TestRoomsScoredByCTRArtifact(t *testing.T) {
	st := ctr.NewStore(nil)
	w := newWorld(t, WithCTRModel(st), WithTuning(func() Tuning { tu := DefaultTuning(); tu.ExploreShare = 0; return tu }()))
	req := &tidev1.RoomsRequest{PageSize: 40, Explain: true}
	pos := func(res *tidev1.RoomsResponse) (hot, cold int) {
		hot, cold = indexOf(res.Items, roomID(0)), indexOf(res.Items, roomID(28))
		if hot < 0 || cold < 0 {
			t.Fatalf("room-00 at %d, room-28 at %d in %v", hot, cold, ids(res.Items))
		}
		return hot, cold
	}

	res := w.rooms("viewer", req)
	if got := scorerOf(t, res.Items[0]); got != ScorerHandSet {
		t.Fatalf("no artifact: scorer %q, want %q", got, ScorerHandSet)
	}

	st.Swap(ctrArtifact(t, "vA", -2, map[ctr.Feature]float64{ctr.Enters5m: 1}))
	res = w.rooms("viewer", req)
	if got := scorerOf(t, res.Items[0]); got != "ctr vA" {
		t.Fatalf("artifact vA: scorer %q", got)
	}
	hot, cold := pos(res)
	if hot > cold {
		t.Fatalf("vA rewards recent enters, yet room-00 (hot) is at %d after room-28 (cold) at %d", hot, cold)
	}
	// room-00 had 30 enters within the last 5 minutes: P = σ(−2 + log 31).
	if got, want := res.Items[hot].GetScore(), 1/(1+math.Exp(2-math.Log1p(30))); math.Abs(got-want) > 1e-9 {
		t.Fatalf("room-00 score %v, want the artifact's probability %v", got, want)
	}

	st.Swap(ctrArtifact(t, "vB", -2, map[ctr.Feature]float64{ctr.Enters5m: -1}))
	res = w.rooms("viewer", req)
	if got := scorerOf(t, res.Items[0]); got != "ctr vB" {
		t.Fatalf("artifact vB: scorer %q", got)
	}
	if hot, cold := pos(res); hot < cold {
		t.Fatalf("vB penalises recent enters, yet room-00 (hot) is at %d before room-28 (cold) at %d", hot, cold)
	}

	// The popularity arm is not the model's.
	w2 := newWorld(t, WithCTRModel(st), WithDefaultRanker(RankerPopularity))
	if got := scorerOf(t, w2.rooms("viewer", req).Items[0]); got != ScorerPopularity {
		t.Fatalf("popularity arm: scorer %q", got)
	}
}
