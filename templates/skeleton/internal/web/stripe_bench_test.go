package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// paidSessions starts and pays n checkouts of the shop's buyer.
func (s *shop) paidSessions(b *testing.B, n int) []string {
	b.Helper()
	out := make([]string, n)
	for i := range out {
		_, sess, err := s.billing.Checkout(context.Background(), billing.CheckoutRequest{
			Buyer: billing.Buyer{UserID: s.user, Email: "buyer@example.com"}, PackageID: s.purchase.PackageID,
			SuccessURL: "http://example.com/credits?session_id={CHECKOUT_SESSION_ID}", CancelURL: "http://example.com/credits",
		})
		require.NoError(b, err)
		s.stripe.Pay(sess.ID)
		out[i] = sess.ID
	}
	return out
}

// BenchmarkStripeWebhook measures Stripe's deliveries of new signed
// checkout.session.completed events for paid sessions, through the real
// router and job queue. "processed": one at a time, each answered and
// then worked (retrieved, granted) before the next, in deliveries/s.
// "concurrent=50": rounds of 50 deliveries at once while two workers run
// the queue; p99-ms is the 99th percentile of the answers' latency (the
// 2 s Stripe allows).
//
//	go test -run '^$' -bench StripeWebhook -benchtime 100x -count 5 ./internal/web/
func BenchmarkStripeWebhook(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d)+"/processed", func(b *testing.B) {
			s := newShop(b, d)
			sessions := s.paidSessions(b, b.N)
			b.ResetTimer()
			for i := range b.N {
				s.deliverAbout(b, fmt.Sprint("evt_bench_", i), billing.EventCheckoutCompleted, "checkout.session", sessions[i])
				s.runDueJobs(b)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
		b.Run(string(d)+"/concurrent=50", func(b *testing.B) {
			const concurrent = 50
			s := newShop(b, d)
			sessions := s.paidSessions(b, b.N*concurrent)
			var latencies []time.Duration
			var mu sync.Mutex
			b.ResetTimer()
			for round := range b.N {
				var wg sync.WaitGroup
				for i := range concurrent {
					n := round*concurrent + i
					payload := billingtest.ObjectEvent(fmt.Sprint("evt_bench_", n), billing.EventCheckoutCompleted, "checkout.session", sessions[n], stripe.APIVersion)
					wg.Go(func() {
						start := time.Now()
						resp, _ := s.do(delivery(payload, billingtest.Sign(payload, billingtest.WebhookSecret, time.Now())))
						took := time.Since(start)
						if resp.StatusCode != http.StatusOK {
							b.Errorf("delivery %d = %d", n, resp.StatusCode)
						}
						mu.Lock()
						latencies = append(latencies, took)
						mu.Unlock()
					})
				}
				s.workWhile(b, wg.Wait)
			}
			b.StopTimer()
			slices.Sort(latencies)
			b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
