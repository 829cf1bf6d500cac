package webhooks

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// Delivery limits.
const (
	// DefaultTimeout is how long an attempt may take, connection and answer included.
	DefaultTimeout = 10 * time.Second
	// maxRead is how much of an answer is read; keptBody how much of it is kept.
	maxRead  = 64 << 10
	keptBody = 1 << 10
	// maxRetryAfter caps the Retry-After a receiver may ask for.
	maxRetryAfter = time.Hour
)

// Attempt errors: the fixed codes a delivery's error is reported with, never a raw message.
const (
	ErrCodeTimeout            = "timeout"
	ErrCodeConnectionFailed   = "connection_failed"
	ErrCodeDestinationRefused = "destination_not_allowed"
	ErrCodeTLS                = "tls_error"
	ErrCodeHTTPStatus         = "http_status"
	ErrCodeRedirect           = "redirect"
)

// errDestination is returned by the dialer's Control for an address that is not public.
var errDestination = errors.New("webhooks: destination address not allowed")

// sender posts signed deliveries. Its transport never uses a proxy (the environment's proxy
// variables are ignored), never follows a redirect, and checks in net.Dialer.Control the
// address actually dialled, after every DNS answer, so that a name re-pointed at a private
// address after it was saved (DNS rebinding) is refused too.
type sender struct {
	client *http.Client
}

func newSender(timeout time.Duration, allowPrivate bool, r Resolver) *sender {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			// Go dials an IPv4 address as IPv4, so an IPv4-mapped form reaching here is
			// refused like every other non-public address.
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !PublicAddress(ap.Addr()) {
				return errDestination
			}
			return nil
		}
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if _, err := netip.ParseAddr(host); err == nil {
			return d.DialContext(ctx, network, addr)
		}
		if !allowPrivate && localName(host) {
			return nil, errDestination
		}
		ips, err := r.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
		var first error
		for _, ip := range ips {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
			if err == nil {
				return c, nil
			}
			if first == nil || errors.Is(err, errDestination) {
				first = err
			}
		}
		if first == nil {
			first = &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
		}
		return nil, first
	}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   5,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	return &sender{client: &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// outcome is what one attempt gave.
type outcome struct {
	Status     int           // the answer's status, 0 when there was none
	Body       []byte        // the first KiB of the answer
	Duration   time.Duration // from sending to the end of the read
	Err        string        // "" on success, else one of the ErrCode… values
	RetryAfter time.Duration // the receiver's Retry-After, capped at an hour; 0 when none
}

// OK reports a 2xx answer.
func (o outcome) OK() bool { return o.Err == "" }

// post sends body to url with the given headers and classifies the result.
func (s *sender) post(ctx context.Context, url string, body []byte, headers http.Header) outcome {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return outcome{Err: ErrCodeConnectionFailed}
	}
	for k, v := range headers {
		req.Header[k] = v
	}
	res, err := s.client.Do(req)
	if err != nil {
		return outcome{Err: classify(err), Duration: time.Since(start)}
	}
	defer res.Body.Close()
	// A 2xx whose body breaks off is still success: the receiver has decided.
	raw, _ := io.ReadAll(io.LimitReader(res.Body, maxRead))
	o := outcome{Status: res.StatusCode, Duration: time.Since(start)}
	o.Body = raw[:min(len(raw), keptBody)]
	switch {
	case res.StatusCode >= 300 && res.StatusCode < 400:
		o.Err = ErrCodeRedirect
	case res.StatusCode < 200 || res.StatusCode >= 300:
		o.Err = ErrCodeHTTPStatus
		o.RetryAfter = retryAfter(res.Header.Get("Retry-After"), time.Now())
	}
	return o
}

// classify maps a failed request to its fixed code.
func classify(err error) string {
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var alert tls.AlertError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var ne net.Error
	switch {
	case errors.Is(err, errDestination):
		return ErrCodeDestinationRefused
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ErrCodeTimeout
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alert),
		errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalid):
		return ErrCodeTLS
	}
	return ErrCodeConnectionFailed
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), capped at an hour.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		d = time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
