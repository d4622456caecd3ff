// Package offline is the reproducible offline evaluation of ranker models:
// the leave-last-out split, HR@K and NDCG@K with full ranking and with
// sampled negatives, blend-weight tuning on the validation targets and the
// harness behind `tide eval ranker`.
//
// Protocol. Each user's interactions are sorted by time (equal times keep
// their log order). The last one is the test target, the one before it the
// validation target, the rest is training. Users with fewer than 3
// interactions are not evaluated; their interactions still go to training
// (no leak: nothing of theirs is ever a target). Models and the popularity
// baseline are trained on the training rows only; the validation
// interaction is part of the user's history when the test target is
// predicted (and, with Options.RetrainForTest, the evaluated model is
// retrained with the validation rows for the test targets, with the
// settings chosen on validation, as the shared README's peers were). Every item not already in the history is ranked. This matches
// the published popularity figure on amazon-grocery (HR@10 0.0177, NDCG@10
// 0.0088); counting popularity over training plus validation rows instead
// gives 0.0188 / 0.0091.
package offline

import (
	"fmt"

	"github.com/tide-live/tide/ranker"
)

// MinUsers is the least number of evaluable users (with at least 3
// interactions) a split needs.
const MinUsers = 3

// Case is one prediction to evaluate: the user's history before the target.
type Case struct {
	User    ranker.UserID
	History ranker.History
	Target  ranker.ItemID
}

// Split is a leave-last-out split of an interaction log.
type Split struct {
	// Train holds the training rows; it shares the input's id maps, so item
	// indices mean the same everywhere.
	Train *ranker.Interactions
	// TrainValidation is Train plus every validation target's row: what a
	// model is retrained on to predict the test targets.
	TrainValidation *ranker.Interactions
	// Validation predicts each user's second-to-last item from the training
	// part of their history.
	Validation []Case
	// Test predicts each user's last item from everything before it.
	Test []Case
}

// LeaveLastOut splits x as described in the package comment.
func LeaveLastOut(x *ranker.Interactions) (*Split, error) {
	if err := x.Validate(); err != nil {
		return nil, err
	}
	hs := x.Histories()
	train := &ranker.Interactions{Users: x.Users, Items: x.Items}
	trainVal := &ranker.Interactions{Users: x.Users, Items: x.Items}
	sp := &Split{Train: train, TrainValidation: trainVal}
	for u, h := range hs {
		n := len(h)
		end := n
		if n >= 3 {
			end = n - 2
			uid := ranker.UserID(u)
			sp.Validation = append(sp.Validation, Case{User: uid, History: h[: n-2 : n-2], Target: h[n-2].Item})
			sp.Test = append(sp.Test, Case{User: uid, History: h[: n-1 : n-1], Target: h[n-1].Item})
		}
		for _, e := range h[:end] {
			train.AddIndexed(ranker.UserID(u), e.Item, e.Time, e.Weight)
		}
		for _, e := range h[:min(end+1, n)] {
			trainVal.AddIndexed(ranker.UserID(u), e.Item, e.Time, e.Weight)
		}
	}
	if len(sp.Test) < MinUsers {
		return nil, fmt.Errorf("offline: %d users with at least 3 interactions, need %d: %w",
			len(sp.Test), MinUsers, ranker.ErrTooLittleData)
	}
	return sp, nil
}
