package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// BenchmarkStripeWebhook gives issue 12's figures, on both databases:
//
//   - processed: one paid checkout's signed checkout.session.completed,
//     answered, then its job worked until the credits are granted;
//     deliveries/s is the rate of that, one after another.
//   - answer-50-concurrent: 50 deliveries of different paid checkouts at
//     once over HTTP while two workers run the queue; each op is one such
//     burst, and p50-ms and p99-ms are the answers' times over all bursts
//     (Stripe gives up on an answer after about 10 s; the goal is 2 s).
func BenchmarkStripeWebhook(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d)+"/processed", func(b *testing.B) {
			s := newShop(b, d)
			ctx := context.Background()
			n := 0
			for b.Loop() {
				b.StopTimer()
				_, session := s.checkout(b)
				s.stripe.Pay(session)
				payload := billingtest.Event(fmt.Sprintf("evt_%d", n), billing.EventCheckoutCompleted, session)
				n++
				b.StartTimer()
				resp, body := s.do(delivery(payload, billingtest.Sign(payload, billingtest.WebhookSecret, time.Now())))
				require.Equal(b, http.StatusOK, resp.StatusCode, "delivery: %s", body)
				for {
					ran, err := s.jobs.RunOnce(ctx)
					require.NoError(b, err)
					if !ran {
						break
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			b.StopTimer()
			require.Equal(b, int64(n*packageCredits), s.balance(b), "every delivery granted once")
		})

		b.Run(string(d)+"/answer-50-concurrent", func(b *testing.B) {
			const burst = 50
			s := newShop(b, d)
			srv := httptest.NewServer(s.handler)
			defer srv.Close()
			// The workers stop between jobs: a job cut off mid-way would
			// be retried later, after the check below.
			var stopped atomic.Bool
			var workers sync.WaitGroup
			for range 2 {
				workers.Go(func() {
					for !stopped.Load() {
						ran, err := s.jobs.RunOnce(context.Background())
						require.NoError(b, err)
						if !ran {
							time.Sleep(time.Millisecond)
						}
					}
				})
			}
			var answers []time.Duration
			n := 0
			for b.Loop() {
				b.StopTimer()
				payloads := make([][]byte, burst)
				for i := range payloads {
					_, session := s.checkout(b)
					s.stripe.Pay(session)
					payloads[i] = billingtest.Event(fmt.Sprintf("evt_%d", n), billing.EventCheckoutCompleted, session)
					n++
				}
				took := make([]time.Duration, burst)
				b.StartTimer()
				var wg sync.WaitGroup
				for i, payload := range payloads {
					wg.Go(func() {
						req, err := http.NewRequest(http.MethodPost, srv.URL+"/stripe/webhook", bytes.NewReader(payload))
						require.NoError(b, err)
						req.Header.Set("Content-Type", "application/json; charset=utf-8")
						req.Header.Set("Stripe-Signature", billingtest.Sign(payload, billingtest.WebhookSecret, time.Now()))
						start := time.Now()
						resp, err := srv.Client().Do(req)
						took[i] = time.Since(start)
						require.NoError(b, err)
						resp.Body.Close()
						require.Equal(b, http.StatusOK, resp.StatusCode)
					})
				}
				wg.Wait()
				answers = append(answers, took...)
			}
			b.StopTimer()
			stopped.Store(true)
			workers.Wait()
			s.runDueJobs(b)
			require.Equal(b, int64(n*packageCredits), s.balance(b), "every delivery granted once")
			slices.Sort(answers)
			b.ReportMetric(ms(answers[len(answers)/2]), "p50-ms")
			b.ReportMetric(ms(answers[len(answers)*99/100]), "p99-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
