package fraud

import "time"

// Default thresholds. Each was chosen against what legitimate heavy use
// looks like (a family sharing a phone, a big spender ordering a dozen items
// in one room, fans rushing into a room when it goes live), so that heavy
// use stays below it while attacks, which need scale to pay, stay above it.
// `tide eval fraud` measures them on the simulator.
const (
	// DeviceAccounts (R1): a household shares a phone between two or three
	// accounts; five or more accounts on one device in a day is account
	// farming (群控 / click farms run tens per device) [GEM, CIKM 2018].
	DeviceAccounts = 5
	// DeviceWindow (R1): one day, the account-rotation period of the
	// reference rule.
	DeviceWindow = 24 * time.Hour

	// IPRoomOrders (R2): five orders from one IP in one room in ten minutes
	// is more than a family (two or three buyers behind one router) makes...
	IPRoomOrders = 5
	// IPRoomAccounts (R2): ...and they must come from at least three
	// accounts: one account ordering many items is a big spender, not a ring
	// (its refunds are R4's business).
	IPRoomAccounts = 3
	// IPRoomWindow (R2): ten minutes, the length of a product's slot in a
	// live show (讲解), when a ring pushes its sales up.
	IPRoomWindow = 10 * time.Minute

	// FreshAccountAge (R3): an account younger than a day is fresh; a 刷单
	// ring registers accounts in bulk just before it uses them.
	FreshAccountAge = 24 * time.Hour
	// FreshBuyDelay (R3): a person needs more than a minute from first
	// entering a room to look at a product, pick a SKU and submit; a script
	// orders in seconds.
	FreshBuyDelay = 60 * time.Second

	// RefundWithin (R4): a refund within 30 minutes of payment, before any
	// parcel could have shipped, is an order-then-refund (刷单 then 退款).
	RefundWithin = 30 * time.Minute
	// BuyerFastRefunds (R4): two quick refunds (one is an honest mistake)...
	BuyerFastRefunds = 2
	// BuyerFastRefundShare (R4): ...that are at least half of the buyer's
	// paid orders (a big spender with many orders may refund two).
	BuyerFastRefundShare = 0.5
	// RoomFastRefundShare (R4): a room where a third of paid orders are
	// refunded within 30 minutes (normal live-commerce refunds run well under
	// a tenth, and come days later)...
	RoomFastRefundShare = 1.0 / 3
	// RoomMinOrders (R4): ...once it has at least ten paid orders, so two
	// refunds of a quiet room do not count.
	RoomMinOrders = 10
	// BuyerWindow (R4): the buyer's orders and refunds are counted over a day.
	BuyerWindow = 24 * time.Hour

	// LockstepGroup (R5): eight accounts entering one room within a second
	// of each other and leaving again within 30 s. Fans rushing in at the
	// start of a show enter together but stay; random short visits of eight
	// people in one second are rare outside the largest rooms...
	LockstepGroup = 8
	// LockstepEpisodes (R5): ...and a lockstep group repeats: an account must
	// be in two such groups (two rooms, or one room at two times) before it
	// is flagged, CopyCatch's "same targets" condition.
	LockstepEpisodes = 2
	// LockstepEnter (R5): the spread of the group's entries.
	LockstepEnter = time.Second
	// LockstepStay (R5): the longest stay of a lockstep visit: bots leave
	// right after the platform's minimum counted view.
	LockstepStay = 30 * time.Second

	// IdleVisitMin (R6): a visit of a minute or more without a single like,
	// chat, gift, share, follow or product event is idle; a person watching
	// a selling show for a minute touches something (or at least scrolls the
	// shelf) far more often than not.
	IdleVisitMin = time.Minute
	// IdleVisits (R6): four idle visits in a day before an account is a
	// view bot, so a lurker's odd quiet visit does not count...
	IdleVisits = 4
	// IdleShare (R6): ...and nine in ten of its visits in the day are idle.
	IdleShare = 0.9
	// RoomBotViewers (R6): a room in which ten flagged view bots sat is
	// flagged as view-botted (its 观看人数 is inflated).
	RoomBotViewers = 10
)

// Thresholds are the rules' parameters; DefaultThresholds gives the
// documented constants above.
type Thresholds struct {
	DeviceAccounts       int
	DeviceWindow         time.Duration
	IPRoomOrders         int
	IPRoomAccounts       int
	IPRoomWindow         time.Duration
	FreshAccountAge      time.Duration
	FreshBuyDelay        time.Duration
	RefundWithin         time.Duration
	BuyerFastRefunds     int
	BuyerFastRefundShare float64
	RoomFastRefundShare  float64
	RoomMinOrders        int
	BuyerWindow          time.Duration
	LockstepGroup        int
	LockstepEpisodes     int
	LockstepEnter        time.Duration
	LockstepStay         time.Duration
	IdleVisitMin         time.Duration
	IdleVisits           int
	IdleShare            float64
	RoomBotViewers       int
}

// DefaultThresholds returns the documented default thresholds.
func DefaultThresholds() Thresholds {
	return Thresholds{
		DeviceAccounts: DeviceAccounts, DeviceWindow: DeviceWindow,
		IPRoomOrders: IPRoomOrders, IPRoomAccounts: IPRoomAccounts, IPRoomWindow: IPRoomWindow,
		FreshAccountAge: FreshAccountAge, FreshBuyDelay: FreshBuyDelay,
		RefundWithin: RefundWithin, BuyerFastRefunds: BuyerFastRefunds,
		BuyerFastRefundShare: BuyerFastRefundShare, RoomFastRefundShare: RoomFastRefundShare,
		RoomMinOrders: RoomMinOrders, BuyerWindow: BuyerWindow,
		LockstepGroup: LockstepGroup, LockstepEpisodes: LockstepEpisodes,
		LockstepEnter: LockstepEnter, LockstepStay: LockstepStay,
		IdleVisitMin: IdleVisitMin, IdleVisits: IdleVisits, IdleShare: IdleShare,
		RoomBotViewers: RoomBotViewers,
	}
}
