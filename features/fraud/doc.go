// Package fraud runs anti-fraud (防刷单, 防作弊) rules online over the event
// stream and flags users, devices, IPs and rooms, each flag with its rule and
// a reason a person can read.
//
// The rules (thresholds in thresholds.go, each with why that number):
//
//   - R1 device aggregation: many accounts seen on one device within 24 h
//     (click farms, 群控). Flags the device and its accounts.
//   - R2 IP aggregation: many orders by several accounts from one IP in one
//     room within 10 min (刷单 rings). Flags the IP and its buyers.
//   - R3 fresh-account fast buy: an account younger than 24 h orders within
//     60 s of its first room entry. Flags the account.
//   - R4 order-then-refund: a buyer whose paid orders are mostly refunded
//     within 30 min; a room whose orders are. Flags the buyer or the room.
//   - R5 lockstep (CopyCatch-style): a group of accounts entering a room
//     within one second of each other and leaving within 30 s, seen in more
//     than one episode. Flags the accounts and the room.
//   - R6 view bots: accounts whose room visits are long and show no activity
//     at all. Flags the accounts, and rooms many of them sat in.
//   - R7 WeChat risk rank: not run by the Engine, but by checkout
//     (serving/commerce's risk gate): WeChat's getUserRiskRank ranks a
//     buyer at or above a threshold at a flash-sale or coupon order, which
//     is refused. Flags the account; restored like the others.
//
// Signals the rules need from the events: user_id and device_id (Track
// stamps them from the caller), attrs["ip"] (the client IP as a keyed hash,
// which the server stamps from the connection over a client's value:
// serving/callerfacts, used by Track and to be used by checkout) and
// attrs["acct_created"] (the account's creation time in Unix ms, from the
// session token, which Login fills from the auth_accounts record). Events without
// them simply do not feed R2 and R3.
//
// An Engine is fed one event at a time (Observe, or Keep as a features
// filter) from one goroutine; Flagged may be called from any goroutine. Its
// memory is bounded: every piece of state lives in a time window and every
// map has a cap (WithCaps); a full map tracks no new keys until a sweep
// frees room, and Stats counts what was dropped.
package fraud
