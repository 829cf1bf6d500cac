package trash

import "github.com/mini-crm/crm/platform/web"

// actorJSON is who moved a record to the trash, as the change feed renders actors.
type actorJSON struct {
	Type string `json:"type"`
	ID   *int64 `json:"id"`
}

// itemJSON is an item as GET /trash lists it.
type itemJSON struct {
	Object    string    `json:"object"`
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	DeletedAt web.Time  `json:"deleted_at"`
	DeletedBy actorJSON `json:"deleted_by"`
	PurgeAt   web.Time  `json:"purge_at"`
}

func toJSON(it Item) itemJSON {
	return itemJSON{Object: it.Object, ID: it.ID, Name: it.Name, DeletedAt: web.Time(it.DeletedAt),
		DeletedBy: actorJSON{Type: it.DeletedBy.Type, ID: it.DeletedBy.ID}, PurgeAt: web.Time(it.PurgeAt)}
}
