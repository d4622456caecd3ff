package fraud

import (
	"fmt"
	"strings"
)

// deviceState is R1's view of one device: the accounts seen on it lately.
type deviceState struct {
	last int64
	seen []account // at most 2·DeviceAccounts, the least recent replaced
}

type account struct {
	id string
	at int64
}

// device records that user uid used device d at t (R1).
func (e *Engine) device(d, uid string, t int64, room string) {
	ds := e.devices[d]
	if ds == nil {
		if e.full(len(e.devices)) {
			return
		}
		ds = &deviceState{}
		e.devices[strings.Clone(d)] = ds
	}
	ds.last = max(ds.last, t)
	win := e.th.DeviceWindow.Milliseconds()
	found, oldest := -1, -1
	for i := range ds.seen {
		if ds.seen[i].id == uid {
			found = i
			break
		}
		if oldest < 0 || ds.seen[i].at < ds.seen[oldest].at {
			oldest = i
		}
	}
	switch {
	case found >= 0:
		ds.seen[found].at = max(ds.seen[found].at, t)
		return // no new account: the count did not change
	case len(ds.seen) < 2*e.th.DeviceAccounts:
		ds.seen = append(ds.seen, account{strings.Clone(uid), t})
	default:
		ds.seen[oldest] = account{strings.Clone(uid), t}
	}
	n := 0
	for _, a := range ds.seen {
		if a.at > t-win {
			n++
		}
	}
	if n < e.th.DeviceAccounts {
		return
	}
	reason := func() string {
		return fmt.Sprintf("%d accounts on this device within %s (threshold %d)", n, e.th.DeviceWindow, e.th.DeviceAccounts)
	}
	e.raise(KindDevice, d, RuleDeviceAccounts, int64(n), room, t, reason)
	for _, a := range ds.seen {
		if a.at > t-win {
			e.raise(KindUser, a.id, RuleDeviceAccounts, int64(n), room, t, func() string {
				return fmt.Sprintf("one of %d accounts on device %s within %s (threshold %d)", n, d, e.th.DeviceWindow, e.th.DeviceAccounts)
			})
		}
	}
}
