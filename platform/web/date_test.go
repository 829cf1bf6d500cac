package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/patch"
	"github.com/mini-crm/crm/platform/web"
)

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // "" for an error
	}{
		{"2026-11-27", "2026-11-27"},
		{"2028-02-29", "2028-02-29"},
		{"0001-01-01", "0001-01-01"},
		{"9999-12-31", "9999-12-31"},
		{"2026-11-27T10:15:00Z", "2026-11-27"},
		{"2026-11-27T00:00:00Z", "2026-11-27"},
		{"2026-11-27T23:59:59.999999999Z", "2026-11-27"},
		// An offset moves the moment; the UTC date is taken.
		{"2026-11-27T01:30:00+02:00", "2026-11-26"},
		{"2026-11-27T23:30:00-01:00", "2026-11-28"},
		{"2026-11-27T12:00:00+00:00", "2026-11-27"},
		{"2026-12-31T23:00:00-05:00", "2027-01-01"},
		{"2026-11-27T23:00:00-23:59", "2026-11-28"},
		{"2026-11-27T00:00:00+23:59", "2026-11-26"},
		{"2026-11-27T12:00:00-00:00", "2026-11-27"},
		// No offset means UTC.
		{"2026-11-27T23:59:59", "2026-11-27"},
		{"2026-11-27T00:00:00.5", "2026-11-27"},

		{"", ""},
		{"2026-11-31", ""},
		{"2027-02-29", ""},
		{"2026-13-01", ""},
		{"2026-00-10", ""},
		{"0000-01-01", ""},
		{"26-11-27", ""},
		{"2026-1-27", ""},
		{"2026/11/27", ""},
		{"27.11.2026", ""},
		{" 2026-11-27", ""},
		{"2026-11-27 ", ""},
		{"2026-11-27T1:00:00Z", ""},
		{"2026-11-27T25:00:00Z", ""},
		{"2026-11-27T10:15Z", ""},
		{"2026-11-27 10:15:00Z", ""},
		{"2026-11-27t10:15:00z", ""},
		{"2026-11-27T10:15:00+0200", ""},
		{"2026-11-27T10:15:00+25:00", ""},
		// RFC 3339 offsets run from -23:59 to +23:59; time.Parse alone takes +24:00 and :60.
		{"2026-11-27T10:15:00+24:00", ""},
		{"2026-11-27T10:15:00-24:00", ""},
		{"2026-11-27T10:15:00+23:60", ""},
		{"2026-11-27T10:15:00-00:60", ""},
		{"2026-11-27T10:15:00+99:00", ""},
		{"2026-11-27T10:15:00.5+24:00", ""},
		{"2026-11-27T", ""},
		{"today", ""},
		{"1732700000", ""},
	}
	for _, tt := range tests {
		d, err := web.ParseDate(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseDate(%q) = %s, want an error", tt.in, d)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDate(%q): %v", tt.in, err)
			continue
		}
		if d.String() != tt.want {
			t.Errorf("ParseDate(%q) = %s, want %s", tt.in, d, tt.want)
		}
		if tm := d.Time(); tm.Location() != time.UTC || tm.Hour() != 0 || tm.Minute() != 0 || tm.Second() != 0 || tm.Nanosecond() != 0 {
			t.Errorf("ParseDate(%q).Time() = %v, want midnight UTC", tt.in, tm)
		}
	}
}

func TestNewDateInputTakesTheUTCDate(t *testing.T) {
	t.Parallel()
	east := time.FixedZone("UTC+3", 3*3600)
	d := web.NewDateInput(time.Date(2026, 11, 28, 1, 0, 0, 0, east))
	if d.String() != "2026-11-27" || d.Time() != time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) {
		t.Fatalf("got %s (%v)", d, d.Time())
	}
	if d.IsZero() || !(web.DateInput{}).IsZero() {
		t.Fatal("IsZero")
	}
}

// dueDate is how a request field declares its name for decoding errors.
type dueDate struct{ web.DateInput }

func (d *dueDate) UnmarshalJSON(b []byte) error { return d.UnmarshalJSONField("due_date", b) }

type dateRequest struct {
	DueDate  *dueDate                `json:"due_date"`
	Optional patch.Optional[dueDate] `json:"opt"`
}

func TestDateInputJSON(t *testing.T) {
	t.Parallel()
	var r dateRequest
	if err := web.Decode([]byte(`{"due_date": "2026-11-27T23:30:00-01:00", "opt": "2026-01-02"}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.DueDate == nil || r.DueDate.String() != "2026-11-28" || !r.Optional.HasValue() || r.Optional.Value.String() != "2026-01-02" {
		t.Fatalf("decoded %+v", r)
	}
	r = dateRequest{}
	if err := web.Decode([]byte(`{"due_date": null, "opt": null}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.DueDate != nil || !r.Optional.Set || !r.Optional.Null {
		t.Fatalf("null decoded as %+v", r)
	}
	out, err := json.Marshal(web.NewDateInput(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)))
	if err != nil || string(out) != `"2026-03-04"` {
		t.Fatalf("marshal: %s %v", out, err)
	}

	// Every malformed value is a 400 about the field, with the formats in the message.
	for _, body := range []string{
		`{"due_date": "2026-02-30"}`, `{"due_date": "tomorrow"}`, `{"due_date": 20261127}`,
		`{"due_date": true}`, `{"due_date": {}}`, `{"due_date": ["2026-11-27"]}`, `{"due_date": ""}`,
		`{"due_date": "2026-11-27\u0000"}`, `{"opt": "2026-11-27T10:00"}`,
		`{"due_date": "2026-11-27T10:00:00+24:00"}`, `{"opt": "2026-11-27T10:00:00-23:60"}`,
	} {
		var r dateRequest
		err := web.Decode([]byte(body), &r)
		p := problemOf(t, err)
		if p.Status != http.StatusBadRequest || p.Code != "validation_failed" || len(p.Errors) != 1 ||
			p.Errors[0].Field != "due_date" || p.Errors[0].Message != web.DateMessage || p.Detail != "due_date "+web.DateMessage {
			t.Errorf("%s: %+v", body, p)
		}
	}
}

func TestQueryDate(t *testing.T) {
	t.Parallel()
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return web.WriteProblem(c, web.ProblemFor(c, err))
	}})
	app.Get("/", func(c *fiber.Ctx) error {
		d, err := web.QueryDate(c, "due_before")
		if err != nil {
			return err
		}
		if d == nil {
			return c.SendString("none")
		}
		return c.SendString(d.String())
	})
	for q, want := range map[string]string{
		"":                                      "none",
		"?due_before=":                          "none",
		"?due_before=2026-11-27":                "2026-11-27",
		"?due_before=2026-11-27T23:30:00-01:00": "2026-11-28",
		"?due_before=2026-11-27T23%3A30%3A00%2B05%3A00": "2026-11-27",
	} {
		res, err := app.Test(dateRequestTo(http.MethodGet, "/"+q))
		if err != nil {
			t.Fatal(err)
		}
		body := dateBody(t, res)
		if res.StatusCode != http.StatusOK || body != want {
			t.Errorf("%q: %d %s, want %s", q, res.StatusCode, body, want)
		}
	}
	for _, q := range []string{"soon", "2026-11-27T10:00:00%2B24:00", "2026-11-27T10:00:00-23:60"} {
		res, err := app.Test(dateRequestTo(http.MethodGet, "/?due_before="+q))
		if err != nil {
			t.Fatal(err)
		}
		body := dateBody(t, res)
		var p web.Problem
		if res.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(body), &p) != nil ||
			p.Code != "invalid_query" || len(p.Errors) != 1 || p.Errors[0].Field != "due_before" {
			t.Errorf("%s: %d %s", q, res.StatusCode, body)
		}
	}
}

func problemOf(t *testing.T, err error) web.Problem {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var p web.Problem
	app := fiber.New()
	app.Get("/", func(c *fiber.Ctx) error {
		p = web.ProblemFor(c, err)
		return nil
	})
	if _, err := app.Test(dateRequestTo(http.MethodGet, "/")); err != nil {
		t.Fatal(err)
	}
	if p.Status == 0 {
		t.Fatal(errors.New("no problem built"))
	}
	return p
}

func dateRequestTo(method, path string) *http.Request {
	return httptest.NewRequestWithContext(context.Background(), method, path, nil)
}

func dateBody(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An instant's date is taken in the time zone it is seen in; a date, or a wall-clock time
// without an offset, is the same date everywhere.
func TestDateInputIn(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ in, utc, tokyo, la string }{
		{"2026-03-10", "2026-03-10", "2026-03-10", "2026-03-10"},
		{"2026-03-10T20:00:00Z", "2026-03-10", "2026-03-11", "2026-03-10"},
		{"2026-03-10T02:00:00Z", "2026-03-10", "2026-03-10", "2026-03-09"},
		{"2026-03-10T23:30:00+02:00", "2026-03-10", "2026-03-11", "2026-03-10"},
		{"2026-03-10T23:30:00", "2026-03-10", "2026-03-10", "2026-03-10"},
	} {
		d, err := web.ParseDate(c.in)
		if err != nil {
			t.Fatal(c.in, err)
		}
		if got := [3]string{d.String(), d.In(tokyo).String(), d.In(la).String()}; got != [3]string{c.utc, c.tokyo, c.la} {
			t.Errorf("%s: UTC, Tokyo, Los Angeles = %v, want %s %s %s", c.in, got, c.utc, c.tokyo, c.la)
		}
	}
}
