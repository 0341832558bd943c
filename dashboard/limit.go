package dashboard

import (
	"net/netip"
	"sync"
	"time"
)

// Allowances of failed sign-ins: per name, ten at once, then one every six
// seconds; per client address, twenty at once, then one every three
// seconds. Guessing one name never locks out another; one address cannot
// guess many names quickly either.
const (
	nameBurst = 10
	nameEvery = 6 * time.Second
	addrBurst = 20
	addrEvery = 3 * time.Second
	// maxBuckets bounds the allowances remembered per kind; beyond it the
	// full ones (nothing spent) are forgotten first.
	maxBuckets = 10000
)

// bucket is a token bucket: tokens left as of last.
type bucket struct {
	tokens float64
	last   time.Time
}

// failures counts failed sign-ins per name and per client address.
type failures struct {
	mu    sync.Mutex
	names buckets
	addrs buckets
}

type buckets struct {
	burst float64
	every time.Duration
	m     map[string]*bucket
}

func newFailures() *failures {
	return &failures{
		names: buckets{burst: nameBurst, every: nameEvery, m: map[string]*bucket{}},
		addrs: buckets{burst: addrBurst, every: addrEvery, m: map[string]*bucket{}},
	}
}

// level returns key's bucket, refilled to now (a new one is full).
func (bs *buckets) level(key string, now time.Time) *bucket {
	b := bs.m[key]
	if b == nil {
		if len(bs.m) >= maxBuckets {
			bs.forget(now)
		}
		b = &bucket{tokens: bs.burst, last: now}
		bs.m[key] = b
		return b
	}
	if now.After(b.last) {
		b.tokens = min(bs.burst, b.tokens+float64(now.Sub(b.last))/float64(bs.every))
		b.last = now
	}
	return b
}

// wait is how long until b holds a token.
func (bs *buckets) wait(b *bucket) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(bs.every))
}

// forget drops the buckets that have refilled; if that is not enough (a
// flood of names or addresses), any others until a tenth is free.
func (bs *buckets) forget(now time.Time) {
	for k, b := range bs.m {
		if b.tokens+float64(now.Sub(b.last))/float64(bs.every) >= bs.burst {
			delete(bs.m, k)
		}
	}
	for k := range bs.m {
		if len(bs.m) < maxBuckets*9/10 {
			break
		}
		delete(bs.m, k)
	}
}

// slot is a sign-in attempt's place in the allowances.
type slot struct{ name, addr string }

// take spends one try of name's and addr's allowances, both or neither.
// When either is spent it returns how long until both have one again.
func (f *failures) take(name string, addr netip.Addr, now time.Time) (slot, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sl := slot{name: name, addr: addrKey(addr)}
	nb, ab := f.names.level(sl.name, now), f.addrs.level(sl.addr, now)
	if w := max(f.names.wait(nb), f.addrs.wait(ab)); w > 0 {
		return slot{}, w
	}
	nb.tokens--
	ab.tokens--
	return sl, 0
}

// giveBack returns a try that succeeded: only failures count.
func (f *failures) giveBack(sl slot, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range []struct {
		bs  *buckets
		key string
	}{{&f.names, sl.name}, {&f.addrs, sl.addr}} {
		if g.bs.m[g.key] != nil {
			b := g.bs.level(g.key, now)
			b.tokens = min(g.bs.burst, b.tokens+1)
		}
	}
}

// addrKey is the allowance an address counts against: an IPv6 client's
// whole /64 (one host commonly holds one), an IPv4 address alone.
func addrKey(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.Unmap().String()
}
