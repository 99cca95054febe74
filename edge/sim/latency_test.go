package sim

import (
	"testing"
	"time"
)

func TestLatencyQuantiles(t *testing.T) {
	var l latencies
	for i := 1; i <= 1000; i++ {
		l.add(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}} {
		got := l.quantile(tc.q)
		// Buckets are 1/8 of a power of two wide: within 13% above the true value.
		if got < tc.want || float64(got) > float64(tc.want)*1.13 {
			t.Errorf("quantile(%v) = %v, want within [%v, +13%%]", tc.q, got, tc.want)
		}
	}
	var empty latencies
	if empty.quantile(0.5) != 0 {
		t.Error("empty histogram should report 0")
	}
}
