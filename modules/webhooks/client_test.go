package webhooks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func postTo(t *testing.T, s *sender, u string) outcome {
	t.Helper()
	return s.post(context.Background(), u, []byte(`{}`), http.Header{"Content-Type": {"application/json"}})
}

// A redirect is a failed attempt with error redirect, and its target is never requested.
func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	var followed atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed.Store(true) }))
	defer target.Close()
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer src.Close()
	o := postTo(t, newSender(time.Second, true, fakeResolver{}), src.URL)
	if o.OK() || o.Err != ErrCodeRedirect || o.Status != 307 || followed.Load() {
		t.Fatalf("outcome %+v, followed %v", o, followed.Load())
	}
}

func TestSlowReceiverTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	o := postTo(t, newSender(200*time.Millisecond, true, fakeResolver{}), srv.URL)
	if o.Err != ErrCodeTimeout || time.Since(start) > 2*time.Second {
		t.Fatalf("outcome %+v after %v", o, time.Since(start))
	}
}

// The dial-time check refuses the address actually dialled: a literal loopback address, and a
// name (accepted at save time because it did not resolve then) that resolves to loopback when
// the attempt dials it (DNS rebinding).
func TestDialTimeRefusal(t *testing.T) {
	t.Parallel()
	var hit atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit.Store(true) }))
	defer srv.Close()
	port := srv.Listener.Addr().(interface{ String() string }).String()
	_, port, _ = strings.Cut(port, ":")
	saveTime := fakeResolver{}
	if !hostAllowed(context.Background(), saveTime, "rebind.example") {
		t.Fatal("an unresolvable name is refused at save time")
	}
	dialTime := fakeResolver{"rebind.example": {"127.0.0.1"}, "mapped.example": {"::ffff:127.0.0.1"}}
	s := newSender(time.Second, false, dialTime)
	for _, u := range []string{srv.URL, "http://rebind.example:" + port + "/", "http://mapped.example:" + port + "/",
		"http://[::ffff:127.0.0.1]:" + port + "/", "http://localhost:" + port + "/"} {
		if o := postTo(t, s, u); o.Err != ErrCodeDestinationRefused {
			t.Errorf("%s: outcome %+v", u, o)
		}
	}
	if hit.Load() {
		t.Fatal("a refused destination received a request")
	}
	// The same receiver is reached when private networks are allowed.
	allowed := newSender(time.Second, true, dialTime)
	if o := postTo(t, allowed, "http://rebind.example:"+port+"/"); !o.OK() || !hit.Load() {
		t.Fatalf("allowed: %+v", o)
	}
}

func TestOutcomeOfAnswers(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.WriteHeader(200)
			_, _ = w.Write([]byte(strings.Repeat("x", 200<<10)))
		case "/busy":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(503)
		case "/later":
			w.Header().Set("Retry-After", "86400")
			w.WriteHeader(429)
		default:
			w.WriteHeader(500)
			_, _ = w.Write([]byte("boom"))
		}
	}))
	defer srv.Close()
	s := newSender(time.Second, true, fakeResolver{})
	if o := postTo(t, s, srv.URL+"/big"); !o.OK() || len(o.Body) != 1024 || o.Status != 200 {
		t.Fatalf("big: %v %d %d", o.Err, len(o.Body), o.Status)
	}
	if o := postTo(t, s, srv.URL+"/busy"); o.Err != ErrCodeHTTPStatus || o.RetryAfter != 2*time.Minute {
		t.Fatalf("busy: %+v", o)
	}
	if o := postTo(t, s, srv.URL+"/later"); o.RetryAfter != time.Hour {
		t.Fatalf("later: Retry-After %v, want capped at an hour", o.RetryAfter)
	}
	if o := postTo(t, s, srv.URL+"/x"); o.Err != ErrCodeHTTPStatus || o.Status != 500 || string(o.Body) != "boom" {
		t.Fatalf("500: %+v", o)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	u, _ := url.Parse(closed.URL)
	closed.Close()
	if o := postTo(t, s, u.String()); o.Err != ErrCodeConnectionFailed {
		t.Fatalf("closed port: %+v", o)
	}
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	if o := postTo(t, s, tlsSrv.URL); o.Err != ErrCodeTLS {
		t.Fatalf("self-signed certificate: %+v", o)
	}
}

func TestProxyEnvironmentIsIgnored(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	if o := postTo(t, newSender(time.Second, true, fakeResolver{}), srv.URL); !o.OK() {
		t.Fatalf("outcome %+v: the proxy variables were used", o)
	}
}
