package crmclient_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/mini-crm/crm/client/crmclient"
	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// serve runs the service on a fresh database behind a loopback listener and returns its
// base URL; the service stops with the test.
func serve(t *testing.T) string {
	t.Helper()
	s := apptest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.App.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// A client written only against the OpenAPI document drives the service through a deal's
// life: sign-up, sign-in, a contact, a deal won, and both pipeline reports counting it.
func TestGeneratedClientDrivesTheService(t *testing.T) {
	t.Parallel()
	base := serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	httpClient := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	t.Cleanup(httpClient.CloseIdleConnections)
	var token string
	c, err := crmclient.NewClientWithResponses(base,
		crmclient.WithHTTPClient(httpClient),
		crmclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}

	orgName := "Acme"
	reg, err := c.RegisterWithResponse(ctx, &crmclient.RegisterParams{}, crmclient.RegisterJSONRequestBody{
		Email: "ann@example.com", Password: "s3cret-pass", Name: "Ann", OrganizationName: &orgName,
	})
	if err != nil {
		t.Fatal(err)
	}
	if reg.StatusCode() != http.StatusCreated || reg.JSON201 == nil {
		t.Fatalf("register: %d %s", reg.StatusCode(), reg.Body)
	}
	if r := reg.JSON201; r.User.Email != "ann@example.com" || r.Organization.Name != "Acme" ||
		r.Organization.Role != crmclient.RoleOwner || r.Organization.DefaultCurrency != "USD" ||
		r.TokenType != crmclient.RegistrationResultTokenTypeBearer || r.AccessToken == "" || r.ExpiresIn <= 0 {
		t.Fatalf("register: unexpected result %+v", r)
	}
	org := reg.JSON201.Organization.Id

	login, err := c.LoginWithResponse(ctx, crmclient.LoginJSONRequestBody{Email: "ann@example.com", Password: "s3cret-pass"})
	if err != nil {
		t.Fatal(err)
	}
	if login.StatusCode() != http.StatusOK || login.JSON200 == nil {
		t.Fatalf("login: %d %s", login.StatusCode(), login.Body)
	}
	if l := login.JSON200; l.User.Id != reg.JSON201.User.Id || l.TokenType != crmclient.LoginResultTokenTypeBearer || l.RefreshToken == "" {
		t.Fatalf("login: unexpected result %+v", l)
	}
	token = login.JSON200.AccessToken

	email := openapi_types.Email("john@example.com")
	contact, err := c.CreateContactWithResponse(ctx, &crmclient.CreateContactParams{XOrganizationId: org},
		crmclient.CreateContactJSONRequestBody{Name: "John Doe", Email: &email})
	if err != nil {
		t.Fatal(err)
	}
	if contact.StatusCode() != http.StatusCreated || contact.JSON201 == nil {
		t.Fatalf("create contact: %d %s", contact.StatusCode(), contact.Body)
	}
	if ct := contact.JSON201; ct.Name != "John Doe" || ct.Email == nil || *ct.Email != email || ct.OwnerId != reg.JSON201.User.Id {
		t.Fatalf("create contact: unexpected result %+v", ct)
	}

	var amount crmclient.MoneyInput
	if err := amount.FromMoneyInput1("15000.00"); err != nil {
		t.Fatal(err)
	}
	key := "deal-website-1"
	createDeal := func() *crmclient.CreateDealResponse {
		t.Helper()
		res, err := c.CreateDealWithResponse(ctx, &crmclient.CreateDealParams{XOrganizationId: org, IdempotencyKey: &key},
			crmclient.CreateDealJSONRequestBody{ContactId: contact.JSON201.Id, Title: "Website", Amount: amount})
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != http.StatusCreated || res.JSON201 == nil || res.Headers201 == nil {
			t.Fatalf("create deal: %d %s", res.StatusCode(), res.Body)
		}
		return res
	}
	deal := createDeal()
	if d := deal.JSON201; d.Title != "Website" || d.Amount != "15000.00" || d.Currency != "USD" ||
		d.Status != crmclient.New || d.Stage != crmclient.StageKey("qualification") || d.ContactId != contact.JSON201.Id {
		t.Fatalf("create deal: unexpected result %+v", d)
	}
	if h := deal.Headers201; h.ETag == "" || h.IdempotentReplayed != nil {
		t.Fatalf("create deal: headers %+v", h)
	}
	// The same key and body replay the first answer and create nothing.
	replay := createDeal()
	if replay.JSON201.Id != deal.JSON201.Id || replay.Headers201.IdempotentReplayed == nil || *replay.Headers201.IdempotentReplayed != "true" {
		t.Fatalf("replayed create: deal %d (first %d), Idempotent-Replayed %v", replay.JSON201.Id, deal.JSON201.Id, replay.Headers201.IdempotentReplayed)
	}

	// Won needs an amount above zero; this deal has one. The stage moves forward to closed,
	// guarded by the ETag of the deal as created.
	won, closed := crmclient.Won, "closed"
	etag := deal.Headers201.ETag
	upd, err := c.UpdateDealWithResponse(ctx, deal.JSON201.Id, &crmclient.UpdateDealParams{XOrganizationId: org, IfMatch: &etag},
		crmclient.UpdateDealJSONRequestBody{Status: &won, Stage: &closed})
	if err != nil {
		t.Fatal(err)
	}
	if upd.StatusCode() != http.StatusOK || upd.JSON200 == nil {
		t.Fatalf("mark the deal won: %d %s", upd.StatusCode(), upd.Body)
	}
	if d := upd.JSON200; d.Status != crmclient.Won || d.Stage != crmclient.StageKey("closed") || d.Amount != "15000.00" {
		t.Fatalf("mark the deal won: unexpected result %+v", d)
	}
	if upd.Headers200 == nil || upd.Headers200.ETag == "" || upd.Headers200.ETag == etag {
		t.Fatalf("mark the deal won: the ETag did not change: %+v", upd.Headers200)
	}
	// The old ETag no longer matches: the typed 412 problem.
	lost := crmclient.Lost
	stale, err := c.UpdateDealWithResponse(ctx, deal.JSON201.Id, &crmclient.UpdateDealParams{XOrganizationId: org, IfMatch: &etag},
		crmclient.UpdateDealJSONRequestBody{Status: &lost})
	if err != nil {
		t.Fatal(err)
	}
	if stale.StatusCode() != http.StatusPreconditionFailed || stale.ApplicationproblemJSON412 == nil ||
		stale.ApplicationproblemJSON412.Code != crmclient.ProblemCodePreconditionFailed {
		t.Fatalf("update with a stale ETag: %d %s", stale.StatusCode(), stale.Body)
	}

	days := 30
	sum, err := c.DealsSummaryWithResponse(ctx, &crmclient.DealsSummaryParams{XOrganizationId: org, Days: &days})
	if err != nil {
		t.Fatal(err)
	}
	if sum.StatusCode() != http.StatusOK || sum.JSON200 == nil {
		t.Fatalf("summary: %d %s", sum.StatusCode(), sum.Body)
	}
	s := sum.JSON200
	if s.ByStatus.Won.Count != 1 || s.ByStatus.Won.Amount["USD"] != "15000.00" || len(s.ByStatus.Won.Amount) != 1 {
		t.Errorf("summary: won %+v, want one deal of USD 15000.00", s.ByStatus.Won)
	}
	for name, st := range map[string]crmclient.StatusTotals{"new": s.ByStatus.New, "in_progress": s.ByStatus.InProgress, "lost": s.ByStatus.Lost} {
		if st.Count != 0 || len(st.Amount) != 0 {
			t.Errorf("summary: %s %+v, want none", name, st)
		}
	}
	if s.WonAverageAmount["USD"] != "15000.00" || len(s.WonAverageAmount) != 1 {
		t.Errorf("summary: won average %v, want USD 15000.00", s.WonAverageAmount)
	}
	if s.WinRate == nil || *s.WinRate != 100 {
		t.Errorf("summary: win rate %v, want 100", s.WinRate)
	}
	if s.NewDeals.Count != 1 || s.NewDeals.Days != 30 {
		t.Errorf("summary: new deals %+v, want 1 in 30 days", s.NewDeals)
	}
	if sum.Headers200 == nil || sum.Headers200.CacheControl != "private, max-age=30" {
		t.Errorf("summary: headers %+v", sum.Headers200)
	}

	fun, err := c.DealsFunnelWithResponse(ctx, &crmclient.DealsFunnelParams{XOrganizationId: org})
	if err != nil {
		t.Fatal(err)
	}
	if fun.StatusCode() != http.StatusOK || fun.JSON200 == nil {
		t.Fatalf("funnel: %d %s", fun.StatusCode(), fun.Body)
	}
	wantStages := []crmclient.StageKey{"qualification", "proposal", "negotiation", "closed"}
	stages := fun.JSON200.Stages
	if len(stages) != len(wantStages) {
		t.Fatalf("funnel: %d stages, want %d: %s", len(stages), len(wantStages), fun.Body)
	}
	for i, st := range stages {
		wantCount := 0
		if st.Stage == "closed" {
			wantCount = 1
		}
		// The deal went straight to closed: it reached every stage, and sits at the last.
		if st.Stage != wantStages[i] || st.Reached != 1 || st.Count != wantCount {
			t.Errorf("funnel: stage %d is %+v, want %s reached 1, count %d", i, st, wantStages[i], wantCount)
		}
		if i == 0 && st.ConversionFromPrevious != nil {
			t.Errorf("funnel: the first stage has a conversion %v", *st.ConversionFromPrevious)
		}
		if i > 0 && (st.ConversionFromPrevious == nil || *st.ConversionFromPrevious != 100) {
			t.Errorf("funnel: stage %s converts %v, want 100", st.Stage, st.ConversionFromPrevious)
		}
	}
	if last := stages[len(stages)-1]; last.ByStatus.Won != 1 || last.ByStatus.New != 0 {
		t.Errorf("funnel: closed stage by status %+v, want one won", last.ByStatus)
	}
}

// Without a token the typed 401 problem comes back, with the header the document promises.
func TestGeneratedClientDecodesProblems(t *testing.T) {
	t.Parallel()
	base := serve(t)
	c, err := crmclient.NewClientWithResponses(base)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.DealsSummaryWithResponse(context.Background(), &crmclient.DealsSummaryParams{XOrganizationId: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := res.ApplicationproblemJSON401
	if res.StatusCode() != http.StatusUnauthorized || p == nil || p.Code != crmclient.ProblemCodeMissingToken || p.Status != 401 || p.RequestId == "" {
		t.Fatalf("summary without a token: %d %s", res.StatusCode(), res.Body)
	}
	if res.Headers401 == nil || res.Headers401.WWWAuthenticate == "" {
		t.Fatalf("summary without a token: headers %+v", res.Headers401)
	}
}
