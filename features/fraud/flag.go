package fraud

import (
	"fmt"
	"time"
)

// Kind is what a flag is about.
type Kind uint8

// The kinds of flagged subjects. Their names are the subject_kind values of
// the ClickHouse fraud_flags table.
const (
	KindUser Kind = iota + 1
	KindDevice
	KindIP
	KindRoom
)

// String is the kind's name: user, device, ip or room.
func (k Kind) String() string {
	switch k {
	case KindUser:
		return "user"
	case KindDevice:
		return "device"
	case KindIP:
		return "ip"
	case KindRoom:
		return "room"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind is the kind named s (as Kind.String writes it); ok is false for
// an unknown name.
func ParseKind(s string) (k Kind, ok bool) {
	for _, k := range []Kind{KindUser, KindDevice, KindIP, KindRoom} {
		if k.String() == s {
			return k, true
		}
	}
	return 0, false
}

// ParseRule is the rule named s (as Rule.String writes it); ok is false for
// an unknown name.
func ParseRule(s string) (r Rule, ok bool) {
	for _, r := range Rules {
		if r.String() == s {
			return r, true
		}
	}
	return 0, false
}

// Rule is one of the rules R1–R7.
type Rule uint8

// The rules; see the package documentation. Their names are the rule values
// of the ClickHouse fraud_flags table.
const (
	RuleDeviceAccounts Rule = iota + 1 // R1
	RuleIPRoomOrders                   // R2
	RuleFreshFastBuy                   // R3
	RuleOrderRefund                    // R4
	RuleLockstep                       // R5
	RuleViewBot                        // R6
	// RuleWeChatRiskRank (R7) is not the engine's: serving/commerce's
	// risk gate raises it when WeChat ranks a buyer risky at a flash-sale
	// or coupon order and refuses the order.
	RuleWeChatRiskRank // R7
)

// Rules lists every rule in order.
var Rules = []Rule{RuleDeviceAccounts, RuleIPRoomOrders, RuleFreshFastBuy, RuleOrderRefund, RuleLockstep, RuleViewBot, RuleWeChatRiskRank}

// String is the rule's stable name, e.g. "r1_device_accounts".
func (r Rule) String() string {
	switch r {
	case RuleDeviceAccounts:
		return "r1_device_accounts"
	case RuleIPRoomOrders:
		return "r2_ip_room_orders"
	case RuleFreshFastBuy:
		return "r3_fresh_fast_buy"
	case RuleOrderRefund:
		return "r4_order_refund"
	case RuleLockstep:
		return "r5_lockstep"
	case RuleViewBot:
		return "r6_view_bot"
	case RuleWeChatRiskRank:
		return "r7_wechat_risk_rank"
	}
	return fmt.Sprintf("rule(%d)", uint8(r))
}

// Flag says that a subject broke a rule.
type Flag struct {
	Kind Kind
	ID   string
	Rule Rule
	// Reason says in words what was seen, e.g. "7 accounts on this device
	// within 24h (threshold 5)".
	Reason string
	// Measure is the figure that crossed the threshold (accounts, orders,
	// episodes, ...).
	Measure int64
	// RoomID is the room the evidence came from, when there is one.
	RoomID string
	// At is the event time of the event that raised the flag, UTC.
	At time.Time
}

// subject is a flagged thing's key.
type subject struct {
	kind Kind
	id   string
}
