// Package live is the domain of live rooms (直播间): a Room owned by one
// merchant, its Sessions (a 预告 that goes live, pauses on a stream blip,
// ends and gets a replay, or is banned), the shelf of products pinned to the
// room (小黄车, one of them 讲解中), and the replays (回放).
//
// The package holds no infrastructure: the registry that stores rooms and
// applies stream signals is live/postgres, the streaming clouds are behind
// live/stream. Every session state change goes through Transition, the one
// place the lifecycle is decided.
package live
