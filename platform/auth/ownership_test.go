package auth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
)

// The policy for owned records, for every role: members act only on their own records and
// cannot filter by owner; owners, admins and managers may do all of it.
func TestOwnershipPolicy(t *testing.T) {
	const self, other = 10, 20
	o := auth.NewOwnership("deals")
	for _, role := range auth.Roles {
		p := auth.Principal{UserID: self, OrgID: 1, Role: role}
		privileged := role != auth.RoleMember
		ownerFilter := int64(self)
		tests := []struct {
			name    string
			err     error
			allowed bool
			want    error
		}{
			{"create as self", o.CheckCreate(p, self), true, nil},
			{"create for other", o.CheckCreate(p, other), privileged, o.ErrCreateForOther},
			{"modify own", o.CheckModify(p, self), true, nil},
			{"modify other's", o.CheckModify(p, other), privileged, o.ErrNotOwner},
			{"keep owner", o.CheckReassign(p, self, self), true, nil},
			{"give away", o.CheckReassign(p, self, other), privileged, o.ErrReassign},
			{"take over", o.CheckReassign(p, other, self), privileged, o.ErrReassign},
			{"list", auth.CheckOwnerFilter(role, nil), true, nil},
			{"list by owner", auth.CheckOwnerFilter(role, &ownerFilter), privileged, auth.ErrOwnerFilterForbidden},
		}
		for _, tt := range tests {
			t.Run(string(role)+"/"+tt.name, func(t *testing.T) {
				if tt.allowed {
					if tt.err != nil {
						t.Fatalf("refused: %v", tt.err)
					}
					return
				}
				if !errors.Is(tt.err, tt.want) || apperr.KindOf(tt.err) != apperr.KindForbidden {
					t.Fatalf("error = %v, want 403 %v", tt.err, tt.want)
				}
			})
		}
	}
	for _, e := range []*apperr.Error{o.ErrNotOwner, o.ErrCreateForOther, o.ErrReassign} {
		if !strings.Contains(e.Detail, "deals") {
			t.Errorf("%q does not name the records", e.Detail)
		}
	}
}
