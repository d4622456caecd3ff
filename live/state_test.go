package live

import (
	"errors"
	"testing"
	"time"
)

func TestTransition(t *testing.T) {
	cases := []struct {
		from State
		on   Trigger
		to   State
		ok   bool
	}{
		{StateScheduled, TriggerPublish, StateLive, true},
		{StateScheduled, TriggerCancel, StateCancelled, true},
		{StateScheduled, TriggerBan, StateBanned, true},
		{StateScheduled, TriggerBlip, StateScheduled, false},
		{StateScheduled, TriggerStop, StateScheduled, false},
		{StateScheduled, TriggerRecord, StateScheduled, false},
		{StateLive, TriggerBlip, StatePaused, true},
		{StateLive, TriggerStop, StateEnded, true},
		{StateLive, TriggerBan, StateBanned, true},
		{StateLive, TriggerPublish, StateLive, false},
		{StateLive, TriggerCancel, StateLive, false},
		{StateLive, TriggerGraceExpired, StateLive, false},
		{StatePaused, TriggerPublish, StateLive, true},
		{StatePaused, TriggerGraceExpired, StateEnded, true},
		{StatePaused, TriggerStop, StateEnded, true},
		{StatePaused, TriggerBan, StateBanned, true},
		{StatePaused, TriggerBlip, StatePaused, false},
		{StateEnded, TriggerRecord, StateReplayReady, true},
		{StateEnded, TriggerPublish, StateEnded, false},
		{StateEnded, TriggerBan, StateBanned, true},
		{StateReplayReady, TriggerRecord, StateReplayReady, true},
		{StateReplayReady, TriggerPublish, StateReplayReady, false},
		{StateBanned, TriggerPublish, StateBanned, false},
		{StateBanned, TriggerRecord, StateBanned, false},
		{StateBanned, TriggerBan, StateBanned, false},
		{StateCancelled, TriggerPublish, StateCancelled, false},
		{StateScheduled, TriggerWindowPassed, StateExpired, true},
		{StateLive, TriggerWindowPassed, StateLive, false}, // on air past its end: the anchor ends it
		{StatePaused, TriggerWindowPassed, StatePaused, false},
		{StateEnded, TriggerWindowPassed, StateEnded, false},
		{StateExpired, TriggerPublish, StateExpired, false}, // a late push is refused
		{StateExpired, TriggerCancel, StateExpired, false},
		{StateExpired, TriggerRecord, StateExpired, false},
	}
	for _, c := range cases {
		to, err := Transition(c.from, c.on)
		if to != c.to || (err == nil) != c.ok {
			t.Errorf("Transition(%s, %s) = %s, %v; want %s, ok=%v", c.from, c.on, to, err, c.to, c.ok)
		}
		if err != nil && !errors.Is(err, ErrPrecondition) {
			t.Errorf("Transition(%s, %s) error %v is not ErrPrecondition", c.from, c.on, err)
		}
	}
}

// Every state that is over accepts no trigger that puts it back on air.
func TestOverStatesNeverGoOnAir(t *testing.T) {
	triggers := []Trigger{TriggerPublish, TriggerBlip, TriggerStop, TriggerGraceExpired, TriggerRecord, TriggerBan, TriggerCancel, TriggerWindowPassed}
	for _, s := range States {
		if !s.Over() {
			continue
		}
		for _, tr := range triggers {
			if to, err := Transition(s, tr); err == nil && to.OnAir() {
				t.Errorf("%s on %s goes on air (%s)", s, tr, to)
			}
		}
	}
}

func TestValidateShelf(t *testing.T) {
	long := make([]string, MaxShelf+1)
	for i := range long {
		long[i] = string(rune('a'+i%26)) + string(rune('0'+i/26))
	}
	var fe *FieldError
	if err := ValidateShelf(long); !errors.As(err, &fe) || fe.Field != "product_ids" {
		t.Errorf("over-long shelf: %v", err)
	}
	if err := ValidateShelf([]string{"p1", "p1"}); err == nil {
		t.Error("repeated product accepted")
	}
	if err := ValidateShelf([]string{"p1", "p2"}); err != nil {
		t.Error(err)
	}
}

func TestValidateWindow(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		start, end time.Time
		field      string
	}{
		{now.Add(time.Hour), now.Add(2 * time.Hour), ""},
		{now.Add(-time.Hour), now.Add(time.Hour), "start_time"},
		{now.Add(2 * time.Hour), now.Add(time.Hour), "end_time"},
		{now.Add(time.Hour), now.Add(26 * time.Hour), "end_time"},
		{now.Add(200 * 24 * time.Hour), now.Add(201 * 24 * time.Hour), "start_time"},
		{time.Time{}, now, "start_time"},
	}
	for i, c := range cases {
		err := ValidateWindow(now, c.start, c.end)
		var fe *FieldError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("case %d: %v", i, err)
		case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field):
			t.Errorf("case %d: got %v, want an error naming %s", i, err, c.field)
		}
	}
}
