package control

import (
	"cmp"
	"slices"
	"strings"
	"sync"
)

// connLocks serializes the work on one connector (charger, connector) across
// goroutines — two connections of the same charger during a reconnect, a
// command and the session loop — without serializing unrelated connectors,
// whose store writes must still share group commits.
type connLocks struct {
	mu sync.Mutex
	m  map[connKey]*connLock
}

type connLock struct {
	mu   sync.Mutex
	refs int
}

// lock takes the locks of keys (in a fixed order, so two callers never
// deadlock) and returns the function that releases them.
func (l *connLocks) lock(keys []connKey) func() {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b connKey) int {
		if c := strings.Compare(a.charger, b.charger); c != 0 {
			return c
		}
		return cmp.Compare(a.connector, b.connector)
	})
	keys = slices.Compact(keys)
	held := make([]*connLock, len(keys))
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[connKey]*connLock)
	}
	for i, k := range keys {
		c := l.m[k]
		if c == nil {
			c = &connLock{}
			l.m[k] = c
		}
		c.refs++
		held[i] = c
	}
	l.mu.Unlock()
	for _, c := range held {
		c.mu.Lock()
	}
	return func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i].mu.Unlock()
		}
		l.mu.Lock()
		for i, k := range keys {
			if held[i].refs--; held[i].refs == 0 {
				delete(l.m, k)
			}
		}
		l.mu.Unlock()
	}
}
