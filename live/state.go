package live

import (
	"fmt"
)

// State is where a session is in its lifecycle.
type State string

// Session states. A session is scheduled (预告) until its push connects, then
// live; a blip disconnect pauses it and it goes live again when the push
// comes back, or ends when the grace period passes; an ended session becomes
// replay_ready when its recording arrives. A scheduled session may be
// cancelled by its merchant, expires when its window passes without a push
// (WeChat's 107 已过期), and any session not over may be banned.
const (
	StateScheduled   State = "scheduled"
	StateLive        State = "live"
	StatePaused      State = "paused"
	StateEnded       State = "ended"
	StateReplayReady State = "replay_ready"
	StateBanned      State = "banned"
	StateCancelled   State = "cancelled"
	StateExpired     State = "expired"
)

// States lists every state, in lifecycle order.
var States = []State{StateScheduled, StateLive, StatePaused, StateEnded, StateReplayReady, StateBanned, StateCancelled, StateExpired}

// OnAir reports whether viewers can watch the session now: live, or paused
// (a blip, the room stays in feeds while the anchor reconnects).
func (s State) OnAir() bool { return s == StateLive || s == StatePaused }

// Over reports whether the session can no longer go on air.
func (s State) Over() bool {
	return s == StateEnded || s == StateReplayReady || s == StateBanned || s == StateCancelled || s == StateExpired
}

// Trigger is what asks a session to change state.
type Trigger string

// Triggers of a transition.
const (
	TriggerPublish      Trigger = "publish"       // the push connected
	TriggerBlip         Trigger = "blip"          // the push dropped with a reason that may be a network blip
	TriggerStop         Trigger = "stop"          // the push stopped for good, or the merchant ended the session
	TriggerGraceExpired Trigger = "grace_expired" // a paused session's push did not come back in time
	TriggerRecord       Trigger = "record"        // the recording (replay) is ready
	TriggerBan          Trigger = "ban"           // moderation or an operator banned the session
	TriggerCancel       Trigger = "cancel"        // the merchant cancelled a 预告
	TriggerWindowPassed Trigger = "window_passed" // a 预告's scheduled end passed and it never went on air
)

// transitions is the lifecycle: from state, on trigger, to state. A pair
// that is missing is refused.
var transitions = map[State]map[Trigger]State{
	StateScheduled: {
		TriggerPublish:      StateLive,
		TriggerCancel:       StateCancelled,
		TriggerBan:          StateBanned,
		TriggerWindowPassed: StateExpired,
	},
	StateLive: {
		TriggerBlip:   StatePaused,
		TriggerStop:   StateEnded,
		TriggerBan:    StateBanned,
		TriggerRecord: StateLive, // a segment recorded mid-stream is kept; the session stays live
	},
	StatePaused: {
		TriggerPublish:      StateLive,
		TriggerStop:         StateEnded,
		TriggerGraceExpired: StateEnded,
		TriggerBan:          StateBanned,
		TriggerRecord:       StatePaused,
	},
	StateEnded: {
		TriggerRecord: StateReplayReady,
		TriggerBan:    StateBanned, // a verdict that arrives after the end still bans (no replay is shown)
	},
	StateReplayReady: {
		TriggerRecord: StateReplayReady, // more files of the same session
		TriggerBan:    StateBanned,
	},
}

// TransitionError is returned by Transition for a trigger the state does
// not accept.
type TransitionError struct {
	From    State
	Trigger Trigger
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("a %s session cannot take %q", e.From, e.Trigger)
}

// Is makes errors.Is(err, ErrPrecondition) true: a refused transition is the
// caller asking for something the session's state does not allow.
func (e *TransitionError) Is(target error) bool { return target == ErrPrecondition }

// Transition is the session lifecycle: the state a session in from moves to
// on trigger, or a *TransitionError when from does not accept trigger. It is
// the only place that decides a transition.
func Transition(from State, t Trigger) (State, error) {
	if to, ok := transitions[from][t]; ok {
		return to, nil
	}
	return from, &TransitionError{From: from, Trigger: t}
}
