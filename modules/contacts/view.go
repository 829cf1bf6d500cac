package contacts

import (
	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/platform/web"
)

// contactJSON is a contact as GET /contacts/{id} renders it; the contact.* events carry the
// same rendering.
type contactJSON struct {
	ID        int64    `json:"id"`
	OwnerID   int64    `json:"owner_id"`
	Name      string   `json:"name"`
	Email     *string  `json:"email"`
	Phone     *string  `json:"phone"`
	Company   *string  `json:"company"`
	JobTitle  *string  `json:"job_title"`
	Notes     *string  `json:"notes"`
	Tags      []string `json:"tags"`
	CreatedAt web.Time `json:"created_at"`
	UpdatedAt web.Time `json:"updated_at"`
}

func toJSON(c contactsapi.Contact) contactJSON {
	return contactJSON{ID: c.ID, OwnerID: c.OwnerID, Name: c.Name, Email: c.Email, Phone: c.Phone,
		Company: c.Company, JobTitle: c.JobTitle, Notes: c.Notes, Tags: orEmpty(c.Tags),
		CreatedAt: web.Time(c.CreatedAt), UpdatedAt: web.Time(c.UpdatedAt)}
}
