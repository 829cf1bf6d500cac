package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/mini-crm/crm/openapi"
	"github.com/mini-crm/crm/openapi/openapitest"
)

func init() {
	// Bodies of the operational endpoints, so that their responses can be validated too.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/css", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/javascript", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("image/png", openapi3filter.FileBodyDecoder)
	// JSON Lines exports are described as text.
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
}

// Contract is the OpenAPI document with what the runner needs to check against it.
type Contract struct {
	Doc     *openapi3.T
	router  routers.Router
	problem *openapi3.Schema
	opts    *openapi3filter.Options
}

// NewContract parses and validates an OpenAPI document.
func NewContract(data []byte) (*Contract, error) {
	doc, err := openapitest.Parse(data)
	if err != nil {
		return nil, err
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	opts := *validationOptions
	// The document's own format validators (email) apply to every schema.
	opts.SchemaValidationOptions = doc.GetSchemaValidationOptions()
	return &Contract{Doc: doc, router: router, problem: doc.Components.Schemas["Problem"].Value, opts: &opts}, nil
}

// Route finds the operation of a request; trailing slashes are ignored, as the service
// ignores them.
func (c *Contract) Route(method, rawPath string) (*routers.Route, map[string]string, error) {
	u, err := url.Parse(rawPath)
	if err != nil {
		return nil, nil, err
	}
	if len(u.Path) > 1 {
		u.Path = strings.TrimSuffix(u.Path, "/")
	}
	req := &http.Request{Method: method, URL: u, Header: http.Header{}}
	return c.router.FindRoute(req)
}

// OperationOf names the documented operation a step calls, with its variables replaced by
// a sample id. ok is false when the document has no such operation.
func (c *Contract) OperationOf(st Step) (op string, route *routers.Route, ok bool) {
	path := placeholder.ReplaceAllString(st.Path(), "1")
	route, _, err := c.Route(st.Method(), path)
	if err != nil {
		return "", nil, false
	}
	return route.Method + " " + route.Path, route, true
}

var validationOptions = &openapi3filter.Options{
	IncludeResponseStatus: true,
	MultiError:            true,
	AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
		if in.SecurityScheme.Type == "http" && in.SecurityScheme.Scheme == "bearer" {
			if tok, ok := strings.CutPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer "); ok && tok != "" {
				return nil
			}
			return errors.New("no Authorization: Bearer <token> header")
		}
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	},
}

// Runner runs scenarios against a live service.
type Runner struct {
	srv        *Server
	replicas   []*Server // the servers steps alternate between; srv alone unless NewRunner got more
	sent       int       // steps sent so far, which picks the replica of the next
	wrote      bool      // the last step sent was a write
	client     *http.Client
	contract   *Contract
	runID      string
	probeToken string
	probeOrg   string
	routes     map[string]bool // documented operation → registered by the service
}

// roundTrip sends req. For a body over the server's limit only the head is sent, over a raw
// connection: the server must answer 413 from the announced length alone. (An ordinary
// client would keep writing the body the server never reads, and could see a reset instead
// of the answer.)
func (r *Runner) roundTrip(req *http.Request, body []byte) (*http.Response, error) {
	if len(body) <= 1<<20 {
		return r.client.Do(req)
	}
	conn, err := net.DialTimeout("tcp", req.URL.Host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var head bytes.Buffer
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n", req.Method, req.URL.RequestURI(), req.URL.Host, len(body))
	for k, vs := range req.Header {
		if strings.EqualFold(k, "Expect") {
			continue
		}
		for _, v := range vs {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		conn.Close()
		return nil, err
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		conn.Close()
		return nil, err
	}
	res.Body = closeBoth{res.Body, conn}
	return res, nil
}

// closeBoth closes a response body and its raw connection together.
type closeBoth struct {
	io.ReadCloser
	conn net.Conn
}

func (c closeBoth) Close() error {
	err := c.ReadCloser.Close()
	_ = c.conn.Close()
	return err
}

// ReplicaLag is how soon after a commit every replica serves what it wrote: the target of
// the cache invalidations between replicas (they measure 1 to 10 ms).
const ReplicaLag = 100 * time.Millisecond

// NewRunner fetches the document the service serves, checks that it is the repository's,
// and signs up a user for probing which routes the service has.
//
// Given more than one server (replicas of the service on one database), the steps of a story
// alternate between them, so that every read may be served by another replica than the write
// before it: what one replica writes must be what every other reads.
func NewRunner(t *testing.T, srv *Server, more ...*Server) *Runner {
	t.Helper()
	r := &Runner{
		srv:      srv,
		replicas: append([]*Server{srv}, more...),
		client: &http.Client{
			Timeout:       30 * time.Second,
			Transport:     &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		runID:  strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36),
		routes: map[string]bool{},
	}
	res, body := r.do(t, http.MethodGet, openapi.JSONPath, nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", openapi.JSONPath, res.StatusCode, body)
	}
	if !bytes.Equal(body, openapi.JSON()) {
		t.Fatalf("the service serves another OpenAPI document than openapi/openapi.yaml")
	}
	c, err := NewContract(body)
	if err != nil {
		t.Fatal(err)
	}
	r.contract = c

	signup, _ := json.Marshal(map[string]string{
		"email": "probe." + r.runID + "@example.com", "password": "probe-password", "name": "Probe", "organization_name": "Probe",
	})
	res, body = r.do(t, http.MethodPost, "/api/v1/auth/register", signup, http.Header{"Content-Type": {"application/json"}})
	var out struct {
		AccessToken  string `json:"access_token"`
		Organization struct {
			ID int64 `json:"id"`
		} `json:"organization"`
	}
	if err := json.Unmarshal(body, &out); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("sign up the probing user: %d %s", res.StatusCode, body)
	}
	r.probeToken, r.probeOrg = out.AccessToken, strconv.FormatInt(out.Organization.ID, 10)
	return r
}

func (r *Runner) do(t *testing.T, method, path string, body []byte, h http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, r.srv.Base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// Registered tells whether the service has a route for a documented operation. It asks the
// service itself: an authenticated request without a body to the operation's path with
// ids that exist nowhere. Only fiber's own "no such route" (404 route_not_found) or "no
// such method" (405) mean absent; anything else (401, 403, 404 of a resource, 415, …)
// comes from a registered route. Nothing is created or changed: every such request fails.
func (r *Runner) Registered(t *testing.T, route *routers.Route) bool {
	key := route.Method + " " + route.Path
	if v, ok := r.routes[key]; ok {
		return v
	}
	path := regexp.MustCompile(`\{([^}]+)\}`).ReplaceAllStringFunc(route.Path, func(p string) string {
		name := strings.Trim(p, "{}")
		for _, prm := range append(route.PathItem.Parameters, route.Operation.Parameters...) {
			if prm.Value.In == "path" && prm.Value.Name == name && len(prm.Value.Schema.Value.Enum) > 0 {
				return fmt.Sprint(prm.Value.Schema.Value.Enum[0])
			}
		}
		return "999999999999"
	})
	res, body := r.do(t, route.Method, path, nil, http.Header{
		"Authorization":     {"Bearer " + r.probeToken},
		"X-Organization-Id": {r.probeOrg},
	})
	var p struct{ Code string }
	_ = json.Unmarshal(body, &p)
	noRoute := res.StatusCode == http.StatusNotFound && p.Code == "route_not_found"
	registered := !noRoute && res.StatusCode != http.StatusMethodNotAllowed
	r.routes[key] = registered
	return registered
}

// Missing lists the documented operations a scenario calls that the service does not
// serve; a scenario with any of them fails.
func (r *Runner) Missing(t *testing.T, sc *Scenario) []string {
	var missing []string
	for _, st := range sc.Steps {
		op, route, ok := r.contract.OperationOf(st)
		if ok && !r.Registered(t, route) && !slices.Contains(missing, op) {
			missing = append(missing, op)
		}
	}
	return missing
}

// exchange is one request and its response, kept for the failure report.
type exchange struct {
	method, url string
	reqHeader   http.Header
	reqBody     []byte
	status      int
	resHeader   http.Header
	resBody     []byte
	resJSON     any
	isJSON      bool
}

// Run runs the steps of sc in order and stops at the first step that fails, reporting it.
// A step marked known_issue documents a bug of the service that is not fixed yet: its
// failure is logged and the scenario goes on; once it passes, the test fails until the
// marker is removed, so the marker cannot outlive the bug. It returns the known issues
// that are still present.
func (r *Runner) Run(t *testing.T, sc *Scenario, unique string) (known []string) {
	vars := NewVars(unique, time.Now())
	for i, st := range sc.Steps {
		ex, problems := r.step(st, vars)
		if d, err := time.ParseDuration(st.RetryFor); err == nil {
			for deadline := time.Now().Add(d); len(problems) > 0 && time.Now().Before(deadline); {
				time.Sleep(100 * time.Millisecond)
				ex, problems = r.step(st, vars)
			}
		}
		switch {
		case st.KnownIssue != "" && len(problems) > 0:
			t.Logf("KNOWN ISSUE, still present: %s%s", st.KnownIssue, r.report(sc, i, st, ex, problems))
			known = append(known, fmt.Sprintf("%s step %d: %s", sc.File, i+1, st.KnownIssue))
		case st.KnownIssue != "":
			t.Errorf("%s step %d (%s) passes now, but is marked known_issue %q: remove the known_issue line",
				sc.File, i+1, st.Step, st.KnownIssue)
		case len(problems) > 0:
			t.Fatal(r.report(sc, i, st, ex, problems))
		}
	}
	return known
}

func (r *Runner) step(st Step, vars *Vars) (*exchange, []string) {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// The request, with its variables expanded.
	path, err := vars.ExpandString(st.Path())
	if err != nil {
		return nil, []string{err.Error()}
	}
	header := http.Header{}
	var body []byte
	switch {
	case st.RawBody != nil:
		s, err := vars.ExpandString(*st.RawBody)
		if err != nil {
			return nil, []string{err.Error()}
		}
		body = []byte(s)
		header.Set("Content-Type", "application/json")
	case st.Body != nil:
		v, err := vars.ExpandAll(st.Body)
		if err != nil {
			return nil, []string{err.Error()}
		}
		if body, err = json.Marshal(v); err != nil {
			return nil, []string{"body: " + err.Error()}
		}
		header.Set("Content-Type", "application/json")
	}
	if st.ContentType != "" {
		header.Set("Content-Type", st.ContentType)
	}
	if st.Token != "" {
		tok, err := vars.ExpandString(st.Token)
		if err != nil {
			return nil, []string{err.Error()}
		}
		header.Set("Authorization", "Bearer "+tok)
	}
	if st.Org != nil {
		org, err := vars.ExpandString(text(st.Org))
		if err != nil {
			return nil, []string{err.Error()}
		}
		header.Set("X-Organization-Id", org)
	}
	for _, kv := range st.Headers {
		v, err := vars.ExpandString(text(kv.Value))
		if err != nil {
			return nil, []string{err.Error()}
		}
		header.Set(kv.Key, v)
	}
	replica := r.replicas[r.sent%len(r.replicas)]
	r.sent++
	// Replicas agree within ReplicaLag of a commit, not at the very instant: a step after a
	// write, sent to the other replica, waits that long first.
	if len(r.replicas) > 1 && r.wrote {
		time.Sleep(ReplicaLag)
	}
	r.wrote = st.Method() != http.MethodGet && st.Method() != http.MethodHead
	ex := &exchange{method: st.Method(), url: replica.Base + path, reqHeader: header, reqBody: body}

	// The request against the document.
	route, params, routeErr := r.contract.Route(st.Method(), path)
	var in *openapi3filter.RequestValidationInput
	contractErr := routeErr
	if routeErr == nil {
		vreq, _ := http.NewRequest(st.Method(), ex.url, bytes.NewReader(body))
		vreq.Header = header.Clone()
		if len(vreq.URL.Path) > 1 {
			vreq.URL.Path = strings.TrimSuffix(vreq.URL.Path, "/")
		}
		in = &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: r.contract.opts}
		contractErr = openapi3filter.ValidateRequest(context.Background(), in)
	}
	switch {
	case st.BreaksContract && contractErr == nil:
		fail("the step says breaks_contract: true, but the OpenAPI document accepts this request")
	case !st.BreaksContract && contractErr != nil:
		fail("the request does not match the OpenAPI document (mark the step breaks_contract: true if that is its point): %v", contractErr)
	}

	// The exchange.
	req, err := http.NewRequest(st.Method(), ex.url, bytes.NewReader(body))
	if err != nil {
		return ex, append(problems, err.Error())
	}
	req.Header = header
	res, err := r.roundTrip(req, body)
	if err != nil {
		return ex, append(problems, "no response: "+err.Error())
	}
	ex.resBody, _ = io.ReadAll(res.Body)
	res.Body.Close()
	ex.status, ex.resHeader = res.StatusCode, res.Header
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt == "application/json" || strings.HasSuffix(mt, "+json") {
		if err := json.Unmarshal(ex.resBody, &ex.resJSON); err != nil {
			fail("the response says %s but its body is not JSON: %v", mt, err)
		} else {
			ex.isJSON = true
		}
	}

	// The response against the document.
	if in != nil {
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: ex.status, Header: ex.resHeader, Options: r.contract.opts}
		out.SetBodyBytes(ex.resBody)
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			fail("the response does not match the OpenAPI document: %v", err)
		}
	} else if ex.status < 400 {
		fail("the path is not in the OpenAPI document, yet the service answered %d", ex.status)
	} else if ex.isJSON {
		if err := r.contract.problem.VisitJSON(ex.resJSON, r.contract.opts.SchemaValidationOptions...); err != nil {
			fail("the error does not match the Problem schema: %v", err)
		}
	}
	problems = append(problems, invariants(ex)...)

	// The scenario's expectations.
	if ex.status != st.Expect.Status {
		fail("status is %d, want %d", ex.status, st.Expect.Status)
	}
	if st.Expect.Code != "" {
		code, _ := Resolve(ex.resJSON, "code")
		if code != st.Expect.Code {
			fail("problem code is %s, want %q", show(code), st.Expect.Code)
		}
	}
	for _, kv := range st.Expect.Headers {
		want, err := vars.ExpandAll(kv.Value)
		if err != nil {
			fail("%v", err)
			continue
		}
		values, present := ex.resHeader[http.CanonicalHeaderKey(kv.Key)]
		var got any
		if present {
			got = strings.Join(values, ", ")
		}
		for _, p := range Match(got, present, want) {
			fail("header %s %s", kv.Key, p)
		}
	}
	for _, kv := range st.Expect.JSON {
		want, err := vars.ExpandAll(kv.Value)
		if err != nil {
			fail("%v", err)
			continue
		}
		if !ex.isJSON {
			fail("json %s: the response has no JSON body", kv.Key)
			continue
		}
		got, present := Resolve(ex.resJSON, kv.Key)
		for _, p := range Match(got, present, want) {
			fail("json %s %s", kv.Key, p)
		}
	}
	if st.Expect.Body != nil {
		want, err := vars.ExpandAll(st.Expect.Body)
		if err != nil {
			fail("%v", err)
		} else {
			for _, p := range Match(string(ex.resBody), true, want) {
				fail("body %s", p)
			}
		}
	}
	if len(problems) > 0 {
		return ex, problems
	}

	// Values for later steps.
	for _, kv := range st.Save {
		from := kv.Value.(string)
		if name, ok := strings.CutPrefix(from, "header:"); ok {
			v := ex.resHeader.Get(name)
			if v == "" {
				fail("save %s: the response has no %s header", kv.Key, name)
			}
			vars.Set(kv.Key, v)
			continue
		}
		v, ok := Resolve(ex.resJSON, from)
		if !ok {
			fail("save %s: the response has no %s", kv.Key, from)
		}
		vars.Set(kv.Key, v)
	}
	return ex, problems
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// invariants are the general and error rules of the OpenAPI document that hold for every response.
func invariants(ex *exchange) []string {
	var problems []string
	id := ex.resHeader.Get("X-Request-Id")
	if !requestIDPattern.MatchString(id) {
		problems = append(problems, fmt.Sprintf("X-Request-Id header is %q, want a request id", id))
	}
	if ex.status == http.StatusNoContent && len(ex.resBody) > 0 {
		problems = append(problems, "a 204 response has a body")
	}
	if ex.status >= 400 {
		if ct := ex.resHeader.Get("Content-Type"); ct != "application/problem+json" {
			problems = append(problems, fmt.Sprintf("an error response has Content-Type %q, want application/problem+json", ct))
		} else if ex.isJSON {
			if st, _ := Resolve(ex.resJSON, "status"); st != float64(ex.status) {
				problems = append(problems, fmt.Sprintf("problem status is %s, the HTTP status %d", show(st), ex.status))
			}
			if rid, _ := Resolve(ex.resJSON, "request_id"); rid != id {
				problems = append(problems, fmt.Sprintf("problem request_id is %s, the X-Request-Id header %q", show(rid), id))
			}
		}
	}
	if ex.status == http.StatusUnauthorized && !strings.HasPrefix(ex.resHeader.Get("WWW-Authenticate"), "Bearer") {
		problems = append(problems, "a 401 response lacks WWW-Authenticate: Bearer")
	}
	if (ex.status == http.StatusTooManyRequests || ex.status == http.StatusServiceUnavailable) && ex.resHeader.Get("Retry-After") == "" {
		problems = append(problems, fmt.Sprintf("a %d response lacks Retry-After", ex.status))
	}
	if ex.status == http.StatusMethodNotAllowed && ex.resHeader.Get("Allow") == "" {
		problems = append(problems, "a 405 response lacks Allow")
	}
	return problems
}

// report describes a failed step: the scenario, the step, the request, the response, what
// is wrong, and what the service logged about that request.
func (r *Runner) report(sc *Scenario, i int, st Step, ex *exchange, problems []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n━━ scenario %s — %s\n", sc.File, sc.Title)
	fmt.Fprintf(&b, "━━ step %d of %d: %s\n", i+1, len(sc.Steps), st.Step)
	fmt.Fprintf(&b, "   (%s%s)\n", st.Request, map[bool]string{true: ", breaks_contract", false: ""}[st.BreaksContract])
	b.WriteString("── what is wrong\n")
	for _, p := range problems {
		fmt.Fprintf(&b, "   ✗ %s\n", p)
	}
	if ex == nil {
		return b.String()
	}
	b.WriteString("── request\n")
	fmt.Fprintf(&b, "   %s %s\n", ex.method, ex.url)
	writeHeaders(&b, ex.reqHeader)
	writeBody(&b, ex.reqBody)
	if ex.status != 0 {
		b.WriteString("── response\n")
		fmt.Fprintf(&b, "   %d %s\n", ex.status, http.StatusText(ex.status))
		writeHeaders(&b, ex.resHeader)
		writeBody(&b, ex.resBody)
		if id := ex.resHeader.Get("X-Request-Id"); id != "" {
			var lines []string
			for _, srv := range r.replicas {
				lines = append(lines, srv.LogLines(id)...)
			}
			if len(lines) > 0 {
				b.WriteString("── the service's log for this request\n")
				for _, l := range lines {
					fmt.Fprintf(&b, "   %s\n", l)
				}
			}
		}
	}
	return b.String()
}

func writeHeaders(b *strings.Builder, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		if k != "Date" && k != "Content-Length" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.Join(h[k], ", ")
		if len(v) > 60 && (k == "Authorization" || k == "Content-Security-Policy") {
			v = v[:60] + "…"
		}
		fmt.Fprintf(b, "   %s: %s\n", k, v)
	}
}

func writeBody(b *strings.Builder, body []byte) {
	if len(body) == 0 {
		return
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "   ", "  ") == nil {
		body = pretty.Bytes()
	}
	s := string(body)
	if len(s) > 3000 {
		s = s[:3000] + fmt.Sprintf("… (%d bytes in all)", len(body))
	}
	fmt.Fprintf(b, "\n   %s\n", s)
}
