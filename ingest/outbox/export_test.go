package outbox

// SetAfterProduce makes r run f after the broker acknowledged a batch and
// before it is marked sent, for the outbox_test package's crash test.
func SetAfterProduce(r *Relay, f func() error) { r.afterProduce = f }
