package world

// LimiterKeys counts the keys the rate limiter holds, for tests of its
// pruning.
func (w *World) LimiterKeys() int { return w.limiter.keys() }
