package identity

import (
	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/modules/identity/identityapi"
	"github.com/mini-crm/crm/platform/web"
)

type handler struct{ svc *Service }

// UserJSON is a user as the API shows it.
type UserJSON struct {
	ID        int64    `json:"id"`
	Email     string   `json:"email"`
	Name      string   `json:"name"`
	CreatedAt web.Time `json:"created_at"`
}

// ToJSON renders a user.
func ToJSON(u identityapi.User) UserJSON {
	return UserJSON{ID: u.ID, Email: u.Email, Name: u.Name, CreatedAt: web.Time(u.CreatedAt)}
}

// TokensJSON is a token pair as the API shows it.
type TokensJSON struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	TokenType    string    `json:"token_type"`
	ExpiresIn    int       `json:"expires_in"`
	User         *UserJSON `json:"user,omitempty"`
}

// TokensToJSON renders a token pair.
func TokensToJSON(p identityapi.TokenPair) TokensJSON {
	return TokensJSON{AccessToken: p.AccessToken, RefreshToken: p.RefreshToken, TokenType: "Bearer", ExpiresIn: p.ExpiresIn}
}

type loginRequest struct {
	Email    string `json:"email" trim:"true" validate:"required,max=254"`
	Password string `json:"password" validate:"required,max=128"`
}

func (h handler) login(c *fiber.Ctx) error {
	var req loginRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	pair, u, err := h.svc.Login(c.UserContext(), c.IP(), req.Email, req.Password)
	if err != nil {
		return err
	}
	out := TokensToJSON(pair)
	uj := ToJSON(u)
	out.User = &uj
	return c.JSON(out)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token" validate:"required,max=512"`
}

func (h handler) refresh(c *fiber.Ctx) error {
	var req refreshRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	pair, err := h.svc.Refresh(c.UserContext(), req.RefreshToken)
	if err != nil {
		return err
	}
	return c.JSON(TokensToJSON(pair))
}

func (h handler) logout(c *fiber.Ctx) error {
	var req refreshRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	if err := h.svc.Logout(c.UserContext(), req.RefreshToken); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h handler) me(c *fiber.Ctx) error {
	u, err := h.svc.Me(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(ToJSON(u))
}

// updateMeRequest is the caller's own profile; name follows the rules of registration.
type updateMeRequest struct {
	Name *string `json:"name" trim:"true" validate:"omitnil,notblank,max=200"`
}

func (h handler) updateMe(c *fiber.Ctx) error {
	var req updateMeRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	u, err := h.svc.UpdateMe(c.UserContext(), req.Name)
	if err != nil {
		return err
	}
	return c.JSON(ToJSON(u))
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password" validate:"required,max=128"`
	NewPassword     string `json:"new_password" validate:"required,min=8,max=128"`
}

func (h handler) changePassword(c *fiber.Ctx) error {
	var req passwordRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	if err := h.svc.ChangePassword(c.UserContext(), req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
