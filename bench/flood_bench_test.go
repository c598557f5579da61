package bench_test

import (
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
)

// BenchmarkMeDuringLoginFlood measures GET /users/me while 16 clients log
// in as fast as they can with the default argon2id parameters. It reports
// the latency percentiles of /users/me and the peak heap, to compare with
// the same run without the flood (flood=0) and with 16 hashing slots
// instead of the default (half the CPUs), as an unbounded hasher would run.
func BenchmarkMeDuringLoginFlood(b *testing.B) {
	for _, tt := range []struct{ flood, slots int }{{0, 0}, {16, 0}, {16, 16}} {
		name := "flood=" + strconv.Itoa(tt.flood)
		var opts []ginusers.Option
		if tt.slots > 0 {
			// What an unbounded hasher would do: every login hashes at once.
			name += "/hash-slots=" + strconv.Itoa(tt.slots)
			opts = append(opts, ginusers.WithMaxConcurrentHashes(tt.slots))
		}
		flood := tt.flood
		b.Run(name, func(b *testing.B) {
			e, tok := benchRouter(b, storetest.NewMemStore[Fields](), opts...)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var logins atomic.Int64
			body := url.Values{"username": {"bench@camelot.bt"}, "password": {"guinevere"}}.Encode()
			for range flood {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						r := httptest.NewRequest("POST", "/auth/jwt/login", strings.NewReader(body))
						r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						e.ServeHTTP(httptest.NewRecorder(), r)
						logins.Add(1)
					}
				})
			}
			var peak atomic.Uint64
			memDone := make(chan struct{})
			go func() {
				defer close(memDone)
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
				}
			}()
			time.Sleep(100 * time.Millisecond) // let the flood start
			lat := make([]time.Duration, 0, b.N)
			req := httptest.NewRequest("GET", "/users/me", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				w := httptest.NewRecorder()
				e.ServeHTTP(w, req)
				lat = append(lat, time.Since(t0))
				if w.Code != 200 {
					b.Fatalf("GET /users/me = %d", w.Code)
				}
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			<-memDone
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(lat[len(lat)*999/1000].Microseconds()), "p99.9-µs")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(logins.Load()), "logins")
		})
	}
}
