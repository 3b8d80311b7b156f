package web

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// BenchmarkAPIConsume measures paid runs per second through the whole HTTP
// stack (middleware, API key, service run, ledger) over a real loopback
// connection, one hot account and many accounts, at saturation: from
// enough parallel clients to keep both the server and the database busy
// (their key lookups, charges and outcomes share queries and commits). With
// fewer, a run's latency, not the server's capacity, bounds the figure.
//
//	go test -run '^$' -bench APIConsume -benchtime 20000x -count 5 ./internal/web/
//
// A fixed count of runs, after an untimed warm-up: the figure is the
// steady state, not the first second's new connections and statements.
func BenchmarkAPIConsume(b *testing.B) {
	const benchClients = 256
	for _, d := range dbtest.Dialects {
		for _, accounts := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/accounts=%d", d, accounts), func(b *testing.B) {
				a := httpsApp(b, d)
				tokens := make([]string, accounts)
				for i := range tokens {
					var user string
					user, tokens[i] = apiClientFor(b, a, fmt.Sprintf("bench%d@example.com", i))
					grant(b, a, user, credits.MaxAmount)
				}
				srv := httptest.NewServer(a.handler)
				defer srv.Close()
				client := srv.Client()
				client.Transport.(*http.Transport).MaxIdleConnsPerHost = benchClients
				var next atomic.Int64
				run := func() error {
					n := next.Add(1)
					req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/services/word-count/runs", strings.NewReader(`{"input":{"text":"bench"}}`))
					req.Header.Set("Authorization", "Bearer "+tokens[n%int64(accounts)])
					req.Header.Set("Idempotency-Key", fmt.Sprint("k", n))
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						return err
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						return fmt.Errorf("run = %d", resp.StatusCode)
					}
					return nil
				}
				// Warm up, untimed: every client's connection open, and the
				// database connections and their prepared statements made.
				var wg sync.WaitGroup
				for range benchClients {
					wg.Go(func() {
						for range 10 {
							if !assert.NoError(b, run()) {
								return
							}
						}
					})
				}
				wg.Wait()
				b.SetParallelism((benchClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if !assert.NoError(b, run()) {
							return
						}
					}
				})
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
			})
		}
	}
}
