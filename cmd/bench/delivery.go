package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"
)

const deliveryOp = "webhook delivery latency"

// DeliveryStats are the latencies of webhook deliveries of writes made one at a time on an
// idle queue: from the write's response (its transaction has committed by then) to the
// moment the receiver has the delivery's request headers, and from the write's request
// (before its commit), which bound the latency from the commit below and above.
type DeliveryStats struct {
	Writes, Delivered              int
	P50, P95, P99, Max             time.Duration // from the write's response
	FromRequestP50, FromRequestP99 time.Duration
	FirstError                     string
}

type arrival struct {
	at   time.Time
	body []byte
}

// deliveryLatency subscribes a webhook endpoint of the organization to deal.updated on a
// receiver on a loopback port, then moves n deals on a stage one at a time, each once the
// previous delivery arrived and the queue had 100 ms to go idle, and times each delivery;
// one unrecorded write first warms the connections up. The endpoint is deleted at the end.
// The service must accept private destinations (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true).
func (h *harness) deliveryLatency(ctx context.Context, n int) DeliveryStats {
	var s DeliveryStats
	fail := func(err error) DeliveryStats {
		if s.FirstError == "" {
			s.FirstError = err.Error()
		}
		return s
	}
	arrivals := make(chan arrival, 64)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
		select {
		case arrivals <- arrival{at: at, body: b}:
		default:
		}
	})}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	w := &worker{h: h}
	body, _ := json.Marshal(map[string]any{"url": "http://" + ln.Addr().String() + "/hook", "events": []string{"deal.updated"},
		"description": "cmd/bench: delivery latency"})
	if err := w.call(ctx, h.cfg.URL, http.MethodPost, "/api/v1/webhooks", body, http.StatusCreated, true); err != nil {
		return fail(fmt.Errorf("%w (the service must run with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)", err))
	}
	var ep struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(w.buf.Bytes(), &ep); err != nil {
		return fail(err)
	}
	defer func() {
		d := &worker{h: h}
		if err := d.call(context.WithoutCancel(ctx), h.cfg.URL, http.MethodDelete, "/api/v1/webhooks/"+strconv.FormatInt(ep.ID, 10),
			nil, http.StatusNoContent, true); err != nil {
			fmt.Fprintln(h.cfg.Log, "bench: delete the webhook endpoint:", err)
		}
	}()
	if err := pickPatchDeals(ctx, h, 1, false); err != nil {
		return fail(err)
	}
	var fromResp, fromReq []time.Duration
	for i := range n + 1 {
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		id, _, to := w.nextPatch()
		patch := []byte(`{"stage": "` + stages[to] + `"}`)
		t0 := time.Now()
		if err := w.call(ctx, h.cfg.URL, http.MethodPatch, "/api/v1/deals/"+strconv.FormatInt(id, 10), patch, http.StatusOK, true); err != nil {
			fail(err)
			continue
		}
		t1 := time.Now()
		a, err := awaitDelivery(ctx, arrivals, id, 10*time.Second)
		if i > 0 {
			s.Writes++
			if err != nil {
				fail(err)
			} else {
				s.Delivered++
				fromResp, fromReq = append(fromResp, a.Sub(t1)), append(fromReq, a.Sub(t0))
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	slices.Sort(fromResp)
	slices.Sort(fromReq)
	s.P50, s.P95, s.P99 = quantile(fromResp, 0.5), quantile(fromResp, 0.95), quantile(fromResp, 0.99)
	if len(fromResp) > 0 {
		s.Max = fromResp[len(fromResp)-1]
	}
	s.FromRequestP50, s.FromRequestP99 = quantile(fromReq, 0.5), quantile(fromReq, 0.99)
	return s
}

// awaitDelivery waits for the delivery of the deal.updated event of the deal and returns
// when its request reached the receiver; other deliveries are skipped.
func awaitDelivery(ctx context.Context, arrivals <-chan arrival, deal int64, timeout time.Duration) (time.Time, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-t.C:
			return time.Time{}, errors.New("no delivery within " + timeout.String())
		case a := <-arrivals:
			var ev struct {
				Type string `json:"type"`
				Data struct {
					Object struct {
						ID int64 `json:"id"`
					} `json:"object"`
				} `json:"data"`
			}
			if json.Unmarshal(a.body, &ev) == nil && ev.Type == "deal.updated" && ev.Data.Object.ID == deal {
				return a.at, nil
			}
		}
	}
}

// quantile is the p-quantile of the sorted latencies, 0 for none.
func quantile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
