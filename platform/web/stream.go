package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/export"
)

// ErrNotAcceptable answers an export asked for in a format it is not written in.
var ErrNotAcceptable = apperr.New(apperr.KindNotAcceptable, "not_acceptable",
	"an export is written as text/csv (format=csv, the default) or application/x-ndjson (format=ndjson): ask for one of them with format or Accept")

// ExportParams are the query parameters every export takes besides the filters of its list.
var ExportParams = []string{"format"}

// DefaultExportTimeout bounds an export when the application sets no other limit.
const DefaultExportTimeout = 30 * time.Minute

// exportTimeouts holds each application's export limit (Options.ExportTimeout).
var exportTimeouts sync.Map // *fiber.App → time.Duration

// ExportFormat reads the format an export is asked for: format=csv|ndjson when given, which
// wins over Accept (a link cannot set a header), else the Accept header, text/csv when it
// is absent or accepts anything. Any other format is 406 not_acceptable.
func ExportFormat(c *fiber.Ctx) (export.Format, error) {
	if v := c.Query("format"); v != "" || c.Context().QueryArgs().Has("format") {
		if f, ok := export.ParseFormat(v); ok {
			return f, nil
		}
		return "", ErrNotAcceptable
	}
	switch c.Accepts(export.CSV.MediaType(), export.NDJSON.MediaType()) {
	case export.CSV.MediaType():
		return export.CSV, nil
	case export.NDJSON.MediaType():
		return export.NDJSON, nil
	}
	return "", ErrNotAcceptable
}

// Export answers c with the records run emits, streamed as they come in the format the
// client asked for (ExportFormat), each record rendered like sample by encoding/json (see
// platform/export). Memory stays flat: a record is encoded and written before the next is
// read, and a client that reads slowly slows the producer down.
//
// run is called in a goroutine of its own, with a context that keeps the request's values
// (principal, tenant scope, request id, trace) but not its deadline or cancellation, since
// the body is written after the handler has returned: it ends after the application's
// export timeout, or when the client goes away. Until run emits its first record (or
// returns without any), the request is still open: an error returned then (a bad filter, a
// refusal) is answered as a problem like any other. Once the first record is emitted, the
// answer is 200 and streaming; an error after that point cuts the response off without its
// final chunk (chunked transfer encoding), so that a client can tell an incomplete export
// from a complete one. Each chunk must reach the client within the server's write timeout.
// The access log line and the request's span are written when the stream ends, with its
// length, its record count and, for a cut-off export, the reason.
func Export(c *fiber.Ctx, name string, sample any, run func(ctx context.Context, emit func(record any) error) error) error {
	format, err := ExportFormat(c)
	if err != nil {
		return err
	}
	timeout := DefaultExportTimeout
	if d, ok := exportTimeouts.Load(c.App()); ok {
		timeout = d.(time.Duration)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), timeout)
	pr, pw := io.Pipe()
	// However the stream ends (the timeout, the client leaving), a producer blocked on the
	// pipe is released.
	stopWatch := context.AfterFunc(ctx, func() { _ = pr.CloseWithError(ctx.Err()) })
	enc, err := export.NewEncoder(pw, format, sample)
	if err != nil {
		stopWatch()
		cancel()
		return err
	}
	s := &stream{pr: pr, cancel: cancel, done: make(chan struct{}), enc: enc, start: time.Now(),
		conn: c.Context().Conn(), writeTimeout: c.App().Config().WriteTimeout}
	started := make(chan error, 1)
	go func() {
		defer close(s.done)
		defer stopWatch()
		var once bool
		begin := func(err error) {
			if !once {
				once = true
				started <- err
			}
		}
		err := run(ctx, func(v any) error {
			begin(nil)
			return enc.Encode(v)
		})
		if err != nil && !once {
			begin(err)
			return
		}
		begin(nil)
		if err == nil {
			err = enc.Close()
		}
		s.err = err
		_ = pw.CloseWithError(err) // nil: the reader sees the end, and the final chunk is sent
	}()
	if err := <-started; err != nil {
		cancel()
		<-s.done
		return err
	}
	c.Set(fiber.HeaderContentType, format.MediaType()+"; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+"."+format.Extension()+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderVary, fiber.HeaderAccept)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Locals(streamKey{}, s)
	c.Status(fiber.StatusOK)
	// The client learns at once that its export has started, even when the first bytes of
	// the body take a while (a selective filter over many rows).
	c.Context().Response.ImmediateHeaderFlush = true
	c.Context().SetBodyStream(s, -1)
	return nil
}

// StreamResult is how a streamed response ended.
type StreamResult struct {
	Bytes    int64         // body bytes handed to the connection
	Records  int64         // records encoded
	Duration time.Duration // from the start of the export to its end
	Err      error         // nil for a complete stream; else why it was cut off
}

// ErrClientGone is the end of a stream whose client stopped reading it.
var ErrClientGone = errors.New("web: the client went away before the end of the stream")

type streamKey struct{}

// stream is the body of a streamed response: fasthttp reads it after the handler returned
// and closes it when the response is over, written or not.
type stream struct {
	pr           *io.PipeReader
	cancel       context.CancelFunc
	done         chan struct{} // closed once the producer has returned
	err          error         // the producer's error, set before done is closed
	enc          *export.Encoder
	start        time.Time
	conn         net.Conn
	writeTimeout time.Duration

	bytes int64
	ended bool // the reader saw the end of the body

	mu       sync.Mutex
	finished bool
	result   StreamResult
	after    []func(StreamResult)
}

// Read gives fasthttp the next part of the body. The server's write deadline was set once
// for the whole response; each part gets its own, so a long export is bounded by its
// timeout, and a client that stops reading by the write timeout.
func (s *stream) Read(p []byte) (int, error) {
	n, err := s.pr.Read(p)
	s.bytes += int64(n)
	if errors.Is(err, io.EOF) {
		s.ended = true
	}
	if s.conn != nil && s.writeTimeout > 0 {
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	}
	return n, err
}

// Close ends the stream: the producer is stopped (its query cancelled) if it still runs,
// and the stream's observers are told how it went.
func (s *stream) Close() error {
	_ = s.pr.CloseWithError(ErrClientGone)
	s.cancel()
	<-s.done
	r := StreamResult{Bytes: s.bytes, Records: s.enc.Rows(), Duration: time.Since(s.start), Err: s.err}
	if r.Err == nil && !s.ended {
		r.Err = ErrClientGone
	}
	s.mu.Lock()
	s.finished, s.result = true, r
	after := s.after
	s.after = nil
	s.mu.Unlock()
	for _, fn := range after {
		fn(r)
	}
	return nil
}

// onStreamEnd makes fn run when the streamed body of c's response ends (at once when it
// has ended already) and reports true, or reports false when the response is not streamed.
// Middleware that reports on a request (the access log, the span) waits for it so: fn must
// not touch c, which is reused once the handler has returned.
func onStreamEnd(c *fiber.Ctx, fn func(StreamResult)) bool {
	s, ok := c.Locals(streamKey{}).(*stream)
	if !ok {
		return false
	}
	s.mu.Lock()
	if !s.finished {
		s.after = append(s.after, fn)
		s.mu.Unlock()
		return true
	}
	r := s.result
	s.mu.Unlock()
	fn(r)
	return true
}

// streamAttrs are the log attributes of a finished stream.
func streamAttrs(r StreamResult) []slog.Attr {
	attrs := []slog.Attr{slog.Int64("bytes", r.Bytes), slog.Int64("records", r.Records)}
	if r.Err != nil {
		attrs = append(attrs, slog.String("stream_error", strings.TrimPrefix(r.Err.Error(), "web: ")))
	}
	return attrs
}
