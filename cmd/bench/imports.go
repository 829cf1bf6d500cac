package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// importOp imports importRows contacts from one CSV file into a new organization of the
// benchmark user, from the POST to the job's success: the speed goal of imports (100,000
// contacts in under 60 s).
const (
	importOp   = "import 100,000 contacts (CSV job, to success)"
	importRows = 100_000
)

// importFile is the CSV of the import, made once: the columns a spreadsheet of contacts has.
var importFile = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	b.WriteString("name,email,phone,company,job_title,tags\n")
	for i := range importRows {
		fmt.Fprintf(&b, "Imported Contact %d,imported.%d@example.com,+1 555 %04d,Company %d,Buyer,imported;batch%d\n",
			i, i, i%10000, i%500, i%10)
	}
	return b.Bytes()
})

// imported records the imports measured.
var imported = struct {
	sync.Mutex
	n    int
	took time.Duration
}{}

func (h *harness) importOps() []op {
	return []op{{name: importOp, lowestOnly: true, api: method((*worker).importContacts)}}
}

// importContacts creates an organization, sends the file and waits for the import to end,
// which must be a success with every row created.
func (w *worker) importContacts(ctx context.Context) error {
	var org struct {
		ID int64 `json:"id"`
	}
	name := fmt.Sprintf("Import bench %d", time.Now().UnixNano())
	if err := w.jsonCall(ctx, http.MethodPost, "/api/v1/organizations", 0, "application/json",
		[]byte(`{"name":"`+name+`"}`), http.StatusCreated, &org); err != nil {
		return err
	}
	start := time.Now()
	var imp struct {
		ID int64 `json:"id"`
	}
	if err := w.jsonCall(ctx, http.MethodPost, "/api/v1/imports?type=contacts", org.ID, "text/csv", importFile(), http.StatusAccepted, &imp); err != nil {
		return err
	}
	for {
		var st struct {
			Status     string          `json:"status"`
			Created    int             `json:"created"`
			ErrorCount int             `json:"error_count"`
			Errors     json.RawMessage `json:"errors"`
		}
		if err := w.jsonCall(ctx, http.MethodGet, "/api/v1/imports/"+strconv.FormatInt(imp.ID, 10), org.ID, "", nil, http.StatusOK, &st); err != nil {
			return err
		}
		switch st.Status {
		case "succeeded":
			if st.Created != importRows {
				return fmt.Errorf("import: %d contacts created, want %d", st.Created, importRows)
			}
			imported.Lock()
			imported.n++
			imported.took += time.Since(start)
			imported.Unlock()
			return nil
		case "failed":
			return fmt.Errorf("import failed with %d errors: %.300s", st.ErrorCount, st.Errors)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// jsonCall sends one request as the benchmark user in org (none when 0) and decodes the
// JSON answer, which must have status want.
func (w *worker) jsonCall(ctx context.Context, method, path string, org int64, contentType string, body []byte, want int, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.h.cfg.URL+path, rd)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+w.h.token)
	if org != 0 {
		req.Header.Set("X-Organization-Id", strconv.FormatInt(org, 10))
	}
	res, err := (&http.Client{Transport: w.h.client.Transport, Timeout: time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %.200s", method, strings.SplitN(path, "?", 2)[0], res.StatusCode, raw)
	}
	return json.Unmarshal(raw, out)
}

// importNotes describe the imports measured.
func importNotes() []string {
	imported.Lock()
	defer imported.Unlock()
	if imported.n == 0 {
		return nil
	}
	each := imported.took / time.Duration(imported.n)
	return []string{fmt.Sprintf("%s: %d complete imports of %d rows, %.1f s each, %.0f rows/s",
		importOp, imported.n, importRows, each.Seconds(), float64(importRows)/each.Seconds())}
}
