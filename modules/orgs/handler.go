package orgs

import (
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/modules/identity/identityapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/web"
)

type handler struct{ svc *Service }

type orgJSON struct {
	ID              int64    `json:"id"`
	Name            string   `json:"name"`
	Role            string   `json:"role"`
	DefaultCurrency string   `json:"default_currency"`
	TimeZone        string   `json:"time_zone"`
	CreatedAt       web.Time `json:"created_at"`
}

func toOrgJSON(m Membership) orgJSON {
	tz := m.Org.TimeZone
	if tz == "" {
		tz = DefaultTimeZone
	}
	return orgJSON{ID: m.Org.ID, Name: m.Org.Name, Role: string(m.Role), DefaultCurrency: m.Org.DefaultCurrency,
		TimeZone: tz, CreatedAt: web.Time(m.Org.CreatedAt)}
}

// The timezone rule takes an IANA time zone name that the time zone database built into the
// binary knows ("Europe/Berlin", "UTC"); "Local", the process's own zone, is not one.
func init() {
	web.RegisterTextRule("timezone", "must be an IANA time zone name, such as Europe/Berlin", ValidTimeZone)
}

// ValidTimeZone reports whether name is an IANA time zone the binary knows.
func ValidTimeZone(name string) bool {
	if name == "" || name == "Local" || len(name) > 64 {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

type userJSON struct {
	ID        int64    `json:"id"`
	Email     string   `json:"email"`
	Name      string   `json:"name"`
	CreatedAt web.Time `json:"created_at"`
}

func toUserJSON(u identityapi.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, CreatedAt: web.Time(u.CreatedAt)}
}

type registerRequest struct {
	Email            string `json:"email" trim:"true" validate:"required,max=254,email"`
	Password         string `json:"password" validate:"required,min=8,max=128"`
	Name             string `json:"name" trim:"true" validate:"required,notblank,max=200"`
	OrganizationName string `json:"organization_name" trim:"true" validate:"omitempty,notblank,max=200"`
	// InvitationToken joins the organization of an invitation in place of creating one.
	InvitationToken string `json:"invitation_token" trim:"true" validate:"omitempty,max=200"`
}

// target checks that a sign-up names exactly one of a new organization and an invitation.
func (r registerRequest) target() *apperr.FieldError {
	switch {
	case r.OrganizationName == "" && r.InvitationToken == "":
		return &apperr.FieldError{Field: "organization_name", Message: "is required unless invitation_token is given"}
	case r.OrganizationName != "" && r.InvitationToken != "":
		return &apperr.FieldError{Field: "invitation_token", Message: "cannot be given together with organization_name"}
	}
	return nil
}

// bindRegister binds a sign-up, naming a missing or doubled target with the other invalid
// fields in the one 400.
func bindRegister(c *fiber.Ctx, req *registerRequest) error {
	err := web.Bind(c, req)
	bad := req.target()
	if bad == nil {
		return err
	}
	if err == nil {
		return apperr.InvalidFields("validation_failed", *bad)
	}
	if ae, ok := apperr.As(err); ok && ae.Code == "validation_failed" && len(ae.Fields) > 0 {
		return apperr.InvalidFields("validation_failed", append(slices.Clone(ae.Fields), *bad)...)
	}
	return err
}

type registerResponse struct {
	User         userJSON `json:"user"`
	Organization orgJSON  `json:"organization"`
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int      `json:"expires_in"`
}

func (h handler) register(c *fiber.Ctx) error {
	var req registerRequest
	if err := bindRegister(c, &req); err != nil {
		return err
	}
	var s Signup
	var err error
	if req.InvitationToken != "" {
		s, err = h.svc.RegisterInvited(c.UserContext(), req.Email, req.Password, req.Name, req.InvitationToken)
	} else {
		s, err = h.svc.Register(c.UserContext(), req.Email, req.Password, req.Name, req.OrganizationName)
	}
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(registerResponse{
		User: toUserJSON(s.User), Organization: toOrgJSON(s.Membership),
		AccessToken: s.Tokens.AccessToken, RefreshToken: s.Tokens.RefreshToken, TokenType: "Bearer", ExpiresIn: s.Tokens.ExpiresIn,
	})
}

func (h handler) mine(c *fiber.Ctx) error {
	ms, err := h.svc.Mine(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]orgJSON, len(ms))
	for i, m := range ms {
		out[i] = toOrgJSON(m)
	}
	return c.JSON(out)
}

type createRequest struct {
	Name            string `json:"name" trim:"true" validate:"required,notblank,max=200"`
	DefaultCurrency string `json:"default_currency" validate:"omitempty,iso4217"`
	TimeZone        string `json:"time_zone" validate:"omitempty,timezone"`
}

func (h handler) create(c *fiber.Ctx) error {
	var req createRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	m, err := h.svc.Create(c.UserContext(), req.Name, req.DefaultCurrency, req.TimeZone)
	if err != nil {
		return err
	}
	c.Location("/api/v1/organizations/" + strconv.FormatInt(m.Org.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(toOrgJSON(m))
}

func (h handler) get(c *fiber.Ctx) error {
	m, err := h.svc.Get(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(toOrgJSON(m))
}

type updateRequest struct {
	Name            *string `json:"name" trim:"true" validate:"omitnil,notblank,max=200"`
	DefaultCurrency *string `json:"default_currency" validate:"omitnil,iso4217"`
	TimeZone        *string `json:"time_zone" validate:"omitnil,timezone"`
}

func (h handler) update(c *fiber.Ctx) error {
	var req updateRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	m, err := h.svc.Update(c.UserContext(), req.Name, req.DefaultCurrency, req.TimeZone)
	if err != nil {
		return err
	}
	return c.JSON(toOrgJSON(m))
}

// remove closes the organization (DELETE …?confirm=<its name>) and answers 202: its rows are
// erased by a job.
func (h handler) remove(c *fiber.Ctx) error {
	if err := h.svc.Close(c.UserContext(), c.Query("confirm")); err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).Send(nil)
}

func (h handler) members(c *fiber.Ctx) error {
	page, err := web.PageFrom(c)
	if err != nil {
		return err
	}
	res, err := h.svc.Members(c.UserContext(), page.Window())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(res, page, toMemberJSON))
}

type addMemberRequest struct {
	Email string `json:"email" trim:"true" validate:"required,max=254,email"`
	Role  string `json:"role" validate:"required,oneof=owner admin manager member"`
}

func (h handler) addMember(c *fiber.Ctx) error {
	var req addMemberRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	m, err := h.svc.AddMember(c.UserContext(), req.Email, auth.Role(req.Role))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toMemberJSON(m))
}

type changeRoleRequest struct {
	Role string `json:"role" validate:"required,oneof=owner admin manager member"`
}

func (h handler) changeRole(c *fiber.Ctx) error {
	userID, err := memberID(c)
	if err != nil {
		return err
	}
	var req changeRoleRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	m, err := h.svc.ChangeRole(c.UserContext(), userID, auth.Role(req.Role))
	if err != nil {
		return err
	}
	return c.JSON(toMemberJSON(m))
}

func (h handler) removeMember(c *fiber.Ctx) error {
	userID, err := memberID(c)
	if err != nil {
		return err
	}
	if err := h.svc.RemoveMember(c.UserContext(), userID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func memberID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("user_id"), 10, 64)
	if err != nil || id < 1 {
		return 0, ErrMemberNotFound
	}
	return id, nil
}
