package live_test

import (
	"fmt"

	"github.com/tide-live/tide/live"
)

// A session's life: a blip pauses it, the push coming back resumes it, the
// stop ends it and the recording makes the replay; a finished session
// cannot go on air again.
func ExampleTransition() {
	s := live.StateScheduled
	for _, t := range []live.Trigger{live.TriggerPublish, live.TriggerBlip, live.TriggerPublish,
		live.TriggerStop, live.TriggerRecord, live.TriggerPublish} {
		next, err := live.Transition(s, t)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s --%s--> %s\n", s, t, next)
		s = next
	}
	// Output:
	// scheduled --publish--> live
	// live --blip--> paused
	// paused --publish--> live
	// live --stop--> ended
	// ended --record--> replay_ready
	// a replay_ready session cannot take "publish"
}
