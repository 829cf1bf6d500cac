package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Names of the export operations.
const (
	exportCSVOp    = "export every deal, CSV"
	exportNDJSONOp = "export every deal, JSON Lines"
)

// exportOps export every deal of the large organization (1,000,000 in the full data set),
// one whole export a request, read as it streams and thrown away. They run at the lowest
// concurrency of the run only (a full export takes seconds; dozens at once measure the
// machine's two cores, not the export). The RSS column is the server's memory while it
// streams them; their rows per second are in the notes. No direct-SQL side: the statement
// is one sequential read of the organization's deals through its primary key.
func (h *harness) exportOps() []op {
	export := func(name, format string) op {
		return op{name: name, lowestOnly: true, api: func(ctx context.Context, w *worker) error {
			return w.export(ctx, name, "/api/v1/deals/export?format="+format)
		}}
	}
	return []op{export(exportCSVOp, "csv"), export(exportNDJSONOp, "ndjson")}
}

// exported counts, per export operation, the rows and the time of its complete exports.
var exported = struct {
	sync.Mutex
	rows map[string]int64
	took map[string]time.Duration
	n    map[string]int
}{rows: map[string]int64{}, took: map[string]time.Duration{}, n: map[string]int{}}

// export reads one export to its end, counting its lines; an export cut off (its chunked
// body not ended) is an error.
func (w *worker) export(ctx context.Context, op, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.h.cfg.URL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+w.h.token)
	req.Header.Set("X-Organization-Id", strconv.FormatInt(w.h.orgID, 10))
	start := time.Now()
	// No overall timeout: an export of a large organization streams for longer than a
	// request of the other operations may take.
	res, err := (&http.Client{Transport: w.h.client.Transport}).Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 200))
		return fmt.Errorf("GET %s: status %d: %s", path, res.StatusCode, b)
	}
	lines, err := countLines(res.Body)
	if err != nil {
		return fmt.Errorf("GET %s: after %d lines: %w", path, lines, err)
	}
	if op == exportCSVOp {
		lines-- // the header
	}
	exported.Lock()
	exported.rows[op] += lines
	exported.took[op] += time.Since(start)
	exported.n[op]++
	exported.Unlock()
	return nil
}

// countLines reads r to its end and counts its line feeds (a CSV cell may hold a line
// break: the seeded deals' do not).
func countLines(r io.Reader) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// exportNotes describe the exports measured: rows, time and rows per second of each.
func exportNotes() []string {
	exported.Lock()
	defer exported.Unlock()
	var out []string
	for _, op := range []string{exportCSVOp, exportNDJSONOp} {
		if exported.n[op] == 0 {
			continue
		}
		took := exported.took[op]
		out = append(out, fmt.Sprintf("%s: %d complete exports, %d rows each, %.1f s each, %.0f rows/s",
			op, exported.n[op], exported.rows[op]/int64(exported.n[op]), took.Seconds()/float64(exported.n[op]),
			float64(exported.rows[op])/took.Seconds()))
	}
	return out
}
