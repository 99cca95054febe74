package control

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/edge/store"
)

// BenchmarkAppendMeter measures one meter reading of a running session
// recorded through the Book, with concurrent connectors sharing group
// commits (durable store), against the same events appended to the store
// directly:
//
//	go test -run x -bench AppendMeter -benchtime 20000x ./edge/control
func BenchmarkAppendMeter(b *testing.B) {
	for _, through := range []string{"store", "book"} {
		b.Run(through, func(b *testing.B) {
			scfg := store.DefaultConfig()
			scfg.Dir = b.TempDir()
			st, err := store.Open(scfg, "edge-a", nil, prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			book, err := NewBook(context.Background(), BookConfig{Fallback: DefaultAuthConfig(), Tariff: flatConfig(1)}, BookDeps{Store: st})
			if err != nil {
				b.Fatal(err)
			}
			defer book.Close()
			var conn atomic.Uint32
			b.SetParallelism(64) // many chargers, as on a site
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c := conn.Add(1)
				ctx := context.Background()
				ref := fmt.Sprint(c)
				if err := book.Append(ctx, started("gw", c, ref, "", book.now())); err != nil {
					b.Error(err)
					return
				}
				var mwh int64
				for pb.Next() {
					mwh += 1000
					ev := metered("gw", c, ref, mwh, book.now())
					var err error
					if through == "book" {
						err = book.Append(ctx, ev)
					} else {
						err = st.Append(ctx, ev)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			if through == "book" && len(book.OpenSessions()) == 0 {
				b.Fatal("no sessions open")
			}
		})
	}
}
