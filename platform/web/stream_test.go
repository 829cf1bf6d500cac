package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/web"
)

type item struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// lockedBuffer collects log lines written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// requests returns the access log lines logged so far.
func (l *lockedBuffer) requests(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(l.b.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// streamApp serves GET /items/:n, an export of n items; ?fail_after=k makes the producer fail
// after k items, ?refuse=1 fails it before the first, ?pause=ms waits between items.
func streamApp(t *testing.T, o web.Options) (base string, logs *lockedBuffer, stopped chan error) {
	t.Helper()
	logs = &lockedBuffer{}
	o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	app := web.NewApp(o)
	stopped = make(chan error, 16)
	app.Get("/items/:n", func(c *fiber.Ctx) error {
		n, _ := c.ParamsInt("n")
		failAfter := c.QueryInt("fail_after", -1)
		refuse := c.Query("refuse") != ""
		pause := time.Duration(c.QueryInt("pause", 0)) * time.Millisecond
		return web.Export(c, "items", item{}, func(ctx context.Context, emit func(any) error) error {
			if refuse {
				return apperr.Invalid("bad_filter", "the filter is bad")
			}
			for i := range n {
				if i == failAfter {
					stopped <- nil
					return errors.New("the query failed")
				}
				if err := emit(item{ID: i, Name: fmt.Sprintf("item %d, \"quoted\"", i)}); err != nil {
					stopped <- err
					return err
				}
				if pause > 0 {
					select {
					case <-time.After(pause):
					case <-ctx.Done():
						stopped <- ctx.Err()
						return ctx.Err()
					}
				}
			}
			stopped <- nil
			return nil
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String(), logs, stopped
}

func get(t *testing.T, url string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Body.Close() })
	return res
}

// waitLog waits for the access log line of a streamed request.
func waitLog(t *testing.T, logs *lockedBuffer) map[string]any {
	t.Helper()
	for range 200 {
		if lines := logs.requests(t); len(lines) > 0 {
			return lines[len(lines)-1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no access log line")
	return nil
}

// A complete export arrives whole, chunked and ended by its final chunk, with the headers
// of a download; it is logged once it has ended, with its size.
func TestExportStreamsEveryRecordAndEnds(t *testing.T) {
	t.Parallel()
	base, logs, _ := streamApp(t, web.Options{})
	res := get(t, base+"/items/5000", nil)
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading a complete export: %v", err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		len(res.TransferEncoding) != 1 || res.TransferEncoding[0] != "chunked" ||
		res.Header.Get("Content-Disposition") != `attachment; filename="items.csv"` || res.Header.Get("Vary") != "Accept" {
		t.Fatalf("%d %v %v", res.StatusCode, res.Header, res.TransferEncoding)
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n")
	if len(lines) != 5001 || lines[0] != "id,name" || lines[5000] != `4999,"item 4999, ""quoted"""` {
		t.Fatalf("%d lines, first %q, last %q", len(lines), lines[0], lines[len(lines)-1])
	}
	l := waitLog(t, logs)
	if l["status"] != float64(200) || l["records"] != float64(5000) || l["bytes"] != float64(len(body)) || l["stream_error"] != nil ||
		l["route"] != "/items/:n" || l["path"] != "/items/5000" {
		t.Fatalf("access log %v", l)
	}
}

// A failure after the first record cuts the response off without its final chunk: the
// client's read fails instead of ending as if the export were complete, and the access log
// says why.
func TestAFailureMidStreamCutsTheResponseOff(t *testing.T) {
	t.Parallel()
	base, logs, stopped := streamApp(t, web.Options{})
	res := get(t, base+"/items/100000?fail_after=20000", map[string]string{"Accept": "application/x-ndjson"})
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-ndjson; charset=utf-8" {
		t.Fatalf("%d %v", res.StatusCode, res.Header)
	}
	body, err := io.ReadAll(res.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading a cut-off export: %v after %d bytes, want unexpected EOF", err, len(body))
	}
	if len(body) == 0 || strings.Count(string(body), "\n") > 20000 {
		t.Fatalf("%d bytes, %d lines", len(body), strings.Count(string(body), "\n"))
	}
	if err := <-stopped; err != nil {
		t.Fatalf("producer: %v", err)
	}
	if l := waitLog(t, logs); l["stream_error"] != "the query failed" || l["records"] != float64(20000) {
		t.Fatalf("access log %v", l)
	}
}

// An error before the first record is an ordinary problem response.
func TestAnErrorBeforeTheFirstRecordIsAProblem(t *testing.T) {
	t.Parallel()
	base, _, _ := streamApp(t, web.Options{})
	res := get(t, base+"/items/10?refuse=1", nil)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 400 || !strings.HasPrefix(res.Header.Get("Content-Type"), web.ProblemContentType) ||
		!strings.Contains(string(body), `"code":"bad_filter"`) {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
}

// format wins over Accept; Accept is read with its qualities; anything but CSV and JSON Lines
// is 406; no preference is CSV.
func TestExportFormatNegotiation(t *testing.T) {
	t.Parallel()
	base, _, _ := streamApp(t, web.Options{})
	for _, c := range []struct {
		query, accept string
		status        int
		ctype         string
	}{
		{"", "", 200, "text/csv"},
		{"", "*/*", 200, "text/csv"},
		{"", "text/csv", 200, "text/csv"},
		{"", "application/x-ndjson", 200, "application/x-ndjson"},
		{"", "text/csv;q=0.5, application/x-ndjson", 200, "application/x-ndjson"},
		{"", "application/*", 200, "application/x-ndjson"},
		{"format=csv", "application/x-ndjson", 200, "text/csv"},
		{"format=ndjson", "text/csv", 200, "application/x-ndjson"},
		{"format=ndjson", "application/json", 200, "application/x-ndjson"},
		{"", "application/json", 406, web.ProblemContentType},
		{"", "text/html, application/xml", 406, web.ProblemContentType},
		{"format=xml", "", 406, web.ProblemContentType},
		{"format=", "", 406, web.ProblemContentType},
		{"format=CSV", "", 406, web.ProblemContentType},
	} {
		res := get(t, base+"/items/3?"+c.query, map[string]string{"Accept": c.accept})
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != c.status || !strings.HasPrefix(res.Header.Get("Content-Type"), c.ctype) {
			t.Errorf("?%s Accept %q: %d %s %s", c.query, c.accept, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		if c.status == 406 && !strings.Contains(string(body), `"code":"not_acceptable"`) {
			t.Errorf("?%s Accept %q: %s", c.query, c.accept, body)
		}
	}
}

// The export runs after the handler has returned, past the request's deadline, and stops
// when the client goes away: its producer sees the end, and nothing is left running.
func TestTheStreamOutlivesTheRequestDeadlineAndStopsWithTheClient(t *testing.T) {
	t.Parallel()
	base, _, stopped := streamApp(t, web.Options{RequestTimeout: 50 * time.Millisecond})
	res := get(t, base+"/items/8?pause=30", nil)
	body, err := io.ReadAll(res.Body)
	if err != nil || strings.Count(string(body), "\r\n") != 9 {
		t.Fatalf("an export longer than the request deadline: %v %q", err, body)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("producer: %v", err)
	}

	// A client that reads a little and leaves.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/items/1000000?pause=1", nil)
	res2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(res2.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	_ = res2.Body.Close()
	select {
	case err := <-stopped:
		if err == nil {
			t.Fatal("the producer ran to the end for a client that left")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the producer still runs after its client left")
	}
}
