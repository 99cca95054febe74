package sim

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// latencies is a log-bucketed histogram (8 buckets per power of two, ~9%
// resolution): fixed memory however many replies are measured.
type latencies struct {
	mu      sync.Mutex
	buckets [64 * 8]uint64
	count   uint64
}

func bucketOf(d time.Duration) int {
	ns := uint64(max(d, 1))
	exp := 63 - bits.LeadingZeros64(ns)
	// The 3 bits after the leading one pick the sub-bucket.
	var sub uint64
	if exp >= 3 {
		sub = (ns >> (exp - 3)) & 7
	} else {
		sub = (ns << (3 - exp)) & 7
	}
	return exp*8 + int(sub)
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.buckets[bucketOf(d)]++
	l.count++
	l.mu.Unlock()
}

// quantile returns the upper edge of the bucket holding quantile q.
func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(l.count)))
	var seen uint64
	for i, c := range l.buckets {
		seen += c
		if seen >= max(rank, 1) {
			exp, sub := i/8, uint64(i%8)
			upper := (uint64(1) << exp) + (sub+1)*(uint64(1)<<exp)/8
			return time.Duration(upper)
		}
	}
	return time.Duration(math.MaxInt64)
}
