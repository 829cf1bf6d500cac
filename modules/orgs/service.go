package orgs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mini-crm/crm/modules/identity/identityapi"
	"github.com/mini-crm/crm/modules/invitations/invitationsapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/listing"
	"github.com/mini-crm/crm/platform/queue"
)

// Identity is what this module uses of the identity facade.
type Identity interface {
	Register(ctx context.Context, email, password, name string) (identityapi.User, error)
	IssueTokens(ctx context.Context, userID int64) (identityapi.TokenPair, error)
	UserByEmail(ctx context.Context, email string) (identityapi.User, error)
	UsersByID(ctx context.Context, ids []int64) (map[int64]identityapi.User, error)
}

// Outbox is what this module uses of the change feed (platform/events.Outbox).
type Outbox interface {
	Record(ctx context.Context, c events.Change) (int64, error)
}

// Service implements organizations, memberships and sign-up.
type Service struct {
	db       *database.DB
	store    store
	identity Identity
	outbox   Outbox
	// emit runs the handlers of an event inside the caller's transaction (kernel.Emit).
	emit func(ctx context.Context, e orgsapi.MemberRemoved) error
	// created runs the handlers of OrganizationCreated in the creating transaction.
	created func(ctx context.Context, e orgsapi.OrganizationCreated) error
	// closed runs the handlers of OrganizationClosed in the transaction that closes it.
	closed func(ctx context.Context, e orgsapi.OrganizationClosed) error
	// roleChanged runs the handlers of MemberRoleChanged in the transaction of the change.
	roleChanged func(ctx context.Context, e orgsapi.MemberRoleChanged) error
	// invitations redeems the invitation of a sign-up with one (invited.go).
	invitations invitationsapi.Invitations
	// queue carries the erasure of deleted organizations (erase.go); eraseChunk is how many
	// rows one of its statements deletes (eraseChunk when zero).
	queue      *queue.Queue
	eraseChunk int
}

var (
	_ orgsapi.Orgs     = (*Service)(nil)
	_ auth.Memberships = (*Service)(nil)
)

// Membership is an organization as seen by one of its members.
type Membership struct {
	Org  orgsapi.Organization
	Role auth.Role
}

// Member is a user in an organization.
type Member struct {
	User     identityapi.User
	Role     auth.Role
	JoinedAt time.Time
}

// Signup is the result of registering a user with their first organization.
type Signup struct {
	User       identityapi.User
	Membership Membership
	Tokens     identityapi.TokenPair
}

// record writes the event of a membership change in the transaction of ctx: the member as
// the members list renders it after the change (for a removal, its last state) and, for an
// update, before. actor nil is the caller.
func (s *Service) record(ctx context.Context, orgID int64, typ string, after Member, before *Member, actor *events.Actor) error {
	if s.outbox == nil {
		return nil
	}
	c := events.Change{OrgID: orgID, Type: typ, Object: toMemberJSON(after), Actor: actor}
	if before != nil {
		c.Before = toMemberJSON(*before)
	}
	_, err := s.outbox.Record(ctx, c)
	return err
}

// DefaultCurrency of a new organization.
const DefaultCurrency = "USD"

// DefaultTimeZone of a new organization.
const DefaultTimeZone = "UTC"

// Register creates a user, their organization with them as owner, and a session, in one
// transaction: a failure anywhere leaves no user and no organization behind.
func (s *Service) Register(ctx context.Context, email, password, name, orgName string) (Signup, error) {
	var out Signup
	err := s.db.WithinTx(ctx, func(ctx context.Context) error {
		u, err := s.identity.Register(ctx, email, password, name)
		if err != nil {
			return err
		}
		m, err := s.create(ctx, u, orgName, DefaultCurrency, DefaultTimeZone)
		if err != nil {
			return err
		}
		pair, err := s.identity.IssueTokens(ctx, u.ID)
		if err != nil {
			return err
		}
		out = Signup{User: u, Membership: m, Tokens: pair}
		return nil
	})
	return out, err
}

// create makes an organization with owner as its owner, and records the owner's member.added
// event (the owner is its actor: at sign-up there is no caller yet).
func (s *Service) create(ctx context.Context, owner identityapi.User, name, currency, timeZone string) (Membership, error) {
	o, err := s.store.insertOrg(ctx, strings.TrimSpace(name), currency, timeZone)
	if err != nil {
		return Membership{}, fmt.Errorf("create organization: %w", err)
	}
	// The rest of the transaction writes the new organization's first tenant rows.
	if ctx, err = s.db.SetTenant(ctx, o.ID); err != nil {
		return Membership{}, err
	}
	row, err := s.store.insertMember(ctx, o.ID, owner.ID, auth.RoleOwner)
	if err != nil {
		return Membership{}, fmt.Errorf("add owner: %w", err)
	}
	actor := &events.Actor{Type: "user", ID: &owner.ID}
	if err := s.record(ctx, o.ID, "member.added", row.member(owner), nil, actor); err != nil {
		return Membership{}, err
	}
	if s.created != nil {
		if err := s.created(ctx, orgsapi.OrganizationCreated{OrgID: o.ID}); err != nil {
			return Membership{}, err
		}
	}
	return Membership{Org: o.org(), Role: auth.RoleOwner}, nil
}

// Create makes a new organization owned by the caller. An empty currency or time zone is
// the default one.
func (s *Service) Create(ctx context.Context, name, currency, timeZone string) (Membership, error) {
	p, err := auth.Caller(ctx)
	if err != nil {
		return Membership{}, err
	}
	if currency == "" {
		currency = DefaultCurrency
	}
	if timeZone == "" {
		timeZone = DefaultTimeZone
	}
	var m Membership
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		users, err := s.identity.UsersByID(ctx, []int64{p.UserID})
		if err != nil {
			return err
		}
		m, err = s.create(ctx, users[p.UserID], name, currency, timeZone)
		return err
	})
	return m, err
}

// Mine lists the caller's organizations with their role in each.
func (s *Service) Mine(ctx context.Context) ([]Membership, error) {
	p, err := auth.Caller(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.orgsOf(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]Membership, len(rows))
	for i, r := range rows {
		out[i] = Membership{Org: r.org(), Role: auth.Role(r.Role)}
	}
	return out, nil
}

// Get returns the organization of the tenant route.
func (s *Service) Get(ctx context.Context) (Membership, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Membership{}, err
	}
	o, err := s.store.org(ctx, p.OrgID)
	return Membership{Org: o.org(), Role: p.Role}, err
}

// Update changes the organization's settings (owner and admin); nil keeps a setting.
func (s *Service) Update(ctx context.Context, name, currency, timeZone *string) (Membership, error) {
	p, err := auth.RequireRole(ctx, auth.RoleOwner, auth.RoleAdmin)
	if err != nil {
		return Membership{}, err
	}
	if name != nil {
		n := strings.TrimSpace(*name)
		name = &n
	}
	o, err := s.store.updateOrg(ctx, p.OrgID, name, currency, timeZone)
	return Membership{Org: o.org(), Role: p.Role}, err
}

// Members lists the members of the organization, oldest first.
func (s *Service) Members(ctx context.Context, w listing.Window) (database.Result[Member], error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return database.Result[Member]{}, err
	}
	rows, err := s.store.members(ctx, p.OrgID, w)
	if err != nil {
		return database.Result[Member]{}, err
	}
	out, err := s.withUsers(ctx, rows.Items)
	return database.Result[Member]{Items: out, Total: rows.Total, NextCursor: rows.NextCursor}, err
}

func (s *Service) withUsers(ctx context.Context, rows []memberRow) ([]Member, error) {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.UserID
	}
	users, err := s.identity.UsersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Member, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.member(users[r.UserID]))
	}
	return out, nil
}

// AddMember adds a registered user by email.
func (s *Service) AddMember(ctx context.Context, email string, role auth.Role) (Member, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Member{}, err
	}
	if err := checkGrant(p.Role, role); err != nil {
		return Member{}, err
	}
	u, err := s.identity.UserByEmail(ctx, email)
	if err != nil {
		return Member{}, err
	}
	var out Member
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		row, err := s.store.insertMember(ctx, p.OrgID, u.ID, role)
		if err != nil {
			return err
		}
		out = row.member(u)
		return s.record(ctx, p.OrgID, "member.added", out, nil, nil)
	})
	if err != nil {
		return Member{}, err
	}
	return out, nil
}

// ChangeRole changes a member's role.
func (s *Service) ChangeRole(ctx context.Context, userID int64, role auth.Role) (Member, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Member{}, err
	}
	if !p.Role.CanManageOrganization() {
		return Member{}, auth.ErrForbidden
	}
	var out Member
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.lockOrg(ctx, p.OrgID); err != nil {
			return err
		}
		cur, err := s.store.member(ctx, p.OrgID, userID)
		if err != nil {
			return err
		}
		current := auth.Role(cur.Role)
		if err := checkRoleChange(p.Role, current, role); err != nil {
			return err
		}
		if err := s.checkOwners(ctx, p.OrgID, current, &role); err != nil {
			return err
		}
		members, err := s.withUsers(ctx, []memberRow{cur})
		if err != nil {
			return err
		}
		before := members[0]
		if current == role {
			out = before // nothing changes: nothing to write, no event
			return nil
		}
		row, err := s.store.setRole(ctx, p.OrgID, userID, role)
		if err != nil {
			return err
		}
		out = row.member(before.User)
		if err := s.record(ctx, p.OrgID, "member.updated", out, &before, nil); err != nil {
			return err
		}
		if s.roleChanged == nil {
			return nil
		}
		return s.roleChanged(ctx, orgsapi.MemberRoleChanged{OrgID: p.OrgID, UserID: userID, Role: string(role)})
	})
	if err != nil {
		return Member{}, err
	}
	return out, nil
}

func (s *Service) checkOwners(ctx context.Context, orgID int64, current auth.Role, next *auth.Role) error {
	if current != auth.RoleOwner {
		return nil
	}
	owners, err := s.store.countOwners(ctx, orgID)
	if err != nil {
		return err
	}
	return checkLastOwner(current, next, owners)
}

// RemoveMember removes a member; any member may remove themself.
func (s *Service) RemoveMember(ctx context.Context, userID int64) error {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return err
	}
	self := p.UserID == userID
	if !self && !p.Role.CanManageOrganization() {
		return auth.ErrForbidden
	}
	return s.db.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.lockOrg(ctx, p.OrgID); err != nil {
			return err
		}
		cur, err := s.store.member(ctx, p.OrgID, userID)
		if err != nil {
			return err
		}
		current := auth.Role(cur.Role)
		if err := checkRemoval(p.Role, self, current); err != nil {
			return err
		}
		if err := s.checkOwners(ctx, p.OrgID, current, nil); err != nil {
			return err
		}
		members, err := s.withUsers(ctx, []memberRow{cur})
		if err != nil {
			return err
		}
		if err := s.store.deleteMember(ctx, p.OrgID, userID); err != nil {
			return err
		}
		if err := s.record(ctx, p.OrgID, "member.removed", members[0], nil, nil); err != nil {
			return err
		}
		if s.emit == nil {
			return nil
		}
		return s.emit(ctx, orgsapi.MemberRemoved{OrgID: p.OrgID, UserID: userID})
	})
}

// RoleOf implements auth.Memberships.
func (s *Service) RoleOf(ctx context.Context, orgID, userID int64) (auth.Role, error) {
	r, err := s.store.role(ctx, orgID, userID)
	if errors.Is(err, ErrMemberNotFound) {
		return "", auth.ErrNotMember
	}
	return r, err
}

// Organization implements orgsapi.Orgs.
func (s *Service) Organization(ctx context.Context, orgID int64) (orgsapi.Organization, error) {
	o, err := s.store.org(ctx, orgID)
	return o.org(), err
}
